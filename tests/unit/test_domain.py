"""The domain rules, with no AWS at all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.results import flaky_indexes, group_by_scenario
from chalicelib.domain.statuses import (
    LIVE_TICKET_STATUSES,
    ResultStatus,
    ScenarioStatus,
    TicketStatus,
    is_live,
    scenario_status,
)
from chalicelib.models import ResultIn


def r(
    case: str = "TC-1", status: str = "failed", attempt: int = 1, scenario: str = "s"
) -> ResultIn:
    return ResultIn.model_validate(
        {"scenarioId": scenario, "testCaseId": case, "status": status, "attempt": attempt}
    )


def test_a_failure_passed_by_a_later_attempt_is_flaky() -> None:
    results = [r(attempt=1), r(attempt=2, status="failed"), r(attempt=3, status="passed")]
    assert flaky_indexes(results) == {0, 1}


def test_a_failure_after_the_last_pass_is_not_flaky() -> None:
    results = [r(attempt=1, status="passed"), r(attempt=2)]
    assert flaky_indexes(results) == set()


def test_flakiness_is_per_test_case() -> None:
    results = [r("TC-1", attempt=1), r("TC-2", status="passed", attempt=2)]
    assert flaky_indexes(results) == set()


def test_results_group_by_scenario_keeping_real_failures() -> None:
    results = [
        r("a", scenario="s1"),
        r("b", status="passed", scenario="s2"),
        r("c", scenario="s1"),
        r("d", status="skipped", scenario="s2"),
    ]
    batches = group_by_scenario(results, flaky={2})
    assert [(b.scenario_id, b.indexes, b.failures) for b in batches] == [
        ("s1", [0, 2], [0]),
        ("s2", [1, 3], []),
    ]


def test_the_latest_result_of_a_scenario_is_its_highest_attempt() -> None:
    results = [r(attempt=2, status="passed"), r(attempt=1)]
    [batch] = group_by_scenario(results, flaky=set())
    assert batch.last_index(results) == 0


@pytest.mark.parametrize(
    ("last", "ticket", "expected"),
    [
        ("passed", None, ScenarioStatus.PASSED),
        ("failed", None, ScenarioStatus.FAILING),
        ("failed", "draft", ScenarioStatus.FAILING),
        ("failed", "open", ScenarioStatus.DEFECT_OPEN),
        ("passed", "jira_pending", ScenarioStatus.DEFECT_OPEN),
        ("failed", "resolved", ScenarioStatus.READY_FOR_RETEST),
        ("skipped", None, ScenarioStatus.PASSED),
    ],
)
def test_scenario_status_follows_its_last_result_and_live_ticket(
    last: str, ticket: str | None, expected: ScenarioStatus
) -> None:
    assert scenario_status(last, ticket) == expected


def test_live_statuses_are_the_contracts() -> None:
    ended = {"rejected", "merged", "expired", "verified", "closed"}
    assert {s.value for s in LIVE_TICKET_STATUSES} == {s.value for s in TicketStatus} - ended
    assert is_live("draft") and not is_live("rejected")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]), st.sampled_from(list(ResultStatus)), st.integers(1, 4)
        ),
        max_size=12,
    )
)
def test_only_failures_are_ever_flaky(rows: list) -> None:
    results = [r(case, status.value, attempt) for case, status, attempt in rows]
    for i in flaky_indexes(results):
        assert results[i].status == ResultStatus.FAILED
        assert any(
            o.test_case_id == results[i].test_case_id
            and o.status == ResultStatus.PASSED
            and o.attempt > results[i].attempt
            for o in results
        )


def test_a_scenario_is_failing_from_its_failing_set_or_its_latest_results() -> None:
    from chalicelib.domain.scenarios import Scenario

    # as the recording path reads it: the item's set, no latest results
    touched = Scenario(project="P", scenario_id="s", last_result="passed", failing_cases=["tc2"])
    assert touched.failing_test_cases == ["tc2"] and touched.result == "failed"
    # as the scenario page reads it: each test case's latest result decides
    read = Scenario(
        project="P",
        scenario_id="s",
        last_result="passed",
        test_cases=["tc1"],
        failing_cases=["tc2"],
        latest={"tc2": {"status": "passed"}, "tc3": {"status": "failed"}},
    )
    assert read.failing_test_cases == ["tc3"]
    assert [v["testCaseId"] for v in read.test_case_view()] == ["tc1", "tc2", "tc3"]
