"""Regressions for what the schemathesis run over schemas/openapi.json found."""

from __future__ import annotations

import pytest

from chalicelib.errors import MalformedRequest, ValidationFailed
from chalicelib.models import AttachmentRequest, ResultIn, RunIn, parse_model
from chalicelib.routes.decisions import _form


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
