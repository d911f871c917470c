"""The delivery side of filing a defect (`services/defects.py`): the service's parts, the
ticket's moves, the lead told of delays and failures, the workflow answered."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib import observability
from chalicelib.clock import now_iso
from chalicelib.domain import lifecycle
from chalicelib.domain.delivery import Attempt, Later, RetryPolicy
from chalicelib.domain.lifecycle import Cause
from chalicelib.domain.outside import TokenRejected
from chalicelib.domain.ports import (
    AttachmentRepository,
    Blobs,
    CircuitRepository,
    DelayNotices,
    ExecutionRepository,
    IssueFormat,
    ProjectRepository,
    TicketRepository,
    Tracker,
    Workflow,
)
from chalicelib.domain.statuses import TicketStatus
from chalicelib.domain.testcases import TestCase
from chalicelib.domain.tickets import Ticket
from chalicelib.observability import logger

Step = tuple[str, Callable[[], None]]  # a step's name (recorded once done) and its action


class RetryLater(Exception):
    """A wait of our own inside one try (Jira's search lag, a concurrent worker)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


class LeadContact(Protocol):
    """Who a ticket's lead is, and a message to them that is sent once (`notice_id`), through
    a queue, so Slack being down delays it but does not lose it."""

    def lead_email(self, ticket: Ticket) -> str: ...

    def tell_lead(self, ticket: Ticket, text: str, notice_id: str) -> None: ...


def _at(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Stores:
    """The repositories filing defects reads and writes."""

    tickets: TicketRepository
    projects: ProjectRepository
    executions: ExecutionRepository
    attachments: AttachmentRepository
    circuits: CircuitRepository
    delays: DelayNotices


class DefectDelivery:
    """What every try of a delivery shares: ports, moves, notices, the workflow's answer."""

    def __init__(
        self,
        stores: Stores,
        tracker_factory: Callable[[], Tracker],
        issues: IssueFormat,
        blobs: Blobs,
        workflow: Workflow,
        lead: LeadContact,
        *,
        public_url: str,
        search_lag_seconds: int = 30,
        policy: RetryPolicy | None = None,
        circuit_failures: int = 3,
        probe_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
        test_case: Callable[[str, str], TestCase | None] | None = None,
    ) -> None:
        self._stores = stores
        self._test_case = test_case or (lambda project, test_case_id: None)
        self._tickets = stores.tickets
        self._circuits = stores.circuits
        self._delays = stores.delays
        self._tracker_factory = tracker_factory
        self._issues = issues
        self._tracker: Tracker | None = None
        self._blobs = blobs
        self._workflow = workflow
        self._lead_of = lead.lead_email
        self._tell_lead = lead.tell_lead
        self._public_url = public_url
        self._lag = search_lag_seconds
        self._policy = policy or RetryPolicy()
        self._circuit_failures = circuit_failures
        self._probe_seconds = probe_seconds
        self._clock = clock

    @property
    def tracker(self) -> Tracker:
        if self._tracker is None:
            self._tracker = self._tracker_factory()
        return self._tracker

    def _site(self) -> str:
        return str(getattr(self.tracker, "url", "") or "jira")

    def _later(
        self,
        ticket: Ticket,
        attempt: Attempt,
        now: float,
        wait: float,
        reason: str,
        *,
        failing: bool,
    ) -> Later:
        """The next try, after `wait`; the lead hears once that an outage delays the ticket."""
        nxt = attempt.later(now, wait, failing=failing)
        if nxt.delayed_for(now) >= self._policy.notice_after_seconds and not ticket.jira_delayed_at:
            self._tickets.set_fields(ticket.id, {"jiraDelayedAt": int(now)})
            lead = self._lead_of(ticket)
            if self._delays.delayed(lead, ticket.id):
                until = (nxt.failing_since or now) + self._policy.budget_seconds
                self._tell_lead(
                    ticket,
                    f"Jira is not taking issues right now ({reason}), so approved drafts of "
                    f"yours wait, {ticket.id} ({ticket.title}) first. failbridge keeps trying "
                    f"(until {_at(until)} if Jira stays down) and tells you when they are in "
                    "Jira. Nothing to do.",
                    f"delayed:{lead}:{ticket.id}",
                )
        return Later(wait, reason, nxt)

    def _through(self, ticket: Ticket, outcome: str) -> None:
        """The delayed ticket is through (or failed): the lead hears once, for all of them."""
        if not ticket.jira_delayed_at:
            return
        lead = self._lead_of(ticket)
        done = self._delays.through(lead, ticket.id, outcome)
        if done:
            listed = ", ".join(f"{t} -> {o}" for t, o in done.items())
            self._tell_lead(
                ticket,
                f"Jira is taking issues again; your delayed drafts are through: {listed}.",
                f"through:{lead}:{ticket.id}",
            )

    def _move(
        self,
        ticket: Ticket,
        cause: Cause,
        to: TicketStatus,
        reason: str,
        extra: dict[str, Any] | None = None,
        also: list[dict[str, Any]] | None = None,
    ) -> Ticket:
        done = lifecycle.move(ticket, cause, to, by="failbridge", reason=reason, at=now_iso())
        self._tickets.transition(ticket, done, extra=extra, also=also or ())
        moved = Ticket.from_dict({**ticket.to_dict(), **(extra or {})})
        return lifecycle.apply(moved, done)

    def _fail(self, ticket: Ticket, reason: str) -> None:
        current = self._tickets.get(ticket.id)
        if current.status != TicketStatus.JIRA_PENDING.value:
            return
        self._move(
            current,
            Cause.JIRA_GAVE_UP,
            TicketStatus.JIRA_FAILED,
            reason[:500],
            {"jiraFailure": reason[:500]},
        )
        logger.warning("Jira creation failed", extra={"ticketId": ticket.id})
        observability.count(observability.JIRA_FAILED_METRIC)  # the JiraFailedAlarm watches it
        text = (
            f"Jira could not take the approved draft {current.id} ({current.title}): "
            f"{reason}. It is jira_failed; an operator's redrive will finish it."
        )
        self._tell_lead(current, text, f"jira_failed:{current.id}:{len(current.history)}")
        self._through(current, TicketStatus.JIRA_FAILED.value)

    def _answer(self, token: str, ticket: Ticket) -> None:
        try:
            self._workflow.answer(token, {"jira": ticket.jira, "status": ticket.status})
        except TokenRejected:
            logger.info("Jira task token no longer waited on", extra={"ticketId": ticket.id})
