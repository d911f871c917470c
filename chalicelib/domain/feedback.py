"""What Jira says about a defect, in our words: which ticket status a Jira status, its category
and resolution mean, and the move that makes (the table is `chalicelib.domain.lifecycle.MOVES`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.lifecycle import Cause, allowed
from chalicelib.domain.statuses import TicketStatus as S

DEFAULT_CLOSING_RESOLUTIONS = (
    "won't fix",
    "won't do",
    "duplicate",
    "cannot reproduce",
    "invalid",
    "incomplete",
    "obsolete",
)
# our statuses a project's Jira statuses may map to (its `statusMap` keys), in the order tried
MAPPABLE = (S.CLOSED, S.RESOLVED, S.DEFERRED, S.BLOCKED, S.REOPENED)
DEFAULT_STATUS_MAP: dict[str, list[str]] = {
    S.DEFERRED: ["Deferred", "Backlog", "On Hold"],
    S.BLOCKED: ["Blocked", "Impeded"],
    S.REOPENED: ["Reopened"],
}


def meaning(
    status_map: dict[str, Any] | None, status: str, category: str, resolution: str | None
) -> S:
    """The ticket status a Jira issue's status, status category and resolution stand for.
    Several Jira statuses may map to one of ours."""
    config = {**DEFAULT_STATUS_MAP, **(status_map or {})}
    closing = {r.lower() for r in config.get("closingResolutions", DEFAULT_CLOSING_RESOLUTIONS)}
    name = status.strip().lower()
    if resolution and resolution.strip().lower() in closing:
        return S.CLOSED
    for ours in MAPPABLE:
        if name in {s.lower() for s in config.get(ours, [])}:
            return ours
    if category == "done":
        return S.RESOLVED
    return S.OPEN


def next_status(current: str, target: S) -> S | None:
    """The move a Jira change makes, or None (no change, or one the workflow does not allow).
    An issue that leaves 'done' after its fix was resolved is reopened, not merely open."""
    now = S(current)
    if target == S.OPEN and now == S.RESOLVED:
        target = S.REOPENED
    if target == S.REOPENED and now in (S.OPEN, S.DEFERRED, S.BLOCKED):
        target = S.OPEN if now != S.OPEN else now
    if target == now:
        return None
    return target if target in allowed(now, Cause.JIRA) else None


def updated_at_ms(event: dict[str, Any]) -> int:
    """When the issue changed, by Jira's clock: the issue's `updated`, else the delivery's
    `timestamp`. Late or out-of-order deliveries compare on this, not on arrival."""
    fields = (event.get("issue") or {}).get("fields") or {}
    updated = fields.get("updated")
    if isinstance(updated, str):
        try:
            return int(datetime.strptime(updated, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)
        except ValueError:
            try:
                return int(datetime.fromisoformat(updated).timestamp() * 1000)
            except ValueError:
                pass
    stamp = event.get("timestamp")
    return int(stamp) if isinstance(stamp, int | float) else 0
