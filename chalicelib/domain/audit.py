"""The audit log: who did what. One entry per audited write, made from the change stream's
record of it (the item before and after) and the request context the write carried (its
`auditActor` and `auditRequestId` stamps: `audit_context`). Pure: the stream adapter hands the
images in, the audit reader stores what `entry` returns.

Entries are append-only: the API only reads them; the reader puts each under a key derived from
the stream record (a redelivery writes the same entry again), and retention is a TTL."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.changes import ChangeEvent
from chalicelib.domain.environments import ENVIRONMENTS_GENERATION
from chalicelib.domain.runs import OPEN_RUNS
from chalicelib.domain.testcases import CATALOG_GENERATION

WRITTEN = "item.written"  # the change event kind the audit reads
STAMPS = ("auditActor", "auditRequestId", "auditAt")
# The project item's bookkeeping for the recording path's caches, moved by writes audited on
# their own items (a test case's version, an environment's revision, a planned run opened or
# closed): neither audited as a project change nor shown as the project's settings.
PROJECT_BOOKKEEPING = (CATALOG_GENERATION, ENVIRONMENTS_GENERATION, OPEN_RUNS)
# Attributes that change with every write and say nothing about what changed.
NOISE = frozenset(
    {*STAMPS, "updatedAt", "lastChange", "ttl", "expiresAt", "bookings", *PROJECT_BOOKKEEPING}
)
MAX_VALUE_CHARS = 2000


def written_event(
    target: tuple[str, str],
    project: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    write_id: str,
    at: str,
) -> ChangeEvent | None:
    """The change event of one audited write; None for a write that changed nothing but its
    stamps (the stamp a delete writes first)."""
    changes = diff(old, new)
    if not changes and old is not None and new is not None:
        return None
    stamped = (new if new is not None else old) or {}
    kind, ident = target
    action = "created" if old is None else "deleted" if new is None else "updated"
    return ChangeEvent(
        id=f"write:{write_id}",
        kind=WRITTEN,
        project=project,
        at=str(stamped.get("auditAt") or at) if new is not None else at,
        subject=ident,
        data={
            "action": f"{kind}.{action}",
            "target": {"type": kind, "id": ident},
            "actor": dict(stamped.get("auditActor") or {"type": "system", "id": "system"}),
            "requestId": stamped.get("auditRequestId"),
            "changes": changes,
        },
    )


def diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """{attribute: {"before", "after"}} of what differs (long values cut short)."""
    before, after = old or {}, new or {}
    out: dict[str, Any] = {}
    for name in sorted(set(before) | set(after)):
        if name in NOISE or before.get(name) == after.get(name):
            continue
        out[name] = {"before": _short(before.get(name)), "after": _short(after.get(name))}
    return out


def _short(value: Any) -> Any:
    text = json.dumps(value, default=str, separators=(",", ":"))
    if len(text) <= MAX_VALUE_CHARS:
        return value
    return {"truncated": True, "chars": len(text), "start": text[: MAX_VALUE_CHARS // 2]}


def entry(event: ChangeEvent, expires_at: int | None) -> dict[str, Any]:
    """The stored audit entry of a written event (the API's shape, plus its retention)."""
    d = event.data
    out = {
        "auditId": event.id,
        "project": event.project,
        "at": event.at,
        "actor": d["actor"],
        "actorId": str(d["actor"].get("id") or ""),
        "action": d["action"],
        "target": d["target"],
        "changes": d["changes"],
        "requestId": d.get("requestId"),
        "expiresAt": expires_at,
    }
    return {k: v for k, v in out.items() if v is not None}


def public(entry_item: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": entry_item["at"],
        "actor": entry_item["actor"],
        "action": entry_item["action"],
        "target": entry_item["target"],
        "changes": entry_item.get("changes") or {},
        "requestId": entry_item.get("requestId"),
    }


def export_row(entry_item: dict[str, Any]) -> dict[str, Any]:
    """The `audit` dataset's row (domain.exports' columns)."""
    actor = entry_item["actor"]
    target = entry_item["target"]
    return {
        "at": entry_item["at"],
        "project": entry_item["project"],
        "actor": actor.get("user") or actor.get("id"),
        "role": actor.get("role") or actor.get("type"),
        "action": entry_item["action"],
        "target": f"{target['type']}:{target['id']}",
        "changes": json.dumps(entry_item.get("changes") or {}, sort_keys=True, default=str),
        "request_id": entry_item.get("requestId"),
    }
