"""Every way a ticket's status can change, in one table, and the one `move()` that applies it.

A move returns the history entry to append and the change event the change stream carries
(stored on the ticket in the same write, so the event exists exactly when the change does).
Opening a draft is not a move (there is no status before it): `opened()` makes its event."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.statuses import TicketStatus as S
from chalicelib.domain.tickets import HistoryEntry, Ticket


class Cause(StrEnum):
    """Why a ticket moves: who or what decided it."""

    APPROVE = "approve"  # the lead approves the draft
    LINK = "link"  # the lead links the draft to an existing Jira defect
    REJECT = "reject"  # the lead rejects it as a false positive
    MERGE = "merge"  # the lead merges it into another ticket
    EXPIRY = "expiry"  # nobody decided before the deadline
    JIRA_START = "jira_start"  # the Jira worker takes the approved draft
    JIRA_CREATED = "jira_created"  # the Jira issue exists (created or linked)
    JIRA_GAVE_UP = "jira_gave_up"  # Jira refused it, or the retry budget is spent
    REDRIVE = "redrive"  # a jira_failed ticket is tried again
    JIRA = "jira"  # Jira's own workflow moved the issue (a webhook)
    RETEST_PASSED = "retest_passed"
    RETEST_FAILED = "retest_failed"
    REGRESSION = "regression"  # the scenario failed again within the regression window


# (from, cause) -> the statuses that cause may move a ticket to. CONTRACT: README's status table.
MOVES: dict[tuple[S, Cause], frozenset[S]] = {
    (S.DRAFT, Cause.APPROVE): frozenset({S.APPROVED}),
    (S.DRAFT, Cause.LINK): frozenset({S.APPROVED}),
    (S.DRAFT, Cause.REJECT): frozenset({S.REJECTED}),
    (S.DRAFT, Cause.MERGE): frozenset({S.MERGED}),
    (S.DRAFT, Cause.EXPIRY): frozenset({S.EXPIRED}),
    (S.APPROVED, Cause.JIRA_START): frozenset({S.JIRA_PENDING}),
    (S.JIRA_FAILED, Cause.REDRIVE): frozenset({S.JIRA_PENDING}),
    (S.JIRA_PENDING, Cause.JIRA_CREATED): frozenset({S.OPEN}),
    (S.JIRA_PENDING, Cause.JIRA_GAVE_UP): frozenset({S.JIRA_FAILED}),
    (S.OPEN, Cause.JIRA): frozenset({S.DEFERRED, S.BLOCKED, S.RESOLVED, S.CLOSED}),
    (S.REOPENED, Cause.JIRA): frozenset({S.DEFERRED, S.BLOCKED, S.RESOLVED, S.CLOSED}),
    (S.DEFERRED, Cause.JIRA): frozenset({S.OPEN, S.BLOCKED, S.RESOLVED, S.CLOSED}),
    (S.BLOCKED, Cause.JIRA): frozenset({S.OPEN, S.DEFERRED, S.RESOLVED, S.CLOSED}),
    (S.RESOLVED, Cause.JIRA): frozenset({S.REOPENED, S.CLOSED}),
    # Jira may close an issue (Won't Fix, Duplicate) before we saw it open
    (S.APPROVED, Cause.JIRA): frozenset({S.CLOSED}),
    (S.JIRA_PENDING, Cause.JIRA): frozenset({S.CLOSED}),
    (S.JIRA_FAILED, Cause.JIRA): frozenset({S.CLOSED}),
    (S.RESOLVED, Cause.RETEST_PASSED): frozenset({S.VERIFIED}),
    (S.RESOLVED, Cause.RETEST_FAILED): frozenset({S.REOPENED}),
    (S.VERIFIED, Cause.REGRESSION): frozenset({S.REOPENED}),
    (S.CLOSED, Cause.REGRESSION): frozenset({S.REOPENED}),
}


class IllegalMove(Exception):
    """A move the table does not allow."""


@dataclass(frozen=True)
class Move:
    ticket_id: str
    from_status: S
    to_status: S
    cause: Cause
    entry: HistoryEntry
    event: ChangeEvent


def allowed(current: str, cause: Cause) -> frozenset[S]:
    return MOVES.get((S(current), cause), frozenset())


def move(
    ticket: Ticket, cause: Cause, to: S, *, by: str | None, reason: str | None, at: str
) -> Move:
    """Check a move against the table; return its history entry and its change event."""
    if to not in allowed(ticket.status, cause):
        raise IllegalMove(
            f"{cause.value} cannot move ticket {ticket.id} from {ticket.status} to {to.value}"
        )
    entry = HistoryEntry(at=at, status=to.value, by=by, reason=reason, cause=cause.value)
    event = ChangeEvent(
        id=f"{ticket.id}#{len(ticket.history) + 1}",
        kind=ChangeKind.TICKET_MOVED,
        project=ticket.project,
        at=at,
        subject=ticket.id,
        data={
            "ticketId": ticket.id,
            "scenarioId": ticket.scenario_id,
            "module": ticket.module,
            "from": ticket.status,
            "to": to.value,
            "cause": cause.value,
            "by": by,
            "severity": ticket.severity,
            "openedAt": ticket.created_at,
        },
    )
    return Move(ticket.id, S(ticket.status), to, cause, entry, event)


def opened(ticket: Ticket) -> ChangeEvent:
    """The event of a new draft (and of a regression's new draft)."""
    return ChangeEvent(
        id=f"{ticket.id}#1",
        kind=ChangeKind.TICKET_OPENED,
        project=ticket.project,
        at=ticket.created_at,
        subject=ticket.id,
        data={
            "ticketId": ticket.id,
            "scenarioId": ticket.scenario_id,
            "module": ticket.module,
            "to": ticket.status,
            "regressionOf": ticket.regression_of,
            "severity": ticket.severity,
            "requirements": list(ticket.requirements),
            "occurrences": ticket.occurrences,
        },
    )


def apply(ticket: Ticket, done: Move, **fields: object) -> Ticket:
    """The ticket as it is after a stored move (and the fields set with it)."""
    from dataclasses import replace

    return replace(
        ticket,
        status=done.to_status.value,
        history=[*ticket.history, done.entry],
        updated_at=done.entry.at,
        last_change=done.event.to_dict(),
        **fields,  # type: ignore[arg-type]
    )
