"""Reports (PDF, HTML, CSV) built asynchronously, and report schedules to Slack."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import models
from chalicelib.routes.common import JSON_TYPES, container, json_body, principal_for
from chalicelib.routes.common import route as api_route

bp = Blueprint(__name__)


@api_route(bp, "/v1/projects/{project}/reports", methods=["POST"], content_types=JSON_TYPES)
def request_report(project: str) -> Response:
    """202 `{"reportId"}`: the report is built from the build queue into S3."""
    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, models.ReportIn)
    out = container().reports.request(
        project, body.model_dump(by_alias=True, mode="json"), str(principal.user)
    )
    return Response(out, status_code=202)


@api_route(bp, "/v1/projects/{project}/reports/{reportId}", methods=["GET"])
def get_report(project: str, reportId: str) -> dict[str, Any]:
    """Its status (`queued`, `done`, `failed`) and, when done, a presigned download URL."""
    principal_for(bp.current_request, project)
    return container().reports.get(project, reportId)


@api_route(
    bp, "/v1/projects/{project}/report-schedules/{name}", methods=["PUT"], content_types=JSON_TYPES
)
def put_report_schedule(project: str, name: str) -> dict[str, Any]:
    request = bp.current_request
    principal_for(request, project)
    body = json_body(request, models.ReportScheduleIn)
    return container().reports.save_schedule(
        project, name, body.model_dump(by_alias=True, mode="json")
    )
