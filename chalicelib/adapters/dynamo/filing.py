"""Filing failures: a new draft, occurrences added to a live ticket, or a regression reopening
an ended one — each one transaction with the failures' executions, so a ticket never counts an
occurrence that is not stored, and a retried report records nothing twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.executions import execution_item, run_item
from chalicelib.adapters.dynamo.scenarios import latest_item
from chalicelib.adapters.dynamo.table import Table, TransactItem, cancel_codes
from chalicelib.adapters.dynamo.tickets import live_condition, live_values, ticket_item
from chalicelib.domain.conflicts import DraftAlreadyOpen, DuplicateExecutions, TicketNotLive
from chalicelib.domain.executions import Execution
from chalicelib.domain.lifecycle import Move
from chalicelib.domain.tickets import Ticket


class FilingRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def open_draft(
        self,
        ticket: Ticket,
        executions: Sequence[Execution],
        replacing: str | None = None,
        runs: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Create a draft as the scenario's live ticket, with its first occurrences, atomically.
        Raises DraftAlreadyOpen when the scenario has a live ticket already. `replacing` names a
        pointer known to be stale (a ticket that ended after another was merged into it)."""
        condition = "attribute_not_exists(liveTicketId)"
        values = {":id": ticket.id, ":s": ticket.status}
        if replacing:
            condition += " OR liveTicketId = :stale"
            values[":stale"] = replacing
        items = [
            self._t.update_item(
                keys.scenario(ticket.project, ticket.scenario_id),
                "SET liveTicketId = :id, liveTicketStatus = :s",
                condition=condition,
                values=values,
            ),
            self._t.put_item(ticket_item(ticket), "attribute_not_exists(pk)"),
            *self._execution_puts(executions),
            *(self._t.put_item(run_item(r)) for r in runs),
            *self._latest_puts(executions),
        ]
        try:
            self._transact(items, 2, executions)
        except ClientError as exc:
            if cancel_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                raise DraftAlreadyOpen() from exc
            raise

    def add_occurrences(
        self,
        ticket_id: str,
        executions: Sequence[Execution],
        reporters: set[str],
        at: str,
        runs: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Add failures of the scenario as occurrences of its live ticket, atomically.
        Raises TicketNotLive if the ticket ended meanwhile."""
        added = "ADD occurrences :n"
        values: dict[str, Any] = {":n": len(executions), ":at": at, **live_values()}
        if reporters:
            added += ", reporters :rs"
            values[":rs"] = reporters
        items = [
            self._t.update_item(
                keys.ticket(ticket_id),
                f"{added} SET lastSeenAt = :at, updatedAt = :at",
                condition=live_condition(),
                names={"#status": "status"},
                values=values,
            ),
            *self._execution_puts(executions),
            *(self._t.put_item(run_item(r)) for r in runs),
            *self._latest_puts(executions),
        ]
        try:
            self._transact(items, 1, executions)
        except ClientError as exc:
            if cancel_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                raise TicketNotLive(ticket_id) from exc
            raise

    def reopen_ended(
        self,
        ticket: Ticket,
        done: Move,
        executions: Sequence[Execution],
        reporters: set[str],
        runs: Sequence[dict[str, Any]] = (),
    ) -> None:
        """A regression: the scenario's last ended ticket becomes its live ticket again, reopened,
        with the new failures as occurrences. Raises DraftAlreadyOpen if the scenario got a live
        ticket meanwhile, TicketNotLive if the old ticket is not ended any more."""
        to = done.to_status.value
        items = [
            self._t.update_item(
                keys.scenario(ticket.project, ticket.scenario_id),
                "SET liveTicketId = :id, liveTicketStatus = :to",
                condition="attribute_not_exists(liveTicketId)",
                values={":id": ticket.id, ":to": to},
            ),
            self._reopen_item(ticket, done, len(executions), reporters),
            *self._execution_puts(executions),
            *(self._t.put_item(run_item(r)) for r in runs),
            *self._latest_puts(executions),
        ]
        try:
            self._transact(items, 2, executions)
        except ClientError as exc:
            codes = cancel_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise DraftAlreadyOpen() from exc
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise TicketNotLive(ticket.id) from exc
            raise

    def _reopen_item(
        self, ticket: Ticket, done: Move, occurrences: int, reporters: set[str]
    ) -> TransactItem:
        """The ended ticket's update: the move (status, history, gsi1, change event) and the
        new occurrences and reporters; only from the move's from-status."""
        at = done.entry.at
        to = done.to_status.value
        values: dict[str, Any] = {
            ":n": occurrences,
            ":at": at,
            ":to": to,
            ":from": done.from_status.value,
            ":entry": [done.entry.to_dict()],
            ":ev": done.event.to_dict(),
            ":g1pk": keys.tickets_index(ticket.project, to),
        }
        added = "ADD occurrences :n"
        if reporters:
            added += ", reporters :rs"
            values[":rs"] = reporters
        return self._t.update_item(
            keys.ticket(ticket.id),
            f"{added} SET #status = :to, history = list_append(history, :entry), "
            "lastSeenAt = :at, updatedAt = :at, gsi1pk = :g1pk, lastChange = :ev",
            condition="#status = :from",
            names={"#status": "status"},
            values=values,
        )

    def _execution_puts(self, executions: Sequence[Execution]) -> list[TransactItem]:
        return [self._t.put_item(execution_item(e), "attribute_not_exists(pk)") for e in executions]

    def _latest_puts(self, executions: Sequence[Execution]) -> list[TransactItem]:
        """The test cases' latest results these executions carry (issue #9: unconditional, the
        scenario's touch found the report not late)."""
        return [self._t.put_item(latest_item(e)) for e in executions if e.latest]

    def _transact(
        self, items: list[TransactItem], head: int, executions: Sequence[Execution]
    ) -> None:
        """Run a transaction whose first `head` items are about the ticket/scenario and the next
        are conditional execution puts; a condition failing on those is a retried report."""
        try:
            self._t.transact(items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = cancel_codes(exc)
            dupes = [
                executions[i - head].execution_id
                for i, code in enumerate(codes)
                if head <= i < head + len(executions) and code == "ConditionalCheckFailed"
            ]
            if dupes:
                raise DuplicateExecutions(dupes) from exc
            raise
