"""What the lead decides about a draft, and what happens when nobody decides in time."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain.statuses import TicketStatus
from chalicelib.errors import Conflict


def expire_draft(c: Any, ticket_id: str) -> bool:
    """The decision deadline passed: a draft still undecided becomes `expired`."""
    ticket = c.store.get_ticket(ticket_id)
    if ticket["status"] != TicketStatus.DRAFT.value:
        return False
    try:
        c.store.transition(
            ticket,
            from_statuses=[TicketStatus.DRAFT.value],
            to_status=TicketStatus.EXPIRED.value,
            entry={"at": now_iso(), "status": TicketStatus.EXPIRED.value, "by": "failbridge",
                   "reason": "no decision before the deadline"},
        )
    except Conflict:
        return False
    return True
