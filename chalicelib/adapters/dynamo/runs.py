"""Planned runs: the run item (beside the run's executions, under its own sort key: reports
rewrite the `RUN` item) and its progress buckets. A bucket moves with one conditional UpdateItem:
its cases' results (SET, conditional on each case's result as read) and its counters (ADD for the
run's, arithmetic SET for the assignees') in the same write."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.retrying import transact_retrying
from chalicelib.adapters.dynamo.table import (
    Table,
    TransactItem,
    cancel_codes,
    load,
    strip_keys,
    vals,
)
from chalicelib.domain.runs import OPEN_RUNS, Bucket, Recorded, TestRun, deltas, zero
from chalicelib.domain.statuses import RunStatus
from chalicelib.errors import Conflict, NotFound

PROJECTED_CASES = 40  # up to this many cases a bucket read asks for just those


def _run_item(run: TestRun) -> dict[str, Any]:
    data = {k: v for k, v in run.to_dict().items() if v is not None}
    index = keys.test_run_index(run.project, run.status, str(run.created_at), run.run_id)
    return {**keys.test_run(run.project, run.run_id), **index, **data}


def _bucket_item(project: str, run_id: str, bucket: Bucket) -> dict[str, Any]:
    return {
        **keys.run_bucket(project, run_id, bucket.index),
        "index": bucket.index,
        "cases": bucket.cases,
        **bucket.counts,
        "executed": bucket.executed(),
        "byAssignee": bucket.by_assignee,
    }


def _bucket(item: dict[str, Any]) -> Bucket:
    counts = zero()
    counts.update({k: int(item.get(k, 0)) for k in counts})
    return Bucket(int(item["index"]), item.get("cases") or {}, counts, item.get("byAssignee") or {})


def _bucket_update(
    bucket: Bucket, changes: Sequence[Recorded]
) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    """One UpdateItem: each case's new result (conditional on its result as read), the run's
    counters (ADD) and the assignees' (arithmetic SET on the nested counters)."""
    names = {"#c": "cases", "#ba": "byAssignee", "#st": "status", "#ex": "executionId"}
    values: dict[str, Any] = {}
    sets: list[str] = []
    conditions: list[str] = []
    for i, r in enumerate(changes):
        old = bucket.cases[r.test_case_id]
        names[f"#t{i}"] = r.test_case_id
        kept = {"assignee": old["assignee"]} if "assignee" in old else {}
        values[f":e{i}"] = {**kept, **r.entry()}
        sets.append(f"#c.#t{i} = :e{i}")
        if "status" in old:
            values[f":os{i}"], values[f":ox{i}"] = old["status"], old.get("executionId", "")
            conditions.append(f"#c.#t{i}.#st = :os{i} AND #c.#t{i}.#ex = :ox{i}")
        else:
            conditions.append(f"attribute_exists(#c.#t{i}) AND attribute_not_exists(#c.#t{i}.#st)")
    run, per = deltas(bucket, changes)
    adds = []
    first = sum(1 for r in changes if "status" not in bucket.cases[r.test_case_id])
    if first:  # cases given their first result: the bucket's `executed`
        names["#executed"], values[":first"] = "executed", first
        adds.append("#executed :first")
    for status, d in run.items():
        names[f"#{status}"] = status
        values[f":d{status}"] = d
        adds.append(f"#{status} :d{status}")
    for w, (who, counts) in enumerate(per.items()):
        names[f"#w{w}"] = who
        for status, d in counts.items():
            names[f"#{status}"] = status
            values[f":w{w}{status}"] = d
            path = f"#ba.#w{w}.#{status}"
            sets.append(f"{path} = {path} + :w{w}{status}")
    update = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
    condition = " AND ".join(f"({c})" for c in conditions)
    used = set(re.findall(r"#\w+", update + " " + condition))  # DynamoDB refuses unused names
    return update, condition, {k: v for k, v in names.items() if k in used}, values


class RunRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def create(self, run: TestRun, buckets: Sequence[Bucket]) -> None:
        """The run (409 if its id is taken) and its id among the project's open runs, then
        its buckets."""
        try:
            transact_retrying(
                self._t,
                [
                    self._t.put_item(_run_item(run), "attribute_not_exists(pk)"),
                    self._open_runs(run, "ADD"),
                ],
            )
        except ClientError as exc:
            codes = cancel_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise Conflict(f"run {run.run_id} exists") from exc
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise NotFound(f"project {run.project} does not exist") from exc
            raise
        self._t.batch_put([_bucket_item(run.project, run.run_id, b) for b in buckets])

    def get(self, project: str, run_id: str) -> TestRun | None:
        item = self._t.get(keys.test_run(project, run_id), consistent=True)
        return TestRun.from_dict(strip_keys(item)) if item else None

    def buckets(self, project: str, run_id: str) -> list[Bucket]:
        """Every bucket of the run: one Query of its PROG# items."""
        items = self._t.query_all(
            keys.test_run(project, run_id)["pk"], sk_prefix=keys.RUN_BUCKET_PREFIX
        )
        return [_bucket(i) for i in items]

    def buckets_at(
        self, project: str, run_id: str, wanted: Mapping[int, Sequence[str]]
    ) -> dict[int, Bucket]:
        """Buckets read consistently, each with only the wanted cases (and its total)."""
        out: dict[int, Bucket] = {}
        for index, cases in wanted.items():
            kwargs: dict[str, Any] = {}
            if len(cases) <= PROJECTED_CASES:
                names = {"#i": "index", "#n": "total", "#c": "cases"}
                names.update({f"#t{i}": tc for i, tc in enumerate(cases)})
                paths = ", ".join(f"#c.#t{i}" for i in range(len(cases)))
                kwargs = {
                    "ProjectionExpression": "#i, #n" + (", " + paths if paths else ""),
                    "ExpressionAttributeNames": names,
                }
            found = self._t.client.get_item(
                TableName=self._t.name,
                Key=vals(keys.run_bucket(project, run_id, index)),
                ConsistentRead=True,
                **kwargs,
            )
            if "Item" in found:
                out[index] = _bucket(load(found["Item"]))
        return out

    def apply(
        self, project: str, run_id: str, bucket: Bucket, changes: Sequence[Recorded]
    ) -> int | None:
        """Replace the cases' results and move the counters, if every case's result is still
        the one in `bucket` (as read); None when one changed meanwhile (read and try again).
        Returns how many of the bucket's cases have a result now when this write gave one its
        first (0 when it gave none)."""
        update, condition, names, values = _bucket_update(bucket, changes)
        item = self._t.update_if(
            keys.run_bucket(project, run_id, bucket.index),
            update,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            values=values,
            ReturnValues="UPDATED_NEW",
        )
        if item is None:
            return None
        return int(item.get("executed", 0))

    def bucket_done(self, project: str, run_id: str) -> int:
        """One more bucket has a result for every case; returns how many have."""
        item = self._t.update(
            keys.test_run(project, run_id),
            "ADD bucketsDone :one",
            values={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(item.get("bucketsDone", 0))

    def close(self, run: TestRun) -> bool:
        """Store the closed run, if it is still open, and drop it from the project's open runs;
        False if it was closed meanwhile."""
        fields = {k: v for k, v in run.to_dict().items() if k in _CLOSING and v is not None}
        index = keys.test_run_index(run.project, run.status, str(run.created_at), run.run_id)
        fields.update(index)
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values: dict[str, Any] = {f":f{i}": v for i, v in enumerate(fields.values())}
        values[":open"] = RunStatus.OPEN.value
        clause = ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        try:
            transact_retrying(
                self._t,
                [
                    self._t.update_item(
                        keys.test_run(run.project, run.run_id),
                        "SET " + clause,
                        condition="#status = :open",
                        names={**names, "#status": "status"},
                        values=values,
                    ),
                    self._open_runs(run, "DELETE"),
                ],
            )
        except ClientError as exc:
            if cancel_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    def _open_runs(self, run: TestRun, action: str) -> TransactItem:
        """The project's open runs, with the run added (ADD) or taken out (DELETE)."""
        return self._t.update_item(
            keys.project(run.project),
            f"{action} #o :id",
            condition="attribute_exists(pk)",
            names={"#o": OPEN_RUNS},
            values={":id": {run.run_id}},
        )

    def page(
        self, project: str, status: str | None, *, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[TestRun], dict[str, Any] | None]:
        """Runs newest first within a status (`status=`), or every status in turn."""
        items, next_key = self._t.query(
            keys.test_runs_index(project),
            index="gsi1",
            sk_prefix=f"{status}#" if status else None,
            limit=limit,
            cursor=cursor,
            forward=False,
        )
        return [TestRun.from_dict(strip_keys(i)) for i in items], next_key


_CLOSING = ("status", "closedAt", "closedBy", "closeReason")
