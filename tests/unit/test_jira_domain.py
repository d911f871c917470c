"""What Jira's words mean to us, and what we write to Jira: no Jira needed."""

from __future__ import annotations

import pytest

from chalicelib.adapters.jira import issues as defects
from chalicelib.adapters.jira.webhook import verify_signature
from chalicelib.domain import feedback
from chalicelib.domain.statuses import TicketStatus as S

VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_SIGNATURE = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"


def test_atlassians_signature_vector_verifies() -> None:
    assert verify_signature(VECTOR_SECRET, b"Hello World!", VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256",
        "md5=" + VECTOR_SIGNATURE.split("=")[1],
        VECTOR_SIGNATURE[:-1] + "0",
        "sha256=" + "0" * 64,
    ],
)
def test_anything_else_does_not(header: str | None) -> None:
    assert not verify_signature(VECTOR_SECRET, b"Hello World!", header)
    assert not verify_signature("", b"Hello World!", VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    ("status", "category", "resolution", "expected"),
    [
        ("Done", "done", "Done", S.RESOLVED),
        ("Done", "done", "Won't Fix", S.CLOSED),
        ("Closed", "done", "Duplicate", S.CLOSED),
        ("Resolved", "done", "Cannot Reproduce", S.CLOSED),
        ("In Progress", "indeterminate", None, S.OPEN),
        ("To Do", "new", None, S.OPEN),
        ("Deferred", "indeterminate", None, S.DEFERRED),
        ("Backlog", "new", None, S.DEFERRED),
        ("Blocked", "indeterminate", None, S.BLOCKED),
        ("Reopened", "new", None, S.REOPENED),
    ],
)
def test_jira_statuses_mean_ours_by_default(
    status: str, category: str, resolution: str | None, expected: S
) -> None:
    assert feedback.meaning(None, status, category, resolution) == expected


def test_a_project_maps_several_jira_statuses_to_one_of_ours() -> None:
    status_map = {
        "deferred": ["Parked", "Icebox"],
        "resolved": ["Ready for QA"],
        "closingResolutions": ["Not a bug"],
    }
    assert feedback.meaning(status_map, "Icebox", "new", None) == S.DEFERRED
    assert feedback.meaning(status_map, "Parked", "new", None) == S.DEFERRED
    assert feedback.meaning(status_map, "Ready for QA", "indeterminate", None) == S.RESOLVED
    assert feedback.meaning(status_map, "Done", "done", "Not a bug") == S.CLOSED


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        ("open", S.RESOLVED, S.RESOLVED),
        ("open", S.OPEN, None),
        ("resolved", S.OPEN, S.REOPENED),  # leaving done after the fix is a reopen
        ("resolved", S.REOPENED, S.REOPENED),
        ("reopened", S.REOPENED, None),  # our own reopen, echoed back
        ("deferred", S.OPEN, S.OPEN),
        ("blocked", S.REOPENED, S.OPEN),
        ("open", S.CLOSED, S.CLOSED),
        ("verified", S.RESOLVED, None),  # ended: Jira cannot move it
        ("draft", S.RESOLVED, None),
        ("resolved", S.DEFERRED, None),
    ],
)
def test_moves_follow_the_contract(current: str, target: S, expected: S | None) -> None:
    assert feedback.next_status(current, target) == expected


def test_late_deliveries_compare_on_jiras_update_time() -> None:
    event = {"timestamp": 5, "issue": {"fields": {"updated": "2019-01-30T15:51:33.199+0300"}}}
    assert feedback.updated_at_ms(event) == 1548852693199
    assert feedback.updated_at_ms({"timestamp": 1606480436302}) == 1606480436302


def test_link_types_resolve_by_name_or_description_and_plural() -> None:
    available = [
        {"name": "Tests", "inward": "is tested by", "outward": "tests"},
        {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
    ]
    assert defects.resolve_link_type("Test", available) == "Tests"
    assert defects.resolve_link_type("is tested by", available) == "Tests"
    assert defects.resolve_link_type("BLOCK", available) == "Blocks"
    assert defects.resolve_link_type("Verifies", available) is None


def test_the_summary_template_fills_from_the_ticket_and_survives_bad_templates() -> None:
    ticket = {"id": "tk_1", "title": "Pay  by card", "module": "checkout", "testCaseId": "TC-1"}
    assert defects.summary({"summaryTemplate": "[{module}] {title} {unknown}"}, ticket) == (
        "[checkout] Pay by card"
    )
    assert defects.summary({"summaryTemplate": "{title!x}"}, ticket) == "Pay by card"


def test_reported_text_cannot_break_out_of_a_code_block() -> None:
    ticket = {
        "id": "tk_1",
        "error": {"type": "E", "message": "{code}h1. injected"},
        "reporters": [],
        "occurrences": 1,
    }
    text = defects.description(ticket, [], "https://x/t")
    assert text.count("{code}") == 2


def test_fields_carry_the_unique_label_and_the_mapping() -> None:
    mapping = {
        "projectKey": "KP",
        "issueType": "Bug",
        "labels": ["qa"],
        "components": ["Pay"],
        "priorityMap": {"high": "High"},
        "severityFieldId": "customfield_1",
        "severityMap": {"critical": "Critical"},
        "testCaseIdFieldId": "customfield_2",
        "extraFields": {"environment": "staging"},
    }
    ticket = {
        "id": "tk_1",
        "title": "t",
        "priority": "high",
        "severity": "critical",
        "testCaseId": "TC-1",
    }
    fields = defects.issue_fields(mapping, ticket, "text")
    assert fields["labels"] == ["failbridge", "failbridge-tk_1", "qa"]
    assert fields["priority"] == {"name": "High"}
    assert fields["customfield_1"] == {"value": "Critical"}
    assert fields["customfield_2"] == "TC-1"
    assert fields["components"] == [{"name": "Pay"}]
    assert fields["environment"] == "staging"
    assert defects.filled_fields(mapping) >= {"customfield_1", "customfield_2", "environment"}
