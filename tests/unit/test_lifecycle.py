"""The lifecycle table against the contract's status table, exhaustively: every (status, cause,
to) the contract allows is allowed, and every other one is refused with IllegalMove."""

from __future__ import annotations

import itertools

from chalicelib.domain import lifecycle
from chalicelib.domain.changes import ChangeKind
from chalicelib.domain.lifecycle import Cause, IllegalMove
from chalicelib.domain.statuses import TicketStatus as S
from chalicelib.domain.tickets import HistoryEntry, Ticket

AT = "2026-03-01T10:00:00.000Z"


def _contract() -> set[tuple[S, Cause, S]]:
    """Written from the README's ticket status table, not from `lifecycle.MOVES`."""
    moves = {
        (S.DRAFT, Cause.REJECT, S.REJECTED),
        (S.DRAFT, Cause.MERGE, S.MERGED),
        (S.DRAFT, Cause.EXPIRY, S.EXPIRED),
        (S.DRAFT, Cause.APPROVE, S.APPROVED),
        (S.DRAFT, Cause.LINK, S.APPROVED),
        (S.APPROVED, Cause.JIRA_START, S.JIRA_PENDING),
        (S.JIRA_PENDING, Cause.JIRA_CREATED, S.OPEN),
        (S.JIRA_PENDING, Cause.JIRA_GAVE_UP, S.JIRA_FAILED),
        (S.JIRA_FAILED, Cause.REDRIVE, S.JIRA_PENDING),
        (S.DEFERRED, Cause.JIRA, S.BLOCKED),
        (S.BLOCKED, Cause.JIRA, S.DEFERRED),
        (S.RESOLVED, Cause.RETEST_PASSED, S.VERIFIED),
        (S.RESOLVED, Cause.RETEST_FAILED, S.REOPENED),
        (S.RESOLVED, Cause.JIRA, S.REOPENED),
        (S.VERIFIED, Cause.REGRESSION, S.REOPENED),
        (S.CLOSED, Cause.REGRESSION, S.REOPENED),
    }
    for status in (S.OPEN, S.REOPENED):
        moves |= {(status, Cause.JIRA, S.DEFERRED), (status, Cause.JIRA, S.BLOCKED)}
    for status in (S.DEFERRED, S.BLOCKED):
        moves.add((status, Cause.JIRA, S.OPEN))
    for status in (S.OPEN, S.REOPENED, S.DEFERRED, S.BLOCKED):
        moves.add((status, Cause.JIRA, S.RESOLVED))
    for status in (
        S.APPROVED,
        S.JIRA_PENDING,
        S.JIRA_FAILED,
        S.OPEN,
        S.REOPENED,
        S.DEFERRED,
        S.BLOCKED,
        S.RESOLVED,
    ):
        moves.add((status, Cause.JIRA, S.CLOSED))
    return moves


CONTRACT = _contract()


def ticket(status: S, history: int = 1) -> Ticket:
    return Ticket(
        id="tk_1",
        project="P",
        status=status.value,
        scenario_id="sc.a",
        module="sc",
        created_at=AT,
        severity="major",
        history=[HistoryEntry(at=AT, status="draft") for _ in range(history)],
    )


def test_the_table_is_the_contract() -> None:
    encoded = {(f, c, t) for (f, c), tos in lifecycle.MOVES.items() for t in tos}
    assert encoded == CONTRACT


def test_move_allows_exactly_the_contract() -> None:
    """Every (status, cause, to) in TicketStatus x Cause x TicketStatus, through `move()`."""
    wrong = []
    for frm, cause, to in itertools.product(S, Cause, S):
        try:
            done = lifecycle.move(ticket(frm), cause, to, by="someone", reason="why", at=AT)
        except IllegalMove:
            if (frm, cause, to) in CONTRACT:
                wrong.append(f"refused {frm}-{cause}->{to}")
            continue
        if (frm, cause, to) not in CONTRACT:
            wrong.append(f"allowed {frm}-{cause}->{to}")
        assert (done.from_status, done.to_status, done.cause) == (frm, to, cause)
    assert wrong == []
    assert len(list(itertools.product(S, Cause, S))) == 14 * 13 * 14


def test_ended_statuses_leave_only_by_regression() -> None:
    for frm in (S.REJECTED, S.MERGED, S.EXPIRED):
        assert not any(m[0] == frm for m in CONTRACT)
    assert {m[1] for m in CONTRACT if m[0] in (S.VERIFIED, S.CLOSED)} == {Cause.REGRESSION}


def test_move_returns_the_history_entry_and_the_change_event() -> None:
    t = ticket(S.DRAFT)
    done = lifecycle.move(t, Cause.APPROVE, S.APPROVED, by="lead@x", reason="real", at=AT)
    assert done.entry == HistoryEntry(at=AT, status="approved", by="lead@x", reason="real")
    assert done.event.kind == ChangeKind.TICKET_MOVED
    assert done.event.subject == "tk_1" and done.event.at == AT
    assert done.event.data == {
        "ticketId": "tk_1",
        "scenarioId": "sc.a",
        "module": "sc",
        "from": "draft",
        "to": "approved",
        "cause": "approve",
        "by": "lead@x",
        "severity": "major",
    }


def test_change_event_ids_are_unique_along_a_life() -> None:
    t = ticket(S.DRAFT)
    ids = [lifecycle.opened(t).id]
    path = [
        (Cause.APPROVE, S.APPROVED),
        (Cause.JIRA_START, S.JIRA_PENDING),
        (Cause.JIRA_CREATED, S.OPEN),
        (Cause.JIRA, S.RESOLVED),
        (Cause.RETEST_FAILED, S.REOPENED),
        (Cause.JIRA, S.RESOLVED),
        (Cause.RETEST_PASSED, S.VERIFIED),
        (Cause.REGRESSION, S.REOPENED),
    ]
    for cause, to in path:
        done = lifecycle.move(t, cause, to, by=None, reason=None, at=AT)
        ids.append(done.event.id)
        t = lifecycle.apply(t, done)
        assert t.status == to.value and t.history[-1] == done.entry
        assert t.last_change == done.event.to_dict()
    assert len(set(ids)) == len(ids)


def test_opened_is_the_new_drafts_event() -> None:
    t = ticket(S.DRAFT)
    t.regression_of = "tk_0"
    event = lifecycle.opened(t)
    assert event.kind == ChangeKind.TICKET_OPENED
    assert event.id == "tk_1#1" and event.at == AT and event.project == "P"
    assert event.data == {
        "ticketId": "tk_1",
        "scenarioId": "sc.a",
        "module": "sc",
        "to": "draft",
        "regressionOf": "tk_0",
    }
