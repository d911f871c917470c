"""Flaky detection's items: each test case's recent outcomes (a bounded list the change stream's
flaky reader rewrites, guarded by a version) and each scenario's quarantine. Flaky test cases
and quarantines are in a sparse index (gsi1 `FLAKY#{project}`): the flaky list is one Query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import Table, condition_failed, dump, load, strip_keys
from chalicelib.domain.conflicts import TransactionConflict


class FlakyStore:
    def __init__(self, table: Table) -> None:
        self._t = table

    def load(
        self, project: str, cases: Sequence[tuple[str, str]], scenarios: Sequence[str]
    ) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
        """Histories of (scenario, test case) and quarantines of scenarios: one BatchGetItem
        per 100 keys (consistent reads)."""
        wanted = [keys.flaky_case(project, s, tc) for s, tc in dict.fromkeys(cases)]
        wanted += [keys.quarantine(project, s) for s in dict.fromkeys(scenarios)]
        histories: dict[tuple[str, str], dict[str, Any]] = {}
        quarantines: dict[str, dict[str, Any]] = {}
        for item in self._t.batch_get(wanted) if wanted else []:
            data = strip_keys(item)
            if item["sk"] == "QUARANTINE":
                quarantines[str(data["scenarioId"])] = data
            else:
                histories[(str(data["scenarioId"]), str(data["testCaseId"]))] = data
        return histories, quarantines

    def save_history(
        self,
        project: str,
        scenario_id: str,
        test_case_id: str,
        fields: dict[str, Any],
        *,
        version: int | None,
        listed: bool,
    ) -> None:
        """Write the test case's history item if nobody wrote it since `version` was read
        (None: it did not exist); TransactionConflict if someone did."""
        item: dict[str, Any] = {
            **keys.flaky_case(project, scenario_id, test_case_id),
            **fields,
            "project": project,
            "scenarioId": scenario_id,
            "testCaseId": test_case_id,
            "version": (version or 0) + 1,
        }
        if listed:
            item["gsi1pk"] = keys.flaky_index(project)
            item["gsi1sk"] = f"{scenario_id}#{test_case_id}"
        try:
            if version is None:
                self._t.put(item, "attribute_not_exists(pk)")
            else:
                self._t.client.put_item(
                    TableName=self._t.name,
                    Item=dump(item),
                    ConditionExpression="#v = :v",
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
        except ClientError as exc:
            if condition_failed(exc):
                raise TransactionConflict() from exc
            raise

    def put_quarantine(
        self, project: str, scenario_id: str, quarantine: dict[str, Any], expires_at: int
    ) -> None:
        self._t.put(
            {
                **keys.quarantine(project, scenario_id),
                **quarantine,
                "project": project,
                "scenarioId": scenario_id,
                "expiresAt": expires_at,
                "gsi1pk": keys.flaky_index(project),
                "gsi1sk": f"{scenario_id}#",
            }
        )

    def delete_quarantine(self, project: str, scenario_id: str) -> dict[str, Any] | None:
        """Remove the quarantine; returns it as it was (None if there was none)."""
        out = self._t.client.delete_item(
            TableName=self._t.name,
            Key={k: {"S": v} for k, v in keys.quarantine(project, scenario_id).items()},
            ReturnValues="ALL_OLD",
        )
        old = out.get("Attributes")
        return strip_keys(load(old)) if old else None

    def listed(self, project: str) -> list[dict[str, Any]]:
        """The project's flaky test cases and quarantines (the sparse index), by scenario."""
        items = self._t.query_all(keys.flaky_index(project), index="gsi1")
        return [
            {**strip_keys(i), "kind": "quarantine" if i["sk"] == "QUARANTINE" else "case"}
            for i in items
        ]
