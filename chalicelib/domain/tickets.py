"""The ticket aggregate: a draft defect from its first failure to its verified fix.

Every way its status can change is in `chalicelib.domain.lifecycle`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.record import Record
from chalicelib.domain.statuses import TicketStatus, is_live


@dataclass
class HistoryEntry(Record):
    at: str
    status: str
    by: str | None = None
    reason: str | None = None
    cause: str | None = None  # the lifecycle's Cause (entries stored before it have none)
    other: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ticket(Record):
    id: str
    project: str
    status: str
    scenario_id: str
    module: str
    created_at: str
    test_case_id: str | None = None
    title: str | None = None
    expected: str | None = None
    actual: str | None = None
    steps: Any = None
    error: dict[str, Any] | None = None
    environment: str | None = None
    run: dict[str, Any] | None = None
    report_url: str | None = None
    script_url: str | None = None
    requirements: list[str] = field(default_factory=list)
    jira_test_key: str | None = None
    jira_execution_key: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    notes: str | None = None
    severity: str | None = None
    priority: str | None = None
    jira: dict[str, Any] | None = None
    reporters: list[str] = field(default_factory=list)
    occurrences: int = 0
    updated_at: str | None = None
    first_seen_at: str | None = None
    last_seen_at: str | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    regression_of: str | None = None
    merged_from: list[str] = field(default_factory=list)
    merged_into: str | None = None
    decided_by: str | None = None
    decided_via: str | None = None
    false_positive: bool | None = None
    link_to: str | None = None
    # the workflow's side: tokens never leave our side (see PRIVATE_FIELDS)
    workflow_state: str | None = None
    task_token: str | None = None
    decision_deadline: int | None = None
    reminders: int | None = None
    jira_task_token: str | None = None
    feedback_token: str | None = None
    feedback_entered_at: str | None = None  # when the workflow's wait for that token began
    # Jira creation, exactly once
    jira_create_attempts: int | None = None
    jira_last_attempt_at: float | None = None
    jira_uncertain_at: float | None = None
    jira_delayed_at: int | None = None  # an outage delayed it and its lead was told
    jira_steps: list[str] = field(default_factory=list)
    jira_warnings: list[str] = field(default_factory=list)
    jira_failure: str | None = None
    # what Jira last said
    jira_status: str | None = None
    jira_updated_at: int | None = None
    last_change: dict[str, Any] | None = None
    # root cause: the first failure's signature (`domain.signatures`) and the draft's cluster
    signature: dict[str, Any] | None = None
    cluster_id: str | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ticket:
        ticket = super().from_dict(data)
        ticket.history = [
            h if isinstance(h, HistoryEntry) else HistoryEntry.from_dict(h)
            for h in ticket.history or []
        ]
        ticket.reporters = sorted(ticket.reporters or [])
        ticket.occurrences = int(ticket.occurrences or 0)
        return ticket

    @property
    def live(self) -> bool:
        return is_live(self.status)

    @property
    def is_draft(self) -> bool:
        return self.status == TicketStatus.DRAFT

    def public_view(self) -> dict[str, Any]:
        """The ticket as API clients see it: every contract field present (null when unset), the
        others when set, never the workflow's tokens."""
        view: dict[str, Any] = dict.fromkeys(CONTRACT_FIELDS)
        view.update(
            (k, v)
            for k, v in self.to_dict().items()
            if k not in PRIVATE_FIELDS and (k in CONTRACT_FIELDS or v not in (None, []))
        )
        return view

    def times_reopened(self) -> int:
        return sum(1 for h in self.history if h.status == TicketStatus.REOPENED)


# Task tokens are bearer capabilities for the workflow: they never leave our side.
PRIVATE_FIELDS = (
    "taskToken",
    "jiraTaskToken",
    "feedbackToken",
    "version",
    "lastChange",
    "jiraClaims",
    "feedbackEnteredAt",
)
# Shown (as null when unset) on every ticket the API returns.
CONTRACT_FIELDS = (
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
    "reporters",
    "history",
)
