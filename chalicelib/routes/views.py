"""What API clients see of our records (JSON views; the HTML pages are in `pages`)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.tickets import Ticket


def public_ticket(ticket: Ticket) -> dict[str, Any]:
    """The ticket as clients see it: every contract field present (null when unset), no secrets."""
    return ticket.public_view()
