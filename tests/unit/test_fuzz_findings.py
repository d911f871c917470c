"""Regressions for what the schemathesis run over schemas/openapi.json found."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from chalicelib.domain.requirements import REQUIREMENT_ID
from chalicelib.errors import MalformedRequest, ValidationFailed
from chalicelib.models import (
    AttachmentRequest,
    ReportScheduleIn,
    ResultIn,
    ResultsReport,
    RunIn,
    parse_model,
)
from chalicelib.routes.common import int_param
from chalicelib.routes.decisions import _form
from chalicelib.routes.testcases import _if_match

OPENAPI = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"


def test_an_approval_form_with_too_many_fields_is_malformed_not_a_500() -> None:
    body = "&".join(f"f{i}=x" for i in range(11)).encode()
    with pytest.raises(MalformedRequest):
        _form(body)
    assert _form(b"decision=reject&reason=fp") == {"decision": "reject", "reason": "fp"}


@pytest.mark.parametrize("value", [False, True, "5", 1.5])
def test_integers_are_json_integers(value: object) -> None:
    result = {"scenarioId": "a", "testCaseId": "b", "status": "passed", "durationMs": value}
    with pytest.raises(ValidationFailed):
        parse_model(ResultIn, result)


@pytest.mark.parametrize("value", ["   ", "\t", "a\x00b", "x\x7f", ""])
def test_names_are_not_blank_and_have_no_control_characters(value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_model(RunIn, {"id": value})
    assert caught.value.details[0]["field"] == "id"


def test_names_are_stripped_after_the_check() -> None:
    assert parse_model(RunIn, {"id": "  build-1 "}).id == "build-1"


@pytest.mark.parametrize("name", ["a\x00.png", "a/b.png", "\t"])
def test_attachment_file_names_refuse_control_characters_and_slashes(name: str) -> None:
    body = {"fileName": name, "contentType": "image/png", "size": 1}
    with pytest.raises(ValidationFailed):
        parse_model(AttachmentRequest, body)


def test_a_whole_number_written_as_a_float_is_an_integer_as_json_schema_says() -> None:
    result = {"scenarioId": "a", "testCaseId": "b", "status": "passed", "durationMs": 5.0}
    parsed = parse_model(ResultIn, {**result, "attempt": 2.0})
    assert (parsed.duration_ms, parsed.attempt) == (5, 2)
    assert type(parsed.duration_ms) is int
    body = {"fileName": "a.png", "contentType": "image/png", "size": 13099003.0}
    assert parse_model(AttachmentRequest, body).size == 13099003


@pytest.mark.parametrize("hour", [False, True, "5", 1.5])
def test_a_report_schedules_hour_is_an_integer(hour: object) -> None:
    with pytest.raises(ValidationFailed):
        parse_model(ReportScheduleIn, {"type": "executive-summary", "hour": hour})


def test_the_document_states_integer_bounds_as_json_schema() -> None:
    schemas = json.loads(OPENAPI.read_text())["components"]["schemas"]
    size = schemas["UploadRequest"]["properties"]["size"]["anyOf"][0]
    assert size == {"exclusiveMinimum": 0, "type": "integer"}
    assert '"ge"' not in OPENAPI.read_text() and '"gt"' not in OPENAPI.read_text()


@pytest.mark.parametrize("value", ["²", "", '""', "W/", "3a"])
def test_an_if_match_that_is_not_a_version_is_malformed_not_a_500(value: str) -> None:
    with pytest.raises(MalformedRequest):
        _if_match(SimpleNamespace(headers={"if-match": value}))
    assert _if_match(SimpleNamespace(headers={"if-match": 'W/"3"'})) == 3


def test_an_empty_limit_is_not_a_number() -> None:
    with pytest.raises(ValidationFailed):
        int_param(SimpleNamespace(query_params={"limit": ""}), "limit", 100)
    assert int_param(SimpleNamespace(query_params=None), "limit", 100) == 100


def test_a_view_without_a_body_takes_any_content_type() -> None:
    """Chalice answers 415 to a GET carrying a Content-Type its route does not list."""
    import app

    for path, methods in app.app.routes.items():
        for method, entry in methods.items():
            if method in ("GET", "DELETE"):
                assert entry.content_types == ["*/*"], (method, path)


@pytest.mark.parametrize("value", ["\x1cREQ-1", "REQ-1\n", "REQ 1", "\x85REQ", "\ufeffREQ", ""])
def test_requirement_ids_are_checked_alike_by_the_server_and_the_document(value: str) -> None:
    assert REQUIREMENT_ID.fullmatch(value) is None
    document = json.loads(OPENAPI.read_text())["paths"]
    put = document["/v1/projects/{project}/requirements/{requirementId}"]["put"]
    (param,) = [p for p in put["parameters"] if p["name"] == "requirementId"]
    assert param["schema"]["pattern"] == REQUIREMENT_ID.pattern
    assert REQUIREMENT_ID.fullmatch("REQ-1") and REQUIREMENT_ID.fullmatch("ü-1")


def test_a_report_takes_1000_results_and_refuses_1001() -> None:
    """The boundary the fuzz run leaves out (its reports keep at most 20 results)."""
    one = {"scenarioId": "a", "testCaseId": "b", "status": "passed"}
    assert len(parse_model(ResultsReport, {"run": {"id": "r"}, "results": [one] * 1000}).results)
    with pytest.raises(ValidationFailed) as caught:
        parse_model(ResultsReport, {"run": {"id": "r"}, "results": [one] * 1001})
    assert caught.value.details[0]["field"] == "results"
