"""What API clients see of our records (JSON views; the HTML pages are in `pages`)."""

from __future__ import annotations

from typing import Any

# Task tokens are bearer capabilities for the workflow: they never leave our side.
_PRIVATE_FIELDS = ("taskToken", "jiraTaskToken", "feedbackToken", "version")
_CONTRACT_FIELDS = (
    "expected",
    "actual",
    "notes",
    "severity",
    "priority",
    "jira",
    "error",
    "reportUrl",
    "scriptUrl",
    "jiraTestKey",
    "environment",
    "steps",
)


def public_ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    """The ticket as clients see it: every contract field present (null when unset), no secrets."""
    view: dict[str, Any] = dict.fromkeys(_CONTRACT_FIELDS)
    view.update((k, v) for k, v in ticket.items() if k not in _PRIVATE_FIELDS)
    view.setdefault("reporters", [])
    return view
