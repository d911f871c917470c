"""Planned runs: create (from a plan or test cases, on an environment, with assignees), list by
status, record manual results, close; `GET .../runs/{runId}` lives with the CI routes
(`routes.results`): CI runs are the same runs."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import settings
from chalicelib.routes.common import (
    JSON_TYPES,
    container,
    int_param,
    json_body,
    principal_for,
    query_param,
    route,
)

bp = Blueprint(__name__)

BASE = "/v1/projects/{project}/runs"
MAX_RUN_BYTES = 1024 * 1024


@route(bp, BASE, methods=["POST"], content_types=JSON_TYPES)
def create_run(project: str) -> Response:
    """Plan a run: its test cases, environment and assignees; progress starts at zero."""
    from chalicelib.models_planning import RunCreateIn

    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, RunCreateIn, MAX_RUN_BYTES)
    c = container()
    c.access.project(project)
    return Response(c.runs.create(project, body, principal.user), status_code=201)


@route(bp, BASE, methods=["GET"])
def list_runs(project: str) -> dict[str, Any]:
    """Planned runs, newest first (`status=open|closed`; `cursor` pages)."""
    request = bp.current_request
    principal_for(request, project)
    return dict(
        container().runs.page(
            project,
            query_param(request, "status"),
            limit=int_param(request, "limit", 100),
            cursor=query_param(request, "cursor"),
        )
    )


@route(bp, BASE + "/{runId}/results", methods=["PUT"], content_types=JSON_TYPES)
def record_manual_results(project: str, runId: str) -> dict[str, Any]:
    """Results recorded by hand: the same recording as CI's (drafts, merges, re-tests)."""
    from chalicelib.models_planning import ManualResultsIn

    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, ManualResultsIn, settings.MAX_JSON_BODY_BYTES)
    c = container()
    return dict(c.runs.record(c.access.project(project), runId, body, principal.user))


@route(bp, BASE + "/{runId}/cases", methods=["GET"])
def run_cases(project: str, runId: str) -> dict[str, Any]:
    """The run's test cases: assignee and latest result (`assignee=` filters)."""
    request = bp.current_request
    principal_for(request, project)
    return dict(container().runs.cases(project, runId, query_param(request, "assignee")))


@route(bp, BASE + "/{runId}/cases/{testCaseId}", methods=["GET"])
def run_case(project: str, runId: str, testCaseId: str) -> dict[str, Any]:
    """One test case of the run: assignee, latest result, and each result recorded for it in
    the run with its evidence (attempts in order)."""
    principal_for(bp.current_request, project)
    return dict(container().runs.case(project, runId, testCaseId))


@route(bp, BASE + "/{runId}/close", methods=["POST"], content_types=JSON_TYPES)
def close_run(project: str, runId: str) -> dict[str, Any]:
    """Close the run before every test case has a result."""
    from chalicelib.models_planning import RunCloseIn

    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, RunCloseIn) if request.raw_body else RunCloseIn()
    return dict(container().runs.close(project, runId, body.reason, principal.user))
