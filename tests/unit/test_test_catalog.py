"""Test cases, imports and requirements against the fakes: versions and lost updates, files in
and out (numbered steps, repeated rows, errors by row and column, formula cells), registration
on first report, coverage links and module counters, stories and release buckets, Jira sync."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.changes import ChangeEvent
from chalicelib.domain.requirements import CoverageLink, story_bucket
from chalicelib.domain.testcase_files import neutralise, read_csv, unneutralise, write_csv
from chalicelib.errors import NotFound, PreconditionFailed, ValidationFailed
from chalicelib.models import ResultIn, TestCaseIn
from chalicelib.services.coverage import CoverageReader
from chalicelib.services.requirements import RequirementService, Stores
from chalicelib.services.testcases import TestCaseService
from tests.unit.fakes import (
    FakeClock,
    FakeCursors,
    FakeRequirements,
    FakeStores,
    FakeStories,
    FakeTestCases,
)


@pytest.fixture
def repos() -> tuple[FakeTestCases, FakeRequirements]:
    return FakeTestCases(), FakeRequirements()


@pytest.fixture
def service(repos: tuple[FakeTestCases, FakeRequirements]) -> TestCaseService:
    return TestCaseService(repos[0], repos[1], FakeCursors(), clock=FakeClock())


def body(**more: Any) -> TestCaseIn:
    data = {"testCaseId": "TC-1", "title": "Login", "module": "auth", "requirements": ["R-1"]}
    return TestCaseIn.model_validate({**data, **more})


# -- files ----------------------------------------------------------------------------------


def test_numbered_steps_in_one_cell_pair_with_their_expected_results() -> None:
    text = (
        "ID,Title,Steps (Step),Steps (Expected Result)\n"
        'C1,Pay,"1. Open the cart\nwith one item\n2. Pay","1. One item shown\n2. Paid"\n'
    )
    [case], errors, unknown = read_csv(text)
    assert not errors and not unknown and not case.errors
    assert case.content["steps"] == [
        {
            "stepNumber": 1,
            "action": "Open the cart\nwith one item",
            "expectedResult": "One item shown",
        },
        {"stepNumber": 2, "action": "Pay", "expectedResult": "Paid"},
    ]


def test_repeated_rows_add_steps_and_problems_name_row_and_column() -> None:
    text = (
        "TCID,Test Summary,Test Type,Priority,Action,Result,Labels\n"
        "7,Search,Manual,urgent,Open search,Box shown,x\n"
        ",,,,Type shoes,Listed,\n"
        "8,,Robot,,Do it,Done,\n"
        "7,Again,Manual,,A,B,\n"
    )
    cases, errors, unknown = read_csv(text)
    assert not errors and unknown == ["Labels"]
    assert [len(c.content["steps"]) for c in cases] == [2, 1, 1]
    problems = {(e.row, e.column) for c in cases for e in c.errors}
    assert problems == {(2, "Priority"), (4, "Test Summary"), (4, "Test Type"), (5, "TCID")}


def test_a_file_without_an_id_or_title_column_says_which_names_it_takes() -> None:
    cases, errors, _ = read_csv("Name Of Case,Steps\nx,y\n")
    assert not cases
    assert [(e.row, e.column) for e in errors] == [(1, "header"), (1, "header")]
    assert "test case id" in errors[0].problem


@given(st.text(max_size=30))
def test_neutralised_cells_never_start_a_formula_and_read_back_exactly(value: str) -> None:
    out = neutralise(value)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unneutralise(out) == value


def test_our_csv_reads_back_as_written() -> None:
    case = {
        "testCaseId": "TC-9",
        "title": "=cmd|' /C calc'!A0",
        "module": "m",
        "suite": "s",
        "priority": "high",
        "type": "functional",
        "method": "automated",
        "status": "draft",
        "preconditions": ["-a", "b"],
        "postconditions": [],
        "requirements": ["R-1", "R-2"],
        "jiraTestKey": "KP-1",
        "steps": [
            {"stepNumber": 1, "action": "1. looks numbered", "expectedResult": "@x"},
            {"stepNumber": 3, "action": "multi\nline", "expectedResult": "", "data": "+d"},
        ],
    }
    [parsed], errors, _ = read_csv("".join(write_csv([case])))
    assert not errors and not parsed.errors
    assert parsed.content == {k: v for k, v in case.items() if k != "testCaseId"}


# -- test cases -----------------------------------------------------------------------------


def test_edits_are_versions_and_a_lost_update_is_refused(service: TestCaseService) -> None:
    service.create("P", body(), "t@example.com")
    assert service.update("P", "TC-1", body(title="Login 2"), 1, "t")["version"] == 2
    with pytest.raises(PreconditionFailed):
        service.update("P", "TC-1", body(title="Login 3"), 1, "t")
    assert service.update("P", "TC-1", body(title="Login 2"), None, "t")["version"] == 2
    service.delete("P", "TC-1", None, "t")
    with pytest.raises(NotFound):
        service.get("P", "TC-1")
    versions = service.versions("P", "TC-1")["items"]
    assert [(v["version"], v["title"], v["deleted"]) for v in versions] == [
        (1, "Login", False),
        (2, "Login 2", False),
        (3, "Login 2", True),
    ]


def test_an_import_with_one_bad_row_writes_nothing(
    service: TestCaseService, repos: tuple[FakeTestCases, FakeRequirements]
) -> None:
    text = "Test Case ID,Title,Method\nA,One,manual\nB,Two,sometimes\n"
    dry = service.import_csv("P", text, dry_run=True, by="lead")
    assert not dry["valid"] and dry["summary"]["invalid"] == 1
    with pytest.raises(ValidationFailed) as raised:
        service.import_csv("P", text, dry_run=False, by="lead")
    assert raised.value.details == [
        {"field": "rows[3].Method", "problem": "must be manual or automated"}
    ]
    assert repos[0].heads == {}


def test_json_import_reports_items_by_index_and_field(service: TestCaseService) -> None:
    out = service.import_json(
        "P",
        {"testCases": [{"testCaseId": "A", "title": "ok"}, {"testCaseId": "B", "priority": "x"}]},
        dry_run=True,
        by="lead",
    )
    assert [r["action"] for r in out["rows"]] == ["create", "invalid"]
    assert {e["column"] for e in out["rows"][1]["errors"]} == {"title", "priority"}


def test_first_report_registers_then_results_feed_counters_and_coverage(
    service: TestCaseService, repos: tuple[FakeTestCases, FakeRequirements]
) -> None:
    cases, requirements = repos
    results = [
        ResultIn.model_validate(
            {
                "scenarioId": "s",
                "testCaseId": "TC-X",
                "status": "failed",
                "module": "pay",
                "requirements": ["R-9"],
            }
        )
    ]
    versions = service.register("P", results, "2026-03-01T10:00:00.000Z", "ci")
    assert versions == {"TC-X": 1} and cases.get("P", "TC-X").method == "automated"
    reader = CoverageReader(service)

    def executed(status: str, at: str, attempt: int = 1) -> ChangeEvent:
        data = {
            "testCaseId": "TC-X",
            "status": status,
            "runId": "r",
            "attempt": attempt,
            "executionId": f"e-{at}-{attempt}",
            "testCaseVersion": 1,
            "scenarioId": "s",
            "release": "2.4.0",
        }
        return ChangeEvent(
            id=f"e-{at}-{attempt}",
            kind="execution.recorded",
            project="P",
            at=at,
            subject="e",
            data=data,
        )

    reader.apply([executed("failed", "2026-03-01T10:00:00.000Z")])
    # a flaky pair in one report: the later attempt wins, whatever order the stream gives
    reader.apply(
        [
            executed("passed", "2026-03-01T11:00:00.000Z", 2),
            executed("failed", "2026-03-01T11:00:00.000Z", 1),
        ]
    )
    reader.apply([executed("failed", "2026-03-01T11:00:00.000Z", 1)])  # redelivered late
    assert cases.module_counts("P") == [{"name": "pay", "testCases": 1, "executed": 1, "passed": 1}]
    [link] = requirements.links("P", "R-9")
    assert link.status == "passed" and link.in_["release:2.4.0"]["status"] == "passed"
    # an older result arriving late changes nothing
    reader.apply([executed("failed", "2026-03-01T09:00:00.000Z")])
    assert requirements.links("P", "R-9")[0].status == "passed"
    # moving the test case off the requirement removes the link
    service.update("P", "TC-X", body(testCaseId="TC-X", requirements=[]), None, "t")
    assert requirements.links("P", "R-9") == []


# -- requirements ---------------------------------------------------------------------------


def link(tc: str, **scoped: str) -> CoverageLink:
    return CoverageLink(
        project="P",
        requirement_id="R",
        test_case_id=tc,
        status="passed",
        in_={k: {"status": v} for k, v in scoped.items()},
    )


@pytest.mark.parametrize(
    ("links", "defects", "bucket"),
    [
        ([], {}, "untested"),
        ([link("a", s="passed")], {"a": [{"ticketId": "t"}]}, "withOpenDefects"),
        ([link("a", s="passed"), link("b")], {}, "notRun"),
        ([link("a", s="passed"), link("b", s="failed")], {}, "failing"),
        ([link("a", s="passed"), link("b", s="passed")], {}, "fullyTested"),
    ],
)
def test_story_buckets(links: list[CoverageLink], defects: dict, bucket: str) -> None:
    assert story_bucket(links, "s", defects) == bucket


def test_sync_is_incremental_and_idempotent() -> None:
    stores = FakeStores()
    stores.projects.create(
        {"key": "P", "jira": {"requirementsJql": "project = KP AND issuetype = Story"}}
    )
    requirements = FakeRequirements()
    stories = FakeStories()
    stories.stories_by_key["KP-1"] = {
        "key": "KP-1",
        "title": "Pay",
        "status": "To Do",
        "fixVersions": ["2.4.0"],
        "sprints": ["Sprint 14"],
        "updated": "2026-03-01T09:00:00.000+0000",
    }
    service = RequirementService(
        Stores(requirements, stores.projects, stores.scenarios, stores.tickets),
        lambda: stories,
        FakeCursors(),
        FakeTestCases(),
        clock=FakeClock(),
    )
    first = service.sync("P")
    assert (first["created"], first["since"]) == (1, None)
    again = service.sync("P")
    assert again["unchanged"] == 1 and 'updated >= "2026/03/01 09:58"' in stories.queries[-1]
    assert service.scope_view("P", "sprint", "Sprint 14")["summary"]["untested"] == 1
    assert service.scope_view("P", "release", "2.4.0")["gate"] == {"evaluated": False}
