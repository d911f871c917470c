"""Tickets and scenarios: read, list, edit drafts, attach evidence."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.models import AttachmentRequest, TicketPatch
from chalicelib.routes.common import JSON_TYPES, container, json_body, principal_for, query_param
from chalicelib.routes.common import route as api_route

bp = Blueprint(__name__)


@api_route(bp, "/v1/tickets/{ticketId}", methods=["GET"])
def get_ticket(ticketId: str) -> dict[str, Any]:
    principal = principal_for(bp.current_request, None)
    return dict(container().tickets.get(ticketId, principal))


@api_route(bp, "/v1/tickets/{ticketId}/occurrences", methods=["GET"])
def get_occurrences(ticketId: str) -> dict[str, Any]:
    request = bp.current_request
    principal = principal_for(request, None)
    return dict(
        container().tickets.occurrences(
            ticketId,
            principal,
            cursor=query_param(request, "cursor"),
            limit=query_param(request, "limit"),
        )
    )


@api_route(bp, "/v1/tickets/{ticketId}", methods=["PATCH"], content_types=JSON_TYPES)
def patch_ticket(ticketId: str) -> dict[str, Any]:
    request = bp.current_request
    principal = principal_for(request, None)
    patch = json_body(request, TicketPatch)
    return dict(container().tickets.patch(ticketId, patch, principal))


@api_route(bp, "/v1/tickets/{ticketId}/attachments", methods=["POST"], content_types=JSON_TYPES)
def request_attachment(ticketId: str) -> Response:
    request = bp.current_request
    principal = principal_for(request, None)
    attachment = json_body(request, AttachmentRequest)
    body = container().tickets.request_attachment(ticketId, attachment, principal)
    return Response(body, status_code=201)


@api_route(bp, "/v1/projects/{project}/tickets", methods=["GET"])
def list_tickets(project: str) -> dict[str, Any]:
    request = bp.current_request
    principal_for(request, project)
    return dict(
        container().tickets.list(
            project,
            status=query_param(request, "status"),
            module=query_param(request, "module"),
            cursor=query_param(request, "cursor"),
        )
    )


@api_route(bp, "/v1/projects/{project}/scenarios/{scenarioId}", methods=["GET"])
def get_scenario(project: str, scenarioId: str) -> dict[str, Any]:
    principal_for(bp.current_request, project)
    return dict(container().tickets.scenario(project, scenarioId))
