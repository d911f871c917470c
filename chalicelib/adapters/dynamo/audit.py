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
        (key id, lead, `jira`, `system`) or user. A page may hold fewer than `limit` entries
        when the actor filter drops some: follow the cursor."""
        kwargs: dict[str, Any] = {
            "TableName": self._t.name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "Limit": limit,
        }
        values: dict[str, Any] = {":pk": keys.audit_log(project), ":lo": start, ":hi": end + "~"}
        if actor:
            kwargs["FilterExpression"] = "actorId = :a OR #actor.#user = :a"
            kwargs["ExpressionAttributeNames"] = {"#actor": "actor", "#user": "user"}
            values[":a"] = actor
        kwargs["ExpressionAttributeValues"] = vals(values)
        if cursor:
            kwargs["ExclusiveStartKey"] = cursor
        out = cursor_checked(cursor, lambda: self._t.client.query(**kwargs))
        return [strip_keys(load(i)) for i in out.get("Items", [])], out.get("LastEvaluatedKey")
