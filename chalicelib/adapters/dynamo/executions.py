"""Executions and runs: recorded in batches (passes, flaky failures) or inside a filing
transaction (failures); read back by key or as a ticket's occurrences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.scenarios import latest_item
from chalicelib.adapters.dynamo.table import Table, set_clause, strip_keys
from chalicelib.domain.executions import Execution


def execution_item(execution: Execution) -> dict[str, Any]:
    item = {
        **keys.execution(
            execution.project, execution.run_id, execution.test_case_id, execution.attempt
        ),
        **execution.stored(),
    }
    if execution.ticket_id:
        item.update(
            keys.occurrence_index(execution.ticket_id, execution.at, execution.execution_id)
        )
    return item


def run_item(run: dict[str, Any]) -> dict[str, Any]:
    """A run (with its `project` and `id`) as stored beside its executions."""
    return {**keys.run(run["project"], run["id"]), **run}


class ExecutionRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def record(self, executions: Sequence[Execution], runs: Sequence[dict[str, Any]] = ()) -> None:
        """Store executions that open nothing (and their runs) in batches."""
        items = [execution_item(e) for e in executions]
        latest = [latest_item(e) for e in executions if e.latest]  # ride along (issue #9)
        self._t.batch_put([*items, *latest, *(run_item(r) for r in runs)])

    def get_many(
        self, project: str, run_id: str, cases: Sequence[tuple[str, int]]
    ) -> list[Execution]:
        """Executions of a run by (test case, attempt), read consistently."""
        found = self._t.batch_get([keys.execution(project, run_id, tc, n) for tc, n in cases])
        return [Execution.from_dict(strip_keys(i)) for i in found]

    def occurrences(self, ticket_id: str) -> list[Execution]:
        """Every occurrence, oldest first. For jobs that need them all (Jira, re-identifying);
        the API pages with `occurrences_page`."""
        items = self._t.query_all(keys.ticket_partition(ticket_id), index="gsi1")
        return [Execution.from_dict(strip_keys(i)) for i in items]

    def occurrences_page(
        self, ticket_id: str, *, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[Execution], dict[str, Any] | None]:
        """One page of a ticket's occurrences, newest first: one Query of at most `limit`."""
        items, next_key = self._t.query(
            keys.ticket_partition(ticket_id),
            index="gsi1",
            limit=limit,
            cursor=cursor,
            forward=False,
        )
        return [Execution.from_dict(strip_keys(i)) for i in items], next_key

    def of_run(self, project: str, run_id: str) -> list[Execution]:
        """A run's executions: one Query on its partition."""
        items = self._t.query_all(keys.run(project, run_id)["pk"], sk_prefix=keys.EXECUTION_PREFIX)
        return [Execution.from_dict(strip_keys(i)) for i in items]

    def run(self, project: str, run_id: str) -> dict[str, Any] | None:
        item = self._t.get(keys.run(project, run_id))
        return strip_keys(item) if item else None

    def of_case(self, project: str, run_id: str, test_case_id: str) -> list[Execution]:
        """One test case's executions in a run: a Query of its keys' prefix, attempts in order
        (a test case whose id extends this one's past a `#` shares the prefix: left out)."""
        prefix = keys.execution(project, run_id, test_case_id, 0)["sk"][:-4]
        items = self._t.query_all(keys.run(project, run_id)["pk"], sk_prefix=prefix)
        found = [Execution.from_dict(strip_keys(i)) for i in items]
        return [e for e in found if e.test_case_id == test_case_id]

    def reidentify(self, execution: Execution, fields: dict[str, Any]) -> None:
        """Set identity fields of a recorded execution; its key (and id) stay as they were."""
        clause, names, values = set_clause(fields)
        key = keys.execution(
            execution.project, execution.run_id, execution.test_case_id, execution.attempt
        )
        self._t.update(
            key,
            "SET " + clause,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            values=values,
        )
