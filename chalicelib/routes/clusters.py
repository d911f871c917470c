"""Root causes across scenarios: the project's clusters, and a lead deciding one as a whole."""

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
    FailbridgeError,
    Forbidden,
    MalformedRequest,
    ValidationFailed,
)
from chalicelib.ids import new_id
from chalicelib.routes.common import (
    ANY_TYPE,
    JSON_TYPES,
    container,
    json_body,
    principal_for,
    query_param,
    raw_body,
)
from chalicelib.routes.common import route as api_route

bp = Blueprint(__name__)


@api_route(bp, "/v1/projects/{project}/clusters", methods=["GET"])
def list_clusters(project: str) -> dict[str, Any]:
    """Groups of drafts that share a root cause, most scenarios first; each member says why."""
    request = bp.current_request
    principal_for(request, project)
    status = query_param(request, "status")
    return {"clusters": container().clusters.listed(project, status)}


@api_route(bp, "/v1/projects/{project}/clusters/{clusterId}", methods=["GET"])
def get_cluster(project: str, clusterId: str) -> dict[str, Any]:
    principal_for(bp.current_request, project)
    return container().clusters.get(project, clusterId)


@api_route(
    bp,
    "/v1/projects/{project}/clusters/{clusterId}/decision",
    methods=["POST"],
    content_types=JSON_TYPES,
)
def decide_cluster(project: str, clusterId: str) -> dict[str, Any]:
    """Approve (as one Jira issue, or one per scenario), reject all, or split off scenarios."""
    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, models.ClusterDecisionIn)
    actor = Actor(principal.user, principal.role, "api")
    return container().clusters.decide(project, clusterId, body.model_dump(), actor)


# -- a root cause decided from Slack: signed links to its page -------------------------------

FORM_TYPES = ["application/x-www-form-urlencoded"]
MAX_FORM_FIELDS = 1100  # a split ticks up to every scenario of a cluster


def _html(body: str, status: int = 200) -> Response:
    from chalicelib.routes import pages

    return Response(body=body, status_code=status, headers=pages.html_headers())


def _csrf(token: str) -> str:
    return container().page_signer.csrf("cluster-approval:" + token)


def _page(token: str, decision: str | None, problem: str | None = None, done: str | None = None,
          status: int = 200) -> Response:  # fmt: skip
    from chalicelib.routes import pages

    links = container().cluster_links
    _, cluster = links.check(token)
    body = pages.cluster_page(links.page(cluster), decision, _csrf(token), problem, done)
    return _html(body, status)


@bp.route("/v1/cluster-approvals/{token}", methods=["GET"], content_types=ANY_TYPE)
def cluster_approval_page(token: str) -> Response:
    """The root cause a link is for: its members and why. Changes nothing (scanners fetch)."""
    from chalicelib.routes import pages

    try:
        return _page(token, query_param(bp.current_request, "decision"))
    except FailbridgeError as exc:
        return _html(pages.refusal(exc.status, exc.message), exc.status)


def _form(body: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:  # parse_qs: "Max number of fields exceeded"
        raise MalformedRequest(
            "the form has too many fields", [{"field": "body", "problem": "has too many fields"}]
        ) from exc


@bp.route("/v1/cluster-approvals/{token}", methods=["POST"], content_types=FORM_TYPES)
def cluster_approval_decide(token: str) -> Response:
    """The page's forms: approve as one / one per scenario, reject all (once), or split off."""
    from chalicelib.routes import pages

    request = bp.current_request
    links = container().cluster_links
    try:
        form = _form(raw_body(request, 128 * 1024))
        first = {k: v[0] for k, v in form.items()}
        claims, _ = links.check(token)  # a forged, expired or used link says so first
        if not container().page_signer.csrf_ok("cluster-approval:" + token, first.get("csrf")):
            raise Forbidden("the form's CSRF token is missing or wrong; open the link again")
        lead = audit_context.lead_actor(claims.lead, "approval link")
        rid = (request.context or {}).get("requestId") or new_id("req")
        try:
            with audit_context.serving(rid, lead):
                decided = links.decide(
                    token, first.get("decision"), first.get("reason"), form.get("scenarioIds", [])
                )
        except ValidationFailed as exc:  # the page again, saying what is missing
            problem = "; ".join(f"{d['field']} {d['problem']}" for d in exc.details)
            return _page(token, first.get("decision"), problem, status=422)
        if first.get("decision") == "split":
            moved = len(decided.get("outcome") or {})
            return _page(token, None, done=f"{moved} drafts split off; decide the rest below")
    except FailbridgeError as exc:
        return _html(pages.refusal(exc.status, exc.message), exc.status)
    return _html(pages.cluster_outcome(decided))
