"""What the pages read besides tickets and metrics: each scenario's recent results (the strip)
and the project's recent activity, kept from the change stream; reports and report schedules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import Table, strip_keys

KEEP_SECONDS = 90 * 24 * 3600


class PageFeed:
    def __init__(self, table: Table) -> None:
        self._t = table

    def add_results(self, results: Sequence[dict[str, Any]], expires_at: int) -> None:
        """Put is idempotent: a redelivered event writes the same item again."""
        self._t.batch_put(
            [
                {
                    "pk": keys.result_strip(r["project"], r["scenarioId"]),
                    "sk": f"{r['at']}#{r['executionId']}",
                    "expiresAt": expires_at,
                    **r,
                }
                for r in results
            ]
        )

    def recent_results(self, project: str, scenario_id: str, limit: int) -> list[dict[str, Any]]:
        items, _ = self._t.query(
            keys.result_strip(project, scenario_id), limit=limit, forward=False
        )
        return [_plain(i) for i in items]

    def add_activity(self, entries: Sequence[dict[str, Any]], expires_at: int) -> None:
        self._t.batch_put(
            [
                {
                    "pk": keys.activity(e["project"], e["at"][:10]),
                    "sk": f"{e['at']}#{e['id']}",
                    "expiresAt": expires_at,
                    **e,
                }
                for e in entries
            ]
        )

    def activity(self, project: str, today: str, limit: int, days: int) -> list[dict[str, Any]]:
        """The newest entries of the last `days` days: a Query per day until `limit`."""
        out: list[dict[str, Any]] = []
        day = date.fromisoformat(today)
        for back in range(days):
            wanted = limit - len(out)
            if wanted <= 0:
                break
            pk = keys.activity(project, (day - timedelta(days=back)).isoformat())
            items, _ = self._t.query(pk, limit=wanted, forward=False)
            out.extend(_plain(i) for i in items)
        return out

    def put_look_alike(self, entry: dict[str, Any]) -> None:
        """A live ticket in its error type's bucket (a put again is the same item)."""
        self._t.put({**look_alike_key(entry), **entry})

    def drop_look_alike(self, entry: dict[str, Any]) -> None:
        self._t.delete(look_alike_key(entry))

    def look_alikes(self, project: str, error_type: str, limit: int) -> list[dict[str, Any]]:
        """The newest live tickets of the bucket: one Query."""
        items, _ = self._t.query(
            keys.look_alike_bucket(project, error_type), limit=limit, forward=False
        )
        return [_plain(i) for i in items]


def look_alike_key(entry: dict[str, Any]) -> dict[str, str]:
    return {
        "pk": keys.look_alike_bucket(entry["project"], entry.get("errorType") or ""),
        "sk": f"{entry['createdAt']}#{entry['id']}",
    }


class ReportStore:
    def __init__(self, table: Table) -> None:
        self._t = table

    def put(self, report: dict[str, Any]) -> None:
        self._t.put({**keys.report(report["project"], report["reportId"]), **report})

    def get(self, project: str, report_id: str) -> dict[str, Any] | None:
        item = self._t.get(keys.report(project, report_id), True)
        return strip_keys(item) if item else None

    def put_schedule(self, schedule: dict[str, Any]) -> None:
        p, name = schedule["project"], schedule["name"]
        self._t.put(
            {
                **keys.report_schedule(p, name),
                "gsi1pk": keys.REPORT_SCHEDULES_INDEX,
                "gsi1sk": f"{p}#{name}",
                **schedule,
            }
        )

    def schedules(self) -> list[dict[str, Any]]:
        """Every project's schedules: one Query on the index (there are few)."""
        return [strip_keys(i) for i in self._t.query_all(keys.REPORT_SCHEDULES_INDEX, index="gsi1")]

    def schedule_sent(self, project: str, name: str, at: str) -> None:
        self._t.update(
            keys.report_schedule(project, name),
            "SET #s = :s",
            ExpressionAttributeNames={"#s": "lastSentAt"},
            values={":s": at},
        )


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    data = strip_keys(item)
    data.pop("expiresAt", None)
    return data
