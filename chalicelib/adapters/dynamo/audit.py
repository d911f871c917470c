"""The audit log in the table: one partition per project, entries sorted by time
(`AUDIT#{p}` / `{at}#{writeId}`), expiring by TTL (`expiresAt`). Written only by the change
stream's audit reader; read by the audit endpoint (a Query bounded by the period)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.metrics import _decimals
from chalicelib.adapters.dynamo.table import Table, cursor_checked, load, strip_keys, vals


class AuditLog:
    def __init__(self, table: Table) -> None:
        self._t = table

    def append(self, entries: Sequence[dict[str, Any]]) -> None:
        """Put entries; an entry's key comes from its stream record, so a redelivery writes
        the same entry again rather than a second one."""
        items = {}
        for entry in entries:
            key = keys.audit_entry(entry["project"], entry["at"], entry["auditId"])
            items[(key["pk"], key["sk"])] = {**key, **_decimals(entry)}
        self._t.batch_put(list(items.values()))

    def read(
        self,
        project: str,
        start: str,
        end: str,
        actor: str | None,
        limit: int,
        cursor: dict[str, Any] | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Entries with `at` in [start, end], oldest first; `actor` matches the actor's id
        (key id, lead, `jira`, `system`) or user. Filtered by actor, the read goes on past
        entries of others (up to `FILTER_BUDGET` entries evaluated per call) to fill the page,
        so a page is short only where the log ends or the budget runs out: follow the cursor."""
        kwargs: dict[str, Any] = {
            "TableName": self._t.name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "Limit": max(limit, FILTER_PAGE) if actor else limit,
        }
        values: dict[str, Any] = {":pk": keys.audit_log(project), ":lo": start, ":hi": end + "~"}
        if actor:
            kwargs["FilterExpression"] = "actorId = :a OR #actor.#user = :a"
            kwargs["ExpressionAttributeNames"] = {"#actor": "actor", "#user": "user"}
            values[":a"] = actor
        kwargs["ExpressionAttributeValues"] = vals(values)
        found: list[dict[str, Any]] = []
        evaluated, last = 0, cursor
        while True:
            if last:
                kwargs["ExclusiveStartKey"] = last
            out = cursor_checked(cursor, lambda: self._t.client.query(**kwargs))
            found += [strip_keys(load(i)) for i in out.get("Items", [])]
            evaluated += int(out.get("ScannedCount", 0))
            last = out.get("LastEvaluatedKey")
            if not actor or not last or len(found) >= limit or evaluated >= FILTER_BUDGET:
                break
        if len(found) > limit:  # the page ends at its last entry: the next starts after it
            found = found[:limit]
            end_at = found[-1]
            last = vals(keys.audit_entry(project, end_at["at"], end_at["auditId"]))
        return found, last


# A read filtered by actor evaluates entries this many at a time, and at most the budget per
# call (a page of someone who rarely writes in a busy log may come back short, with a cursor).
FILTER_PAGE = 500
FILTER_BUDGET = 5000
