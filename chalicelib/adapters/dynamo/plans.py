"""Test plans: a head per plan (its current revision and lifecycle) and an item per revision,
written together; every write is conditional on the head's `seq` as read (no lost update)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.metrics import _decimals
from chalicelib.adapters.dynamo.table import Table, cancel_codes, condition_failed, strip_keys, vals
from chalicelib.domain.plans import TestPlan
from chalicelib.errors import Conflict


def _head_item(plan: TestPlan) -> dict[str, Any]:
    data = {k: _decimals(v) for k, v in plan.to_dict().items() if v is not None}
    return {**keys.plan(plan.project, plan.plan_id), **data}


def _revision_item(plan: TestPlan) -> dict[str, Any]:
    data = {k: _decimals(v) for k, v in plan.revision_item().items() if v is not None}
    return {**keys.plan_revision(plan.project, plan.plan_id, plan.revision), **data}


def _plan(item: dict[str, Any]) -> TestPlan:
    return TestPlan.from_dict(strip_keys(item))


class PlanRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def get(self, project: str, plan_id: str) -> TestPlan | None:
        item = self._t.get(keys.plan(project, plan_id), consistent=True)
        return _plan(item) if item else None

    def save(self, plan: TestPlan, expected_seq: int | None) -> TestPlan:
        """Write the head (and its revision) if the head is still at `expected_seq` (None: a
        new plan); 409 if another write came first. Returns the plan as stored."""
        stored = TestPlan.from_dict({**plan.to_dict(), "seq": (expected_seq or 0) + 1})
        head = self._t.put_item(_head_item(stored), "attribute_not_exists(pk)")
        if expected_seq is not None:
            head = self._t.put_item(_head_item(stored), "#seq = :seq")
            head["Put"]["ExpressionAttributeNames"] = {"#seq": "seq"}
            head["Put"]["ExpressionAttributeValues"] = {":seq": {"N": str(expected_seq)}}
        try:
            self._t.transact([head, self._t.put_item(_revision_item(stored))])
        except ClientError as exc:
            if "ConditionalCheckFailed" in cancel_codes(exc):
                what = "exists" if expected_seq is None else "changed meanwhile; read it again"
                raise Conflict(f"test plan {plan.plan_id} {what}") from exc
            raise
        return stored

    def delete(self, plan: TestPlan) -> None:
        """A plan never approved goes with its revisions (the head last, conditionally)."""
        for item in self._t.query_all(
            keys.plan_revisions_partition(plan.project, plan.plan_id),
            sk_prefix=keys.REVISION_PREFIX,
        ):
            self._t.delete({"pk": item["pk"], "sk": item["sk"]})
        try:
            self._t.client.delete_item(
                TableName=self._t.name,
                Key=vals(keys.plan(plan.project, plan.plan_id)),
                ConditionExpression="#seq = :seq",
                ExpressionAttributeNames={"#seq": "seq"},
                ExpressionAttributeValues={":seq": {"N": str(plan.seq)}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise Conflict(f"test plan {plan.plan_id} changed meanwhile") from exc
            raise

    def revisions(self, project: str, plan_id: str) -> list[dict[str, Any]]:
        items = self._t.query_all(
            keys.plan_revisions_partition(project, plan_id), sk_prefix=keys.REVISION_PREFIX
        )
        return [strip_keys(i) for i in items]

    def revision(self, project: str, plan_id: str, revision: int) -> dict[str, Any] | None:
        item = self._t.get(keys.plan_revision(project, plan_id, revision), consistent=True)
        return strip_keys(item) if item else None

    def page(
        self, project: str, *, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[TestPlan], dict[str, Any] | None]:
        items, next_key = self._t.query(
            keys.plans_partition(project), sk_prefix=keys.PLAN_PREFIX, limit=limit, cursor=cursor
        )
        return [_plan(i) for i in items], next_key
