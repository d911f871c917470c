"""The audit log: the change stream's audit reader stores an entry per audited write (who, what,
before/after, request id; `domain.audit`) and stages it for the `audit` export; admins read it
by period and actor. Nothing edits or deletes an entry but its retention (TTL)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.domain import audit as a
from chalicelib.domain import exports as x
from chalicelib.domain.changes import ChangeEvent
from chalicelib.domain.metrics import day_of
from chalicelib.domain.ports import Cursors, ExportStore
from chalicelib.domain.ports.audit import AuditLog
from chalicelib.errors import ValidationFailed, field_problem

DAY = 86_400


class AuditReader:
    """The change stream's audit reader (a `ChangeReader`): written events become entries and
    rows of the `audit` export. Idempotent: entries and rows are keyed by the stream record."""

    name = "audit"

    def __init__(
        self,
        log: AuditLog,
        exports: ExportStore,
        retention_days: int,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._log = log
        self._exports = exports
        self._retention = retention_days * DAY
        self._now = now

    def apply(self, events: Sequence[ChangeEvent]) -> None:
        written = [e for e in events if e.kind == a.WRITTEN]
        if not written:
            return
        expires = int(self._now()) + self._retention
        entries = [a.entry(e, expires) for e in written]
        self._log.append(entries)
        by_project: dict[str, list[x.Staged]] = {}
        for entry in entries:
            staged = x.Staged("audit", day_of(entry["at"]), entry["auditId"], a.export_row(entry))
            by_project.setdefault(entry["project"], []).append(staged)
        for project, rows in by_project.items():
            self._exports.stage(project, rows, {("audit", s.day) for s in rows})


class AuditService:
    def __init__(self, log: AuditLog, cursors: Cursors) -> None:
        self._log = log
        self._cursors = cursors

    def read(
        self,
        project: str,
        start: str | None,
        end: str | None,
        actor: str | None,
        limit: int,
        cursor: str | None,
    ) -> dict[str, Any]:
        """Who did what between `from` and `to` (ISO dates or date-times; default: all)."""
        low = _bound(start, "from") or "0000"
        high = _bound(end, "to") or "9999"
        if high < low:
            raise ValidationFailed("to is before from", [field_problem("to", "is before from")])
        items, last = self._log.read(
            project, low, high, actor or None, limit, self._cursors.decode(cursor)
        )
        return {"items": [a.public(i) for i in items], "next": self._cursors.encode(last)}


def _bound(value: str | None, field: str) -> str | None:
    if not value:
        return None
    from chalicelib.domain.environments import instant, iso

    if len(value) == 10:  # a day: from its start, or to its end
        day = value + ("T00:00:00Z" if field == "from" else "T23:59:59.999Z")
        instant(day, field)
        return day
    moment = instant(value, field)
    return iso(moment).replace("Z", ".000Z" if field == "from" else ".999Z")
