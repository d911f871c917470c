"""Test cases: CRUD with versions, import (CSV or JSON, dry run) and export."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import (
    models,
    settings,
)
from chalicelib.errors import MalformedRequest, field_problem
from chalicelib.models import parse_json
from chalicelib.routes.common import (
    JSON_TYPES,
    container,
    int_param,
    json_body,
    principal_for,
    query_param,
    raw_body,
    require_content_type,
    route,
)

bp = Blueprint(__name__)

CSV_TYPES = ["text/csv", "application/csv"]
BASE = "/v1/projects/{project}/test-cases"


def _service() -> Any:
    return container().test_cases


def _if_match(request: Any) -> int | None:
    """`If-Match: "3"` (or W/"3", or 3): the version the edit started from."""
    value = request.headers.get("if-match")
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()):  # "²".isdigit(), but int("²") fails
        raise MalformedRequest(
            "If-Match must be the test case's version",
            [field_problem("If-Match", f'is {value!r}; must be a version number like "3"')],
        )
    return int(text)


def _with_etag(view: dict[str, Any], status: int = 200) -> Response:
    return Response(view, status_code=status, headers={"ETag": f'"{view["version"]}"'})


@route(bp, BASE, methods=["GET"])
def list_test_cases(project: str) -> dict[str, Any]:
    """The project's test cases (`module`, `suite` filter; `cursor` pages)."""
    request = bp.current_request
    principal_for(request, project)
    return dict(
        _service().page(
            project,
            limit=int_param(request, "limit", 100),
            cursor=query_param(request, "cursor"),
            module=query_param(request, "module"),
            suite=query_param(request, "suite"),
        )
    )


@route(bp, BASE, methods=["POST"], content_types=JSON_TYPES)
def create_test_case(project: str) -> Response:
    """Register a test case (version 1)."""
    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, models.TestCaseIn)
    container().access.project(project)
    return _with_etag(_service().create(project, body, principal.user), 201)


@route(bp, BASE + "/import", methods=["POST"], content_types=JSON_TYPES + CSV_TYPES)
def import_test_cases(project: str) -> dict[str, Any]:
    """Import test cases from CSV (TestRail, Xray or ours) or JSON: all or nothing;
    `dryRun=true` reports every row's outcome and problems and writes nothing."""
    request = bp.current_request
    principal = principal_for(request, project)
    require_content_type(request, JSON_TYPES + CSV_TYPES)
    container().access.project(project)
    dry_run = (query_param(request, "dryRun") or "").lower() in ("true", "1", "yes")
    body = raw_body(request, settings.MAX_IMPORT_BODY_BYTES)
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media in CSV_TYPES:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MalformedRequest(
                "the CSV is not UTF-8", [field_problem("body", f"is not UTF-8: {exc}")]
            ) from exc
        return dict(_service().import_csv(project, text, dry_run=dry_run, by=principal.user))
    return dict(
        _service().import_json(project, parse_json(body), dry_run=dry_run, by=principal.user)
    )


@route(bp, BASE + "/imports", methods=["POST"], content_types=JSON_TYPES)
def request_test_case_import(project: str) -> Response:
    """201: an import id and a presigned POST for a large CSV or JSON file; the file landing in
    S3 starts the import (validate every row, then write in batches: all or nothing)."""
    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, models.TestCaseImportUploadIn)
    c = container()
    c.access.project(project)
    out = c.test_case_imports.request(project, body.format, body.dry_run, principal.user)
    return Response(out, status_code=201)


@route(bp, BASE + "/imports/{importId}", methods=["GET"])
def test_case_import_status(project: str, importId: str) -> dict[str, Any]:
    """Status (`waiting_for_upload`, `validating`, `invalid`, `validated`, `writing`,
    `completed`, `failed`), counts, errors by row and column, test cases written so far."""
    principal_for(bp.current_request, project)
    return container().test_case_imports.get(project, importId)


@route(bp, BASE + "/export", methods=["GET"])
def export_test_cases(project: str) -> Response:
    """Every test case as CSV (our columns, one row per step) or JSON: `format=csv|json`."""
    request = bp.current_request
    principal_for(request, project)
    asked = query_param(request, "format")  # `?format=` (empty) names no format: 400
    fmt = "json" if asked is None else asked.lower()
    if fmt not in ("csv", "json"):
        raise MalformedRequest(
            "format must be csv or json", [field_problem("format", "must be one of csv, json")]
        )
    body = "".join(_service().export(project, fmt))
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    headers: dict[str, str | list[str]] = {"Content-Type": content_type}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{project}-test-cases.csv"'
    return Response(body, status_code=200, headers=headers)


@route(bp, BASE + "/{testCaseId}", methods=["GET"])
def get_test_case(project: str, testCaseId: str) -> Response:
    """The test case's current version (ETag: its version)."""
    principal_for(bp.current_request, project)
    return _with_etag(_service().get(project, testCaseId))


@route(bp, BASE + "/{testCaseId}", methods=["PUT"], content_types=JSON_TYPES)
def update_test_case(project: str, testCaseId: str) -> Response:
    """Edit: a new version. If-Match: the version edited (412 if another edit came first)."""
    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, models.TestCaseIn)
    view = _service().update(project, testCaseId, body, _if_match(request), principal.user)
    return _with_etag(view)


@route(bp, BASE + "/{testCaseId}", methods=["DELETE"])
def delete_test_case(project: str, testCaseId: str) -> dict[str, Any]:
    """Soft delete: a last version marked deleted; the versions stay readable."""
    request = bp.current_request
    principal = principal_for(request, project)
    return dict(_service().delete(project, testCaseId, _if_match(request), principal.user))


@route(bp, BASE + "/{testCaseId}/versions", methods=["GET"])
def test_case_versions(project: str, testCaseId: str) -> dict[str, Any]:
    """Every version of the test case, oldest first."""
    principal_for(bp.current_request, project)
    return dict(_service().versions(project, testCaseId))
