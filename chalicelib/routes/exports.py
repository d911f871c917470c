"""Exports for BI tools (admins ask for one; anyone may read its outcome back)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.routes.common import container, principal_for
from chalicelib.routes.common import route as api_route

bp = Blueprint(__name__)


@api_route(bp, "/v1/projects/{project}/exports", methods=["POST"])
def request_export(project: str) -> Response:
    principal = principal_for(bp.current_request, project)
    out = container().exports.request(project, principal.user or principal.key_id)
    return Response(out, status_code=202)


@api_route(bp, "/v1/projects/{project}/exports/{exportId}", methods=["GET"])
def get_export(project: str, exportId: str) -> dict[str, Any]:
    principal_for(bp.current_request, project)
    return container().exports.status(project, exportId)
