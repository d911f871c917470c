"""The drafts of a project waiting for a lead's decision, as the drafts page lists them (what the
Slack digest's "…and N more" link opens): a page at a time, each with its lead; the viewer's own
carry a link to their approval page. Reads only: an approval link is signed, nothing is stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from chalicelib.clock import iso_of
from chalicelib.domain.ports import Cursors, TicketRepository
from chalicelib.domain.statuses import TicketStatus
from chalicelib.domain.tickets import Ticket

DRAFTS_PER_PAGE = 25


class Leads(Protocol):
    """The decision service's side this uses."""

    def lead_of(self, ticket: Ticket) -> dict[str, Any]: ...

    def approval_page(self, ticket: Ticket, lead: str) -> str: ...


class WaitingDrafts:
    def __init__(
        self,
        tickets: TicketRepository,
        leads: Leads,
        cursors: Cursors,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tickets = tickets
        self._leads = leads
        self._cursors = cursors
        self._clock = clock

    def page(
        self, project: str, viewer: str, cursor: str | None, limit: int = DRAFTS_PER_PAGE
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the project's drafts (oldest first) and the cursor of the next one."""
        drafts, next_key = self._tickets.page(
            project,
            status=TicketStatus.DRAFT.value,
            module=None,
            limit=limit,
            cursor=self._cursors.decode(cursor),
        )
        leads: dict[str, str] = {}  # one read per module, not per draft
        rows = []
        for t in drafts:
            if t.module not in leads:
                leads[t.module] = str(self._leads.lead_of(t).get("lead") or "")
            rows.append(self._row(t, leads[t.module], viewer))
        return rows, self._cursors.encode(next_key)

    def _row(self, ticket: Ticket, lead: str, viewer: str) -> dict[str, Any]:
        deadline = ticket.decision_deadline
        yours = bool(lead) and lead == viewer
        open_ = deadline is None or deadline > self._clock()
        return {
            "id": ticket.id,
            "title": ticket.title,
            "module": ticket.module,
            "scenarioId": ticket.scenario_id,
            "severity": ticket.severity,
            "occurrences": ticket.occurrences,
            "createdAt": ticket.created_at,
            "deadline": iso_of(deadline) if deadline else None,
            "lead": lead or None,
            "yours": yours,
            "decideUrl": self._leads.approval_page(ticket, lead) if yours and open_ else None,
        }
