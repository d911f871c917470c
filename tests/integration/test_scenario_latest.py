"""Each test case's latest result is its own item in the scenario's partition (issue #9), on moto
in-process (it enforces DynamoDB's 400 KB item limit): a scenario of thousands of test cases is
recorded and read back, a late report overwrites no newer result of a test case, and scenarios
written before (`latest#` attributes on the item) still read right."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import bootstrap
from chalicelib.adapters.dynamo import keys
from chalicelib.domain.executions import Execution
from tests.integration.conftest import Demo

SCENARIO = "checkout.parametrised"
T1, T2, T3 = "2026-03-01T10:00:00.000Z", "2026-03-01T11:00:00.000Z", "2026-03-01T12:00:00.000Z"


def _case(n: int) -> str:
    return f"tests.checkout.test_pay.TestPayByCard.test_amount[{n:05d}-EUR-visa-3ds]-x"


def _post(api: Any, demo: Demo, run_id: str, results: list[dict[str, Any]]) -> None:
    body = json.dumps({"run": {"id": run_id, "name": "nightly"}, "results": results})
    response = api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=body)
    assert response.status_code == 200, response.body


def _results(cases: range, failing: set[int]) -> list[dict[str, Any]]:
    return [
        {
            "scenarioId": SCENARIO,
            "testCaseId": _case(n),
            "title": "Pay by card",
            "module": "checkout",
            "status": "failed" if n in failing else "passed",
            **({"actual": "HTTP 500", "error": {"message": "boom"}} if n in failing else {}),
        }
        for n in cases
    ]


def test_the_scenario_page_shows_each_test_case_latest_result(api: Any, demo: Demo) -> None:
    """Through the API: 60 failures of one scenario in one report (two filing transactions,
    each carrying its failures' latest results), passes riding the executions' batches."""
    failing = set(range(0, 120, 2))
    _post(api, demo, "run-1", _results(range(120), failing))
    # a later run: some failing test cases pass, one passing test case fails
    _post(api, demo, "run-2", _results(range(0, 40), {7}))
    failing = (failing - set(range(0, 40))) | {7}

    item = bootstrap.container().repos.table.get(keys.scenario("DEMO", SCENARIO), True)
    assert item is not None and "testCases" not in item
    assert sorted(item["failingCases"]) == sorted(_case(n) for n in failing)

    got = api.get(f"/v1/projects/DEMO/scenarios/{SCENARIO}", headers=demo.auth("viewer"))
    body = got.json_body
    assert got.status_code == 200 and body["status"] == "failing"
    assert len(body["testCases"]) == 120 and len(body["testCaseResults"]) == 120
    by_case = {r["testCaseId"]: r["latest"] for r in body["testCaseResults"]}
    assert (by_case[_case(7)]["status"], by_case[_case(7)]["runId"]) == ("failed", "run-2")
    assert (by_case[_case(8)]["status"], by_case[_case(8)]["runId"]) == ("passed", "run-2")
    assert (by_case[_case(50)]["status"], by_case[_case(50)]["runId"]) == ("failed", "run-1")
    assert (by_case[_case(51)]["status"], by_case[_case(51)]["runId"]) == ("passed", "run-1")
    assert body["failingTestCases"] == sorted(_case(n) for n in failing)


def test_a_scenario_of_3000_test_cases_is_recorded_and_read_back(aws: dict[str, Any]) -> None:
    """Before issue #9 the scenario's item held every test case's latest result and id (~300
    bytes each with these ids): moto refused its touch at 1,360 of them (400 KB)."""
    assert len(_case(0)) >= 70
    cases = [_case(n) for n in range(3000)]
    statuses = {tc: "failed" if n % 100 == 0 else "passed" for n, tc in enumerate(cases)}
    _touch(T1, statuses, scenario_id=SCENARIO)
    _touch(T2, dict(list(statuses.items())[:1000]), scenario_id=SCENARIO)

    repos = bootstrap.container().repos
    item = repos.table.get(keys.scenario("P", SCENARIO), True)
    assert item is not None and len(json.dumps(item, default=list)) < 10_000
    seen = repos.scenarios.with_results("P", SCENARIO)
    assert seen is not None and len(seen.latest) == 3000 and seen.test_cases == sorted(cases)
    assert seen.latest[cases[0]]["at"] == T2 and seen.latest[cases[2999]]["at"] == T1
    assert seen.failing_test_cases == sorted(cases[::100])


def _touch(at: str, statuses: dict[str, str], scenario_id: str = "sc.late") -> Any:
    """A report's touch and, when it was not late, its executions (which carry the latest)."""
    repos = bootstrap.container().repos
    latest = {
        tc: {"status": s, "executionId": f"ex_{tc}_{at}", "runId": at, "at": at}
        for tc, s in statuses.items()
    }
    scenario = repos.scenarios.touch(
        "P",
        scenario_id,
        module="m",
        title="t",
        latest=latest,
        last_result=list(statuses.values())[-1],
        last_execution={"at": at},
        at=at,
    )
    executions = [
        Execution(
            execution_id=r["executionId"],
            project="P",
            run_id=at,
            scenario_id=scenario_id,
            test_case_id=tc,
            attempt=1,
            status=r["status"],
            at=at,
            latest=True if scenario.last_at == at else None,
        )
        for tc, r in latest.items()
    ]
    repos.executions.record(executions)
    return scenario


def test_a_late_report_overwrites_no_newer_result_of_a_test_case(aws: dict[str, Any]) -> None:
    scenarios = bootstrap.container().repos.scenarios
    _touch(T1, {"tc1": "passed", "tc2": "failed"})
    _touch(T3, {"tc1": "failed", "tc3": "passed"})
    late = _touch(T2, {"tc1": "passed", "tc2": "passed", "tc3": "failed", "tc4": "failed"})
    assert late.last_at == T3  # the scenario's last result stays the newest

    seen = scenarios.with_results("P", "sc.late")
    assert seen is not None
    assert {tc: (r["status"], r["at"]) for tc, r in seen.latest.items()} == {
        "tc1": ("failed", T3),  # newer than the late pass
        "tc2": ("passed", T2),  # older than the late pass
        "tc3": ("passed", T3),
        "tc4": ("failed", T2),  # new with the late report
    }
    assert seen.failing_test_cases == ["tc1", "tc4"]
    stored = scenarios.get("P", "sc.late", consistent=True)
    assert stored is not None and sorted(stored.failing_cases) == ["tc1", "tc4"]


def test_a_scenario_written_before_reads_both(aws: dict[str, Any]) -> None:
    """Results stored as `latest#` attributes are merged with the newer `LATEST#` items."""
    table = bootstrap.container().repos.table
    table.put(
        {
            **keys.scenario("P", "sc.late"),
            "project": "P",
            "scenarioId": "sc.late",
            "lastAt": T1,
            "lastResult": "failed",
            "testCases": {"tc1", "tc2"},
            "latest#tc1": {"status": "failed", "executionId": "e1", "runId": "r", "at": T1},
            "latest#tc2": {"status": "failed", "executionId": "e2", "runId": "r", "at": T1},
        }
    )
    _touch(T2, {"tc1": "passed"})
    seen = bootstrap.container().repos.scenarios.with_results("P", "sc.late")
    assert seen is not None and seen.test_cases == ["tc1", "tc2"]
    assert (seen.latest["tc1"]["status"], seen.latest["tc1"]["at"]) == ("passed", T2)
    assert seen.failing_test_cases == ["tc2"] and seen.result == "failed"
