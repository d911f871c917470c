"""The exports' bookkeeping in the table (`keys`): rows the change stream stages, the day
partitions waiting to be written, the day objects written, and export runs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.metrics import _decimals
from chalicelib.adapters.dynamo.table import Table, condition_failed, strip_keys
from chalicelib.domain.exports import Staged


class ExportStore:
    def __init__(self, table: Table) -> None:
        self._t = table

    def stage(self, project: str, rows: Sequence[Staged], dirty: set[tuple[str, str]]) -> None:
        """Stage rows (a redelivery puts the same items again) and mark their days dirty with a
        fresh token (so a run that read the old token does not clear the new change)."""
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for s in rows:
            key = keys.export_row(project, s.dataset, s.day, s.key)
            items[(key["pk"], key["sk"])] = {**key, "row": _decimals(s.row)}
        token = os.urandom(8).hex()
        for dataset, day in sorted(dirty):
            key = keys.export_dirty(project, dataset, day)
            items[(key["pk"], key["sk"])] = {**key, "token": token}
        self._t.batch_put(list(items.values()))

    def dirty(self, project: str) -> list[tuple[str, str, str]]:
        """(dataset, day, token) of every day partition waiting to be written."""
        out = []
        for item in self._t.query_all(keys.export_dirty_partition(project)):
            dataset, day = item["sk"].split("#", 1)
            out.append((dataset, day, str(item["token"])))
        return out

    def mark_dirty(self, project: str, dataset: str, day: str) -> None:
        self._t.put({**keys.export_dirty(project, dataset, day), "token": os.urandom(8).hex()})

    def clear(self, project: str, dataset: str, day: str, token: str) -> bool:
        """Forget a dirty mark, unless it changed since it was read (False then)."""
        try:
            self._t.client.delete_item(
                TableName=self._t.name,
                Key={k: {"S": v} for k, v in keys.export_dirty(project, dataset, day).items()},
                ConditionExpression="#t = :t",
                ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={":t": {"S": token}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def rows(self, project: str, dataset: str, day: str) -> list[dict[str, Any]]:
        items = self._t.query_all(keys.export_rows(project, dataset, day))
        return [dict(i["row"]) for i in items]

    def written(self, project: str, dataset: str) -> dict[str, str]:
        """day -> object key of every day object written for the dataset."""
        items = self._t.query_all(keys.export_parts_partition(project), sk_prefix=f"{dataset}#")
        return {i["sk"].split("#", 1)[1]: str(i["key"]) for i in items}

    def record_written(self, project: str, dataset: str, day: str, key: str) -> None:
        self._t.put({**keys.export_part(project, dataset, day), "key": key})

    def put_job(self, project: str, export_id: str, job: dict[str, Any]) -> None:
        self._t.put({**keys.export_job(project, export_id), **_decimals(job)})

    def get_job(self, project: str, export_id: str) -> dict[str, Any] | None:
        item = self._t.get(keys.export_job(project, export_id), consistent=True)
        return strip_keys(item) if item else None
