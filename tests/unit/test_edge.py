"""The edge: validation errors name the field; keys verify; ids are stable where they must be."""

from __future__ import annotations

import pytest

from chalicelib.domain.roles import REPORT, Role
from chalicelib.errors import Forbidden, MalformedRequest, ValidationFailed
from chalicelib.ids import execution_id, new_id
from chalicelib.models import ResultsReport, TicketPatch, parse_json, parse_model
from chalicelib.services.access import Principal, _TtlCache, hash_key


def test_validation_errors_name_the_field_in_the_contracts_words() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_model(
            ResultsReport,
            {
                "run": {"id": "b1"},
                "results": [
                    {"scenarioId": "s", "testCaseId": "t", "status": "failed"},
                    {"scenarioId": "s", "testCaseId": "t", "status": "exploded"},
                ],
            },
        )
    assert caught.value.details == [
        {"field": "results[1].status", "problem": "must be one of passed, failed, blocked, skipped"}
    ]


def test_a_patch_refuses_fields_it_does_not_know() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_model(TicketPatch, {"status": "approved"})
    assert caught.value.details == [{"field": "status", "problem": "is not a known field"}]


def test_non_json_is_malformed() -> None:
    with pytest.raises(MalformedRequest):
        parse_json(b"<xml/>")


def test_execution_ids_are_derived_from_what_identifies_an_execution() -> None:
    assert execution_id("P", "run", "TC", 1) == execution_id("P", "run", "TC", 1)
    assert execution_id("P", "run", "TC", 1) != execution_id("P", "run", "TC", 2)
    assert execution_id("P", "ru", "nTC", 1) != execution_id("P", "run", "TC", 1)


def test_new_ids_sort_by_time_and_do_not_repeat() -> None:
    ids = [new_id("tk") for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(i.startswith("tk_") and len(i) == 29 for i in ids)


def test_keys_are_stored_as_hashes() -> None:
    assert hash_key("fbk_secret") != "fbk_secret"
    assert len(hash_key("fbk_secret")) == 64


def test_a_principal_needs_the_project_and_a_role() -> None:
    tester = Principal("DEMO", Role.TESTER, "key_1", "t@example.com")
    tester.require("DEMO", REPORT)
    with pytest.raises(Forbidden):
        tester.require("OTHER", REPORT)
    with pytest.raises(Forbidden):
        Principal("DEMO", Role.VIEWER, "key_2", "v").require("DEMO", REPORT)


def test_the_key_cache_expires() -> None:
    now = [0.0]
    cache = _TtlCache(60, clock=lambda: now[0])
    loads = []
    assert cache.get("k", lambda: loads.append(1) or "v1") == "v1"
    assert cache.get("k", lambda: loads.append(1) or "v2") == "v1"
    now[0] = 61
    assert cache.get("k", lambda: loads.append(1) or "v3") == "v3"
    assert len(loads) == 2


def test_problems_quote_patterns_and_names_as_they_are() -> None:
    """A pattern lower-cased is another pattern; a model's name is not the client's business."""
    from chalicelib.models import DecisionIn, _problem

    with pytest.raises(ValidationFailed) as caught:
        parse_model(DecisionIn, {"decision": "link", "jiraKey": "nope"})
    assert caught.value.details == [
        {"field": "jiraKey", "problem": "must match the pattern ^[A-Z][A-Z0-9_]*-[0-9]+$"}
    ]
    with pytest.raises(ValidationFailed) as caught:
        parse_model(ResultsReport, [])
    assert caught.value.details == [{"field": "body", "problem": "must be an object"}]
    with pytest.raises(ValidationFailed) as caught:
        parse_model(ResultsReport, {"run": {"id": "b1"}, "results": []})
    assert caught.value.details == [{"field": "results", "problem": "must have at least 1 item"}]
    # pydantic's own sentence case goes, names and acronyms stay
    assert _problem({"type": "x", "msg": "Input should be a valid UUID"}) == (
        "input should be a valid UUID"
    )
    assert _problem({"type": "x", "msg": "UUID version 4 expected"}) == "UUID version 4 expected"


@pytest.mark.parametrize(
    "body", [{"threshold": True}, {"outageShare": False}, {"threshold": "0.5"}]
)
def test_a_number_field_refuses_booleans_and_strings(body: dict[str, object]) -> None:
    """JSON Schema's number: lax pydantic read true as 1.0 (the fuzz run's negative-data check
    found `{"threshold": true}` accepted by the flaky settings)."""
    from chalicelib.models import FlakySettingsIn, GateIn

    with pytest.raises(ValidationFailed) as caught:
        parse_model(FlakySettingsIn, body)
    assert [d["field"] for d in caught.value.details] == list(body)
    with pytest.raises(ValidationFailed):
        parse_model(GateIn, {"metric": "passRate", "operator": "gte", "threshold": True})
