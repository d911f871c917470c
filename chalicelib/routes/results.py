"""Reporting results: JSON, JUnit XML, and large reports through presigned uploads."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import settings
from chalicelib.models import ResultsReport, RunIn, UploadRequest, parse_model
from chalicelib.routes.common import (
    JSON_TYPES,
    XML_TYPES,
    container,
    json_body,
    principal_for,
    query_param,
    raw_body,
    require_content_type,
    route,
)

bp = Blueprint(__name__)


@route(bp, "/v1/projects/{project}/results", methods=["POST"], content_types=JSON_TYPES)
def report_results(project: str) -> dict[str, Any]:
    request = bp.current_request
    principal = principal_for(request, project)
    report = json_body(request, ResultsReport, settings.MAX_JSON_BODY_BYTES)
    c = container()
    outcomes = c.results.record(
        c.access.project(project), report.run, report.results, reported_by=principal.user
    )
    return {"results": outcomes}


@route(
    bp,
    "/v1/projects/{project}/runs/{runId}/junit",
    methods=["POST"],
    content_types=XML_TYPES + JSON_TYPES,
)
def report_junit(project: str, runId: str) -> dict[str, Any]:
    from chalicelib.domain.mapping import ReportMapping
    from chalicelib.junit import parse_junit

    request = bp.current_request
    principal = principal_for(request, project)
    require_content_type(request, XML_TYPES)
    body = raw_body(request, settings.MAX_JUNIT_BODY_BYTES)
    run = _run(request, runId)
    c = container()
    item = c.access.project(project)
    mapping = ReportMapping.of_project(item)
    results = parse_junit(body, max_bytes=settings.MAX_JUNIT_BODY_BYTES, mapping=mapping)
    outcomes = c.results.record(item, run, results, reported_by=principal.user)
    return {"results": outcomes}


TEXT_TYPES = ["text/plain"]


@route(
    bp,
    "/v1/projects/{project}/runs/{runId}/report",
    methods=["POST"],
    content_types=XML_TYPES + JSON_TYPES + TEXT_TYPES,
)
def report_any(project: str, runId: str) -> dict[str, Any]:
    """A report in any supported format (`?format=`, else told from the body)."""
    from chalicelib.domain.mapping import ReportMapping
    from chalicelib.reports import parse_report

    request = bp.current_request
    principal = principal_for(request, project)
    body = raw_body(request, settings.MAX_JUNIT_BODY_BYTES)
    run = _run(request, runId)
    c = container()
    item = c.access.project(project)
    fmt, results = parse_report(
        body,
        query_param(request, "format"),
        max_bytes=settings.MAX_JUNIT_BODY_BYTES,
        mapping=ReportMapping.of_project(item),
    )
    outcomes = c.results.record(item, run, results, reported_by=principal.user) if results else []
    return {"format": fmt, "results": outcomes}


@route(bp, "/v1/projects/{project}/runs/{runId}", methods=["GET"])
def run_summary(project: str, runId: str) -> dict[str, Any]:
    """A planned run: its progress (counters, by assignee). A run only CI reported: what it
    recorded (its test cases' final results, flaky ones and the tickets)."""
    principal_for(bp.current_request, project)
    c = container()
    planned = c.runs.get(project, runId)
    return dict(planned if planned is not None else c.uploads.run_summary(project, runId))


def _run(request: Any, run_id: str) -> RunIn:
    run_fields = {
        k: query_param(request, k)
        for k in ("name", "build", "branch", "ciUrl", "environment", "commit")
        if query_param(request, k)
    }
    return parse_model(RunIn, {"id": run_id, **run_fields})


@route(bp, "/v1/projects/{project}/uploads", methods=["POST"], content_types=JSON_TYPES)
def request_upload(project: str) -> Response:
    request = bp.current_request
    principal = principal_for(request, project)
    upload = json_body(request, UploadRequest)
    c = container()
    c.access.project(project)
    return Response(c.uploads.request(project, upload, principal), status_code=201)


@route(bp, "/v1/projects/{project}/uploads/{uploadId}", methods=["GET"])
def upload_progress(project: str, uploadId: str) -> dict[str, Any]:
    principal_for(bp.current_request, project)
    return dict(container().uploads.progress(project, uploadId))
