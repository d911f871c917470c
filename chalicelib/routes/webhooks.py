"""Jira's webhooks: verified by X-Hub-Signature, queued, answered at once."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import audit_context
from chalicelib.routes.common import container, raw_body, route

bp = Blueprint(__name__)


@route(bp, "/v1/webhooks/jira", methods=["POST"], content_types=["application/json"])
def jira_webhook() -> Response:
    """A `jira:issue_updated` delivery. 202 once queued; Jira retries anything slow or 5xx."""
    request = bp.current_request
    audit_context.act_as(audit_context.JIRA)
    outcome: dict[str, Any] = container().feedback.accept(
        raw_body(request, 1024 * 1024),
        request.headers.get("x-hub-signature"),
        request.headers.get("x-atlassian-webhook-identifier"),
    )
    return Response(outcome, status_code=202)
