"""Scenarios: registered on first sight, each test case's latest result, the live ticket."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import Table, condition_failed, load, strip_keys
from chalicelib.domain.scenarios import Scenario

# Each test case's latest result is its own attribute (`latest#{testCaseId}`), so one
# UpdateItem sets it whether or not the scenario existed (a map would need a second call).
LATEST = "latest#"
# 40 a call keeps an UpdateExpression well inside DynamoDB's 4 KB expression limit. Not more:
# moto parses SET clauses into a left-deep tree that it deep-copies recursively, so its time
# grows faster than the clauses (150 a call: 0.7 s an UpdateItem, and 300 overflow Python's
# recursion limit), and the local stack and the tests run on moto.
LATEST_PER_CALL = 40


def scenario_of(item: dict[str, Any]) -> Scenario:
    data = strip_keys(item)
    latest = {k[len(LATEST) :]: data.pop(k) for k in [k for k in data if k.startswith(LATEST)]}
    scenario = Scenario.from_dict(data)
    scenario.latest = latest
    return scenario


class ScenarioRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def get(self, project: str, scenario_id: str, consistent: bool = False) -> Scenario | None:
        item = self._t.get(keys.scenario(project, scenario_id), consistent)
        return scenario_of(item) if item else None

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
        """Register the scenario and its test cases and record their latest results, unless a
        later result is already recorded. Returns the scenario (with its live ticket, if any)."""
        first = dict(list(latest.items())[:LATEST_PER_CALL])
        rest = list(latest.items())[LATEST_PER_CALL:]
        sets, names, values = _touch_expression(
            project, scenario_id, module, title, first, last_result, last_execution, at
        )
        values[":tc"] = set(latest)
        try:
            item = self._t.update(
                keys.scenario(project, scenario_id),
                "SET " + ", ".join(sets) + " ADD #tc :tc",
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
        for start in range(0, len(rest), LATEST_PER_CALL):
            last = start + LATEST_PER_CALL >= len(rest)
            found = self._set_latest(
                project, scenario_id, dict(rest[start : start + LATEST_PER_CALL]), whole=last
            )
            item = found if last else item
        return scenario_of(item)

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

    def _set_latest(
        self,
        project: str,
        scenario_id: str,
        latest: dict[str, dict[str, Any]],
        *,
        whole: bool,
    ) -> dict[str, Any]:
        """Set test cases' latest results; the item as it is now if `whole` (the last call of a
        touch: the earlier ones return nothing, their item is not read back)."""
        names = {f"#l{i}": LATEST + tc for i, tc in enumerate(latest)}
        values = {f":l{i}": r for i, r in enumerate(latest.values())}
        return self._t.update(
            keys.scenario(project, scenario_id),
            "SET " + ", ".join(f"#l{i} = :l{i}" for i in range(len(latest))),
            ExpressionAttributeNames=names,
            values=values,
            ReturnValues="ALL_NEW" if whole else "NONE",
        )

    def _late(
        self,
        project: str,
        scenario_id: str,
        latest: dict[str, dict[str, Any]],
        current: dict[str, Any] | None,
    ) -> Scenario:
        """A result older than the scenario's latest: register its test cases, and record it
        for each test case that has nothing newer."""
        if current is None:
            found = self.get(project, scenario_id, consistent=True)
            return found or Scenario(project=project, scenario_id=scenario_id)
        for test_case, result in latest.items():
            held = current.get(LATEST + test_case) or {}
            if (
                test_case in current.get("testCases", [])
                and str(held.get("at", "")) >= result["at"]
            ):
                continue
            written = self._t.update_if(
                keys.scenario(project, scenario_id),
                "SET #l = :l ADD #tc :tc",
                ConditionExpression="attribute_not_exists(#l) OR #l.#at <= :at",
                ExpressionAttributeNames={
                    "#l": LATEST + test_case,
                    "#at": "at",
                    "#tc": "testCases",
                },
                values={":l": result, ":at": result["at"], ":tc": {test_case}},
                ReturnValues="ALL_NEW",
            )
            if written is not None:  # else a later result is there already
                current = written
        return scenario_of(current)


def _touch_expression(
    project: str,
    scenario_id: str,
    module: str,
    title: str,
    latest: dict[str, dict[str, Any]],
    last_result: str,
    last_execution: dict[str, Any],
    at: str,
) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """SET clauses, names and values of a scenario's touch: its latest result, its test cases'
    latest results, and what is set only once (module, title, first seen)."""
    names = {
        "#lr": "lastResult",
        "#le": "lastExecution",
        "#la": "lastAt",
        "#sid": "scenarioId",
        "#p": "project",
        "#m": "module",
        "#t": "title",
        "#fs": "firstSeenAt",
        "#tc": "testCases",
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
    for i, (test_case, result) in enumerate(latest.items()):
        names[f"#l{i}"] = LATEST + test_case
        values[f":l{i}"] = result
        sets.append(f"#l{i} = :l{i}")
    return sets, names, values
