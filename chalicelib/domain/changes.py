"""Change events: what the change stream carries to its readers (metrics, exports, audit).

Writers never send events themselves. A ticket's moves store their event on the ticket
(`lastChange`) in the same write; executions and scenarios are their own events. The stream
(DynamoDB Streams on AWS, the local stack's pump reading the same stream from moto) delivers
every write once or more, in order per item; `from_images` turns one stream record's images into
the events it means. Readers must be idempotent on `ChangeEvent.id`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.domain.record import Record
from chalicelib.domain.statuses import TicketStatus as S


class ChangeKind(StrEnum):
    TICKET_OPENED = "ticket.opened"
    TICKET_MOVED = "ticket.moved"
    TICKET_OCCURRENCES = "ticket.occurrences"
    EXECUTION_RECORDED = "execution.recorded"
    SCENARIO_UPDATED = "scenario.updated"


@dataclass
class ChangeEvent(Record):
    id: str  # unique per change: readers apply an event once
    kind: str
    project: str
    at: str
    subject: str  # the ticket, execution or scenario id
    data: dict[str, Any] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)


def from_images(
    entity: str, old: dict[str, Any] | None, new: dict[str, Any] | None, write_id: str = ""
) -> list[ChangeEvent]:
    """The events one write means. `entity` is what the item is (`ticket`, `execution`,
    `scenario`, from its key); `old`/`new` are its plain images (None when absent); `write_id`
    names the write itself (the stream's sequence number: the same on every redelivery)."""
    if new is None:
        return []  # deletes (TTL expiry of nonces and deliveries) are not changes of ours
    if not new.get("project"):
        return []  # an image of keys only (moto streams one before an upsert's full image)
    if entity == "ticket":
        return _ticket_events(old, new)
    if entity == "execution" and old is None:
        return [_execution_event(new)]
    if entity == "scenario":
        return [_scenario_event(old, new, write_id)]
    return []


def _ticket_events(old: dict[str, Any] | None, new: dict[str, Any]) -> list[ChangeEvent]:
    events = []
    change = new.get("lastChange")
    if change and (old or {}).get("lastChange", {}).get("id") != change.get("id"):
        events.append(ChangeEvent.from_dict(change))
    added = int(new.get("occurrences") or 0) - int((old or {}).get("occurrences") or 0)
    if old is not None and added > 0:
        events.append(
            ChangeEvent(
                id=f"{new['id']}@occurrences={new.get('occurrences')}",
                kind=ChangeKind.TICKET_OCCURRENCES,
                project=str(new.get("project")),
                at=str(new.get("updatedAt") or new.get("lastSeenAt") or ""),
                subject=str(new["id"]),
                data={
                    "ticketId": new["id"],
                    "scenarioId": new.get("scenarioId"),
                    "module": new.get("module"),
                    "added": added,
                    "occurrences": new.get("occurrences"),
                },
            )
        )
    return events


def _execution_event(new: dict[str, Any]) -> ChangeEvent:
    keep = (
        "executionId",
        "runId",
        "scenarioId",
        "testCaseId",
        "attempt",
        "status",
        "durationMs",
        "ticketId",
        "flaky",
        "environment",
        "reporter",
        "module",
        "requirements",
        "method",
        "testCaseVersion",
        "release",
        "sprint",
        "commit",
        "outage",
        "muted",
    )
    return ChangeEvent(
        id=str(new["executionId"]),
        kind=ChangeKind.EXECUTION_RECORDED,
        project=str(new.get("project")),
        at=str(new.get("at")),
        subject=str(new["executionId"]),
        data={k: new[k] for k in keep if new.get(k) is not None},
    )


def _scenario_event(old: dict[str, Any] | None, new: dict[str, Any], write_id: str) -> ChangeEvent:
    keep = ("scenarioId", "module", "lastResult", "liveTicketId", "liveTicketStatus")
    return ChangeEvent(
        id=f"{new.get('project')}/{new.get('scenarioId')}@{write_id or new.get('lastAt')}",
        kind=ChangeKind.SCENARIO_UPDATED,
        project=str(new.get("project")),
        at=str(new.get("lastAt") or ""),
        subject=str(new.get("scenarioId")),
        data={
            **{k: new[k] for k in keep if new.get(k) is not None},
            "previousResult": (old or {}).get("lastResult"),
        },
    )


def _inferred_cause(previous: str, to: str, reason: str | None) -> str:
    """The cause of a history entry stored before entries named theirs."""
    if to == S.APPROVED:
        return "approve"
    if to in (S.REJECTED, S.MERGED, S.EXPIRED):
        return {S.REJECTED: "reject", S.MERGED: "merge", S.EXPIRED: "expiry"}[S(to)]
    if to == S.VERIFIED:
        return "retest_passed"
    if to == S.REOPENED and previous == S.RESOLVED and (reason or "").startswith("re-test"):
        return "retest_failed"
    if to == S.REOPENED and previous in (S.VERIFIED, S.CLOSED):
        return "regression"
    if to == S.JIRA_PENDING:
        return "jira_start" if previous == S.APPROVED else "redrive"
    if to == S.OPEN and previous == S.JIRA_PENDING:
        return "jira_created"
    if to == S.JIRA_FAILED:
        return "jira_gave_up"
    return "jira"


def ticket_history_events(ticket: dict[str, Any]) -> list[ChangeEvent]:
    """The change events a stored ticket's history stands for, with the ids the live stream
    gave them (`{ticket}#{n}`, n its history entry's position): a rebuild replaying them and
    the stream delivering them count once. The opening carries today's occurrence count (the
    stream's `ticket.occurrences` events carried the increments)."""
    history = ticket.get("history") or []
    events = [_opened_event(ticket)]
    for n, entry in enumerate(history[1:], start=2):
        previous = str(history[n - 2]["status"])
        if str(entry["status"]) == previous:
            continue  # a draft's edit, not a move
        events.append(_moved_event(ticket, n, previous, entry))
    return events


def _common(ticket: dict[str, Any]) -> dict[str, Any]:
    return {
        "ticketId": str(ticket["id"]),
        "scenarioId": ticket.get("scenarioId"),
        "module": ticket.get("module"),
    }


def _opened_event(ticket: dict[str, Any]) -> ChangeEvent:
    history = ticket.get("history") or []
    tid = str(ticket["id"])
    return ChangeEvent(
        id=f"{tid}#1",
        kind=ChangeKind.TICKET_OPENED,
        project=str(ticket["project"]),
        at=str(ticket.get("createdAt")),
        subject=tid,
        data={
            **_common(ticket),
            "to": history[0]["status"] if history else S.DRAFT,
            "regressionOf": ticket.get("regressionOf"),
            "severity": ticket.get("severity"),
            "requirements": list(ticket.get("requirements") or []),
            "occurrences": int(ticket.get("occurrences") or 1),
        },
    )


def _moved_event(
    ticket: dict[str, Any], n: int, previous: str, entry: dict[str, Any]
) -> ChangeEvent:
    tid, to = str(ticket["id"]), str(entry["status"])
    return ChangeEvent(
        id=f"{tid}#{n}",
        kind=ChangeKind.TICKET_MOVED,
        project=str(ticket["project"]),
        at=str(entry["at"]),
        subject=tid,
        data={
            **_common(ticket),
            "from": previous,
            "to": to,
            "cause": entry.get("cause") or _inferred_cause(previous, to, entry.get("reason")),
            "by": entry.get("by"),
            "severity": ticket.get("severity"),
            "openedAt": ticket.get("createdAt"),
        },
    )
