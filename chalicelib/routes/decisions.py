"""Deciding drafts: signed links (a page and its form), Slack buttons, and the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint, Response

from chalicelib import (
    audit_context,
    models,
)
from chalicelib.domain.roles import Actor
from chalicelib.errors import (
    Conflict,
    FailbridgeError,
    Forbidden,
    MalformedRequest,
    Unauthenticated,
    ValidationFailed,
)
from chalicelib.ids import new_id
from chalicelib.models import parse_json
from chalicelib.routes.common import (
    ANY_TYPE,
    JSON_TYPES,
    container,
    json_body,
    principal_for,
    query_param,
    raw_body,
    route,
)
from chalicelib.routes.views import public_ticket

bp = Blueprint(__name__)
FORM_TYPES = ["application/x-www-form-urlencoded"]


def _html(body: str, status: int = 200, details: dict[str, Any] | None = None) -> Response:
    from chalicelib.routes import pages

    return Response(body=body, status_code=status, headers=pages.html_headers(details))


def _form_csrf(token: str) -> str:
    return container().page_signer.csrf("approval:" + token)


def _confirmation(
    token: str, ticket: Any, decision: str | None, problem: str | None = None
) -> tuple[str, dict[str, Any]]:
    from chalicelib.routes import pages

    request = bp.current_request
    try:
        page = int(query_param(request, "page") or 1)
    except ValueError:
        page = 1
    details = container().pages.ticket(ticket.id, ticket.project, page)
    body = pages.confirmation(
        details, decision, _form_csrf(token), f"/v1/approvals/{token}", problem
    )
    return body, details


@bp.route("/v1/approvals/{token}", methods=["GET"], content_types=ANY_TYPE)
def approval_page(token: str) -> Response:
    """What the link would decide. Changes nothing: Slack and mail scanners fetch links too."""
    from chalicelib.routes import pages

    decisions = container().decisions
    try:
        _, ticket = decisions.check_link(token)
    except Conflict as exc:
        return _html(pages.refusal(409, exc.message), 409)
    except FailbridgeError as exc:
        return _html(pages.refusal(exc.status, exc.message), exc.status)
    body, details = _confirmation(token, ticket, query_param(bp.current_request, "decision"))
    return _html(body, details=details)


def _form(body: bytes) -> dict[str, str]:
    """The page's form fields (first value of each); more fields than it has is malformed."""
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError as exc:  # parse_qs: "Max number of fields exceeded"
        raise MalformedRequest(
            "the form has too many fields", [{"field": "body", "problem": "has too many fields"}]
        ) from exc
    return {k: v[0] for k, v in fields.items()}


@bp.route("/v1/approvals/{token}", methods=["POST"], content_types=FORM_TYPES)
def approval_decide(token: str) -> Response:
    """The page's form: decide, once (the form's CSRF token must come with it)."""
    from chalicelib.routes import pages

    request = bp.current_request
    decisions = container().decisions
    try:
        form = _form(raw_body(request, 16 * 1024))
        claims, _ = decisions.check_link(token)  # a forged, expired or used link says so first
        if not container().page_signer.csrf_ok("approval:" + token, form.get("csrf")):
            raise Forbidden("the form's CSRF token is missing or wrong; open the link again")
        lead = audit_context.lead_actor(claims.lead, "approval link")
        try:
            rid = (request.context or {}).get("requestId") or new_id("req")
            with audit_context.serving(rid, lead):
                ticket = decisions.decide_by_link(
                    token,
                    form.get("decision", ""),
                    form.get("reason"),
                    form.get("mergeInto"),
                    form.get("jiraKey"),
                )
        except ValidationFailed as exc:  # show the form again, saying what is missing
            _, current = decisions.check_link(token)
            problem = "; ".join(f"{d['field']} {d['problem']}" for d in exc.details)
            page, details = _confirmation(token, current, form.get("decision"), problem)
            return _html(page, 422, details)
    except FailbridgeError as exc:
        return _html(pages.refusal(exc.status, exc.message), exc.status)
    return _html(pages.outcome(ticket.to_dict()))


@route(bp, "/v1/tickets/{ticketId}/decision", methods=["POST"], content_types=JSON_TYPES)
def decide(ticketId: str) -> dict[str, Any]:
    """The module's lead (or an admin) decides with an API key."""
    request = bp.current_request
    principal = principal_for(request, None)
    body = json_body(request, models.DecisionIn)
    ticket = container().decisions.decide(
        ticketId,
        body.decision,
        body.reason,
        body.merge_into,
        Actor(principal.user, principal.role, "api"),
        principal.project,
        body.jira_key,
    )
    return public_ticket(ticket)


@route(bp, "/v1/slack/interactions", methods=["POST"], content_types=FORM_TYPES)
def slack_interactions() -> dict[str, Any]:
    """Slack's buttons. Signed by Slack; the clicking user must be the module's lead."""
    from chalicelib.models_inbound import SlackInteractionIn, parse_inbound

    request = bp.current_request
    body = raw_body(request, 64 * 1024)
    if not container().slack_requests.is_valid(
        body,
        request.headers.get("x-slack-request-timestamp"),
        request.headers.get("x-slack-signature"),
    ):
        raise Unauthenticated("the Slack signature is missing, stale or wrong")
    fields = parse_qs(body.decode("utf-8", "replace"))
    if "payload" not in fields:
        raise MalformedRequest("no payload", [{"field": "payload", "problem": "is required"}])
    payload = parse_inbound(SlackInteractionIn, parse_json(fields["payload"][0]), "payload")
    action = payload.actions[0] if payload.actions else None
    if action is None or action.action_id != "approve":
        return {"ok": True, "outcome": "ignored"}  # link buttons open the page; nothing to do
    decisions = container().decisions
    ticket_id = action.value
    actor = decisions.lead_for_slack_user(ticket_id, payload.user.id)
    audit_context.act_as(audit_context.lead_actor(actor.who, "slack"))
    project = decisions.project_of(ticket_id)
    try:
        ticket = decisions.decide(ticket_id, "approve", "approved in Slack", None, actor, project)
    except Conflict as exc:
        return {"ok": True, "outcome": exc.message}
    return {"ok": True, "outcome": ticket.status}
