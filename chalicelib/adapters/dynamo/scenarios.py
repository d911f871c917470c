"""Scenarios: registered on first sight, each test case's latest result, the live ticket."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import (
    Table,
    cancel_codes,
    condition_failed,
    load,
    strip_keys,
    vals,
)
from chalicelib.domain.executions import Execution
from chalicelib.domain.scenarios import Scenario
from chalicelib.domain.statuses import ResultStatus

# Before issue #9 each test case's latest result was an attribute of the scenario's item
# (`latest#{testCaseId}`) and its ids a set (`testCases`): ~230 bytes a test case, so a scenario
# of ~1,700 test cases met DynamoDB's 400 KB item limit. Scenarios written so are still read
# (`with_results` merges them with the `LATEST#` items, the newer result winning).
LEGACY_LATEST = "latest#"
FAILING = "failingCases"


def scenario_of(item: dict[str, Any]) -> Scenario:
    data = strip_keys(item)
    legacy = LEGACY_LATEST
    latest = {k[len(legacy) :]: data.pop(k) for k in [k for k in data if k.startswith(legacy)]}
    scenario = Scenario.from_dict(data)
    scenario.latest = latest
    return scenario


def latest_item(execution: Execution) -> dict[str, Any]:
    """A test case's latest result in its scenario, from the execution that reported it."""
    e = execution
    return {
        **keys.scenario_latest(e.project, e.scenario_id, e.test_case_id),
        "testCaseId": e.test_case_id,
        **_result(e.status, e.execution_id, e.run_id, e.at),
    }


def _result(status: str, execution_id: str, run_id: str, at: str) -> dict[str, Any]:
    return {"status": status, "executionId": execution_id, "runId": run_id, "at": at}


class ScenarioRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def get(self, project: str, scenario_id: str, consistent: bool = False) -> Scenario | None:
        item = self._t.get(keys.scenario(project, scenario_id), consistent)
        return scenario_of(item) if item else None

    def with_results(self, project: str, scenario_id: str) -> Scenario | None:
        """The scenario with each test case's latest result: one Query of its partition (paged
        by DynamoDB's 1 MB), merged with results stored on the item before issue #9."""
        items = self._t.query_all(keys.scenario_partition(project, scenario_id))
        head = next((i for i in items if i.get("sk") == "SCENARIO"), None)
        if head is None:
            return None
        scenario = scenario_of(head)
        for item in items:
            if not str(item.get("sk", "")).startswith(keys.LATEST_PREFIX):
                continue
            tc = str(item["testCaseId"])
            held = scenario.latest.get(tc)
            if held is None or str(held.get("at", "")) <= str(item.get("at", "")):
                scenario.latest[tc] = _result(
                    item["status"], item["executionId"], item["runId"], item["at"]
                )
        scenario.test_cases = sorted({*scenario.test_cases, *scenario.latest})
        return scenario

    def touch(
        self,
        project: str,
        scenario_id: str,
        *,
        module: str,
        title: str,
        latest: dict[str, dict[str, Any]],
        last_result: str,
        last_execution: dict[str, Any],
        at: str,
    ) -> Scenario:
        """Register the scenario, its last result and its failing test cases, unless a later
        result is already recorded (then each test case's result is recorded here, if nothing
        newer is). Each test case's latest result (`LATEST#{tc}`) is stored with its execution
        (`Execution.latest`) when the touch was not late. Returns the scenario as it is."""
        failing = {tc for tc, r in latest.items() if r["status"] == ResultStatus.FAILED}
        sets, names, values = _touch_expression(
            project, scenario_id, module, title, last_result, last_execution, at
        )
        update = "SET " + ", ".join(sets)
        if failing:
            update += " ADD #fc :fc"
            names["#fc"] = FAILING
            values[":fc"] = failing
        try:
            item = self._t.update(
                keys.scenario(project, scenario_id),
                update,
                ConditionExpression="attribute_not_exists(#la) OR #la <= :at",
                ExpressionAttributeNames=names,
                values=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            current = load(exc.response.get("Item") or {}) or None
            return self._late(project, scenario_id, latest, current)
        passed = (set(item.get(FAILING) or ()) & set(latest)) - failing
        if passed:  # a failing test case passed: only then a second call
            item = self._passed(project, scenario_id, passed, at) or item
        return scenario_of(item)

    def _passed(
        self, project: str, scenario_id: str, passed: set[str], at: str
    ) -> dict[str, Any] | None:
        """Take test cases that passed from the failing ones, unless a later touch came (it
        holds its own test cases' results; a test case it did not report stays failing)."""
        return self._t.update_if(
            keys.scenario(project, scenario_id),
            "DELETE #fc :tc",
            ConditionExpression="#la = :at",
            ExpressionAttributeNames={"#fc": FAILING, "#la": "lastAt"},
            values={":tc": passed, ":at": at},
            ReturnValues="ALL_NEW",
        )

    def mark_flaky(self, project: str, scenario_id: str, test_case_id: str, flaky: bool) -> None:
        self._t.update_if(
            keys.scenario(project, scenario_id),
            ("ADD" if flaky else "DELETE") + " #m :tc",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#m": "mutedCases"},
            values={":tc": {test_case_id}},
        )

    def set_quarantine_until(self, project: str, scenario_id: str, until: str | None) -> bool:
        return (
            self._t.update_if(
                keys.scenario(project, scenario_id),
                "SET #q = :q" if until else "REMOVE #q",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#q": "quarantineUntil"},
                **({"values": {":q": until}} if until else {}),
            )
            is not None
        )

    def _late(
        self,
        project: str,
        scenario_id: str,
        latest: dict[str, dict[str, Any]],
        current: dict[str, Any] | None,
    ) -> Scenario:
        """A result older than the scenario's latest: record it for each test case that has
        nothing newer, its latest item and its place among the failing ones in one
        transaction (conditional on the latest item: a newer result stays)."""
        if current is None:
            found = self.get(project, scenario_id, consistent=True)
            return found or Scenario(project=project, scenario_id=scenario_id)
        for test_case, result in latest.items():
            held = current.get(LEGACY_LATEST + test_case) or {}
            if str(held.get("at", "")) >= result["at"]:
                continue
            self._late_one(project, scenario_id, test_case, result)
        found = self.get(project, scenario_id, consistent=True)
        return found or scenario_of(current)

    def _late_one(
        self, project: str, scenario_id: str, test_case: str, result: dict[str, Any]
    ) -> None:
        key = keys.scenario_latest(project, scenario_id, test_case)
        put = self._t.put_item({**key, "testCaseId": test_case, **result})
        put["Put"].update(
            ConditionExpression="attribute_not_exists(pk) OR #at <= :at",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues=vals({":at": result["at"]}),
        )
        failed = result["status"] == ResultStatus.FAILED
        mark = self._t.update_item(
            keys.scenario(project, scenario_id),
            ("ADD" if failed else "DELETE") + " #fc :tc",
            names={"#fc": FAILING},
            values={":tc": {test_case}},
        )
        try:
            self._t.transact([put, mark])
        except ClientError as exc:
            if cancel_codes(exc)[:1] != ["ConditionalCheckFailed"]:
                raise  # else a later result is there already


def _touch_expression(
    project: str,
    scenario_id: str,
    module: str,
    title: str,
    last_result: str,
    last_execution: dict[str, Any],
    at: str,
) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """SET clauses, names and values of a scenario's touch: its latest result and what is set
    only once (module, title, first seen)."""
    names = {
        "#lr": "lastResult",
        "#le": "lastExecution",
        "#la": "lastAt",
        "#sid": "scenarioId",
        "#p": "project",
        "#m": "module",
        "#t": "title",
        "#fs": "firstSeenAt",
    }
    values: dict[str, Any] = {
        ":r": last_result,
        ":e": last_execution,
        ":at": at,
        ":sid": scenario_id,
        ":p": project,
        ":m": module,
        ":t": title,
    }
    sets = [
        "#lr = :r, #le = :e, #la = :at, #sid = :sid, #p = :p, #m = if_not_exists(#m, :m)",
        "#t = if_not_exists(#t, :t), #fs = if_not_exists(#fs, :at)",
    ]
    return sets, names, values
