"""Approved drafts become Jira issues exactly once.

1. The ticket moves approved -> jira_pending and records each create attempt (a conditional
   write) before Jira is called.
2. A create whose answer was lost (timeout, reset, the process killed) may have happened: the
   next attempt first searches for the ticket's unique label, and creates again only once Jira's
   search has had time to catch up (search is not read-after-write consistent).
3. Deliveries are budgeted in time, not attempts (`domain.delivery`): 429 waits what Jira asks
   and is never a failure; 5xx, timeouts and connection errors back off with jitter (capped)
   until the budget (24 h by default) has passed since the first failure. Each wait is a new
   message delayed on the queue, carrying that first-failure time, so maxReceiveCount never
   ends it. A circuit breaker per Jira site (shared in DynamoDB) stops every container from
   calling a Jira that is down and lets one probe through per interval. The lead hears once that
   an outage delays their drafts and once that they are through. Only a permanent refusal (400
   with Jira's reasons, 401/403, an unknown project) is jira_failed at once, with the reason.
4. Links, remote links (globalId: upserts) and attachments are steps recorded on the ticket, so a
   repeated delivery does not repeat them. Then the ticket is open with its Jira key."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from chalicelib import observability
from chalicelib.clock import now_iso
from chalicelib.domain import lifecycle
from chalicelib.domain.delivery import Attempt, Later, RetryPolicy
from chalicelib.domain.lifecycle import Cause
from chalicelib.domain.outside import JiraRejected, JiraThrottled, JiraUnavailable, TokenRejected
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


class DefectService:
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

    # -- creation --------------------------------------------------------------------------

    def process(
        self, ticket_id: str, task_token: str | None, attempt: Attempt | None = None
    ) -> str:
        """Create or link the ticket's Jira issue. `Later` says when to try again and carries
        the delivery's state (the budget's clock) to the next message."""
        attempt = attempt or Attempt()
        now = self._clock()
        if attempt.not_before is not None and now < attempt.not_before:
            raise Later(attempt.not_before - now, "waiting as Jira asked", attempt)
        ticket = self._tickets.get(ticket_id)
        status = ticket.status
        if status == TicketStatus.APPROVED.value:
            ticket = self._move(
                ticket,
                Cause.JIRA_START,
                TicketStatus.JIRA_PENDING,
                "creating in Jira",
                {"jiraTaskToken": task_token} if task_token else None,
            )
        elif status == TicketStatus.JIRA_PENDING.value:
            if task_token and ticket.jira_task_token != task_token:
                self._tickets.set_fields(ticket_id, {"jiraTaskToken": task_token})
                ticket.jira_task_token = task_token
        else:
            # open: answer the workflow again; jira_failed: only a redrive retries it (the
            # redrive moves it back to jira_pending first), so a stray copy of the message
            # neither retries it nor tells the lead again.
            token = task_token or ticket.jira_task_token
            if ticket.jira and token:
                self._answer(token, ticket)
            return "nothing to do"
        site = self._site()
        circuit = self._circuits.state(site)
        if circuit.throttled_until > now:
            raise self._later(
                ticket,
                attempt,
                now,
                circuit.throttled_until - now,
                "Jira asked us to wait",
                failing=False,
            )
        if circuit.open_until > now:
            raise self._later(
                ticket,
                attempt,
                now,
                self._policy.backoff(attempt.number),
                "Jira is down (the circuit is open)",
                failing=True,
            )
        if circuit.open_until and not self._circuits.claim_probe(site, now, self._probe_seconds):
            raise self._later(
                ticket,
                attempt,
                now,
                self._policy.backoff(attempt.number),
                "Jira is down (another worker probes it)",
                failing=True,
            )
        try:
            outcome = self._create_and_link(ticket)
        except JiraRejected as exc:
            self._fail(ticket, str(exc))
            return TicketStatus.JIRA_FAILED.value
        except RetryLater as later:  # our own wait (search lag, a concurrent worker)
            raise self._later(
                ticket,
                attempt,
                now,
                later.seconds,
                later.reason,
                failing=attempt.failing_since is not None,
            ) from later
        except JiraThrottled as exc:
            # Not a failure: the wait Jira asked for, for every container (the site's state).
            self._circuits.throttled(site, now + exc.retry_after)
            raise self._later(
                ticket, attempt, now, exc.retry_after, str(exc), failing=False
            ) from exc
        except JiraUnavailable as exc:
            self._circuits.failed(site, now, self._circuit_failures, self._probe_seconds)
            if exc.unknown:
                self._tickets.set_fields(ticket_id, {"jiraUncertainAt": int(now)})
            if attempt.later(now, 0, failing=True).spent(now, self._policy):
                since = now - (attempt.failing_since or now)
                self._fail(ticket, f"Jira was unavailable for {since / 3600:.1f} h: {exc}")
                return TicketStatus.JIRA_FAILED.value
            wait = self._policy.backoff(attempt.number)
            if exc.retry_after is not None:
                wait = max(wait, exc.retry_after)
            if exc.unknown:
                wait = max(wait, float(self._lag))
            raise self._later(ticket, attempt, now, wait, str(exc), failing=True) from exc
        if not circuit.closed:
            self._circuits.close(site)
        return outcome

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

    def _create_and_link(self, ticket: Ticket) -> str:
        key = (ticket.jira or {}).get("key") or ticket.link_to
        if not key:
            key = self._create(ticket)
        steps = set(ticket.jira_steps or [])
        for step, action in self._steps(ticket, key):
            if step not in steps:
                try:
                    action()
                except JiraRejected as exc:  # e.g. a test case key that is not in Jira
                    logger.warning(
                        "Jira step skipped",
                        extra={"ticketId": ticket.id, "step": step, "reason": str(exc)},
                    )
                    self._tickets.add_warning(ticket.id, f"{step}: {exc}")
                self._tickets.add_steps(ticket.id, {step})
        jira = {"key": key, "url": self.tracker.issue_url(key)}
        opened = self._move(
            ticket,
            Cause.JIRA_CREATED,
            TicketStatus.OPEN,
            f"Jira issue {key}",
            {"jira": jira},
            also=[self._tickets.jira_index_put(key, ticket.id)],
        )
        if ticket.jira_task_token:
            self._answer(ticket.jira_task_token, opened)
        self._through(ticket, key)
        return TicketStatus.OPEN.value

    def _create(self, ticket: Ticket) -> str:
        label = self._issues.unique_label(ticket.id)
        attempts = int(ticket.jira_create_attempts or 0)
        if attempts:
            found = self.tracker.find_by_label(label)
            if found:
                self._tickets.set_fields(
                    ticket.id, {"jira": {"key": found, "url": self.tracker.issue_url(found)}}
                )
                return str(found)
            since = self._clock() - float(ticket.jira_last_attempt_at or 0)
            if ticket.jira_uncertain_at and since < self._lag:
                raise RetryLater(
                    self._lag - since + 1,
                    "a create may have happened; waiting "
                    "for Jira's search to catch up before creating again",
                )
        mapping = self._mapping(ticket)
        text = self._issues.description(
            ticket.to_dict(),
            [e.to_dict() for e in self._stores.executions.occurrences(ticket.id)],
            f"{self._public_url}/pages/tickets/{ticket.id}",  # asks the browser for a link
        )
        fields = self._issues.issue_fields(mapping, ticket.to_dict(), text)
        # The claim: one worker per attempt number (SQS may hand the message to two at once).
        if not self._tickets.claim_create_attempt(ticket.id, attempts, int(self._clock())):
            raise RetryLater(float(self._lag), "another worker is creating this issue")
        try:
            key = self.tracker.create_issue(fields)
        except (JiraRejected, JiraThrottled, JiraUnavailable) as exc:
            if not getattr(exc, "unknown", False):  # Jira answered: it created nothing
                self._tickets.set_fields(ticket.id, {"jiraUncertainAt": 0})
            raise
        self._tickets.set_fields(
            ticket.id, {"jira": {"key": key, "url": self.tracker.issue_url(key)}}
        )
        return key

    def _mapping(self, ticket: Ticket) -> dict[str, Any]:
        project = self._stores.projects.get(ticket.project) or {}
        mapping = project.get("jira")
        if not mapping:
            raise JiraRejected(
                f"project {ticket.project} has no Jira mapping; an admin sets "
                "it with PUT /v1/projects/{project}/jira"
            )
        return dict(mapping)

    def _steps(self, ticket: Ticket, key: str) -> list[Step]:
        """What the issue gets after creation, each a named step done once: native links,
        remote links to the run, report, script and ticket, and the stored evidence."""
        return [
            *self._link_steps(ticket, key),
            *self._remote_steps(ticket, key),
            *self._attachment_steps(ticket, key),
        ]

    def _link_steps(self, ticket: Ticket, key: str) -> list[Step]:
        """requirement -> test case -> defect, execution -> defect, defect -> requirement, with
        the project's link types. The test case's Jira issue and requirements are the report's,
        else the registered test case's (an imported test case names its Jira issue)."""
        mapping = (self._stores.projects.get(ticket.project) or {}).get("jira") or {}
        types = mapping.get("linkTypes") or {}
        is_key = self._issues.JIRA_KEY.match
        registered = (
            self._test_case(ticket.project, ticket.test_case_id) if ticket.test_case_id else None
        )
        test_key = ticket.jira_test_key or (registered.jira_test_key if registered else None)
        test_key = test_key if is_key(test_key or "") else None
        requirements = [
            r
            for r in dict.fromkeys(
                [*(ticket.requirements or []), *(registered.requirements if registered else [])]
            )
            if is_key(r)
        ]
        execution_key = ticket.jira_execution_key
        # a root cause approved as one issue: every affected test case (`services.clusters`)
        cluster_keys = [k for k in ticket.other.get("clusterTestKeys") or [] if is_key(k)]
        wanted: list[tuple[str, str | None, str, str | None]] = [
            (f"link:test:{test_key}", types.get("defectToTestCase"), key, test_key),
            *(
                (f"link:test:{k}", types.get("defectToTestCase"), key, k)
                for k in cluster_keys
                if k != test_key
            ),
            (
                f"link:execution:{execution_key}",
                types.get("defectToExecution"),
                key,
                execution_key if is_key(execution_key or "") else None,
            ),
            *(
                (f"link:requirement:{r}", types.get("requirementToTestCase"), r, test_key)
                for r in requirements
            ),
            *(
                (f"link:defect-requirement:{r}", types.get("defectToRequirement"), key, r)
                for r in requirements
            ),
        ]
        return [
            (step, partial(self._link, link_type, inward, outward))
            for step, link_type, inward, outward in wanted
            if link_type and outward
        ]

    def _remote_steps(self, ticket: Ticket, key: str) -> list[Step]:
        run = ticket.run or {}
        remote = [
            ("run", run.get("ciUrl"), f"CI run {run.get('name') or run.get('id', '')}"),
            ("report", ticket.report_url, "Test report"),
            ("script", ticket.script_url, "Failed test script"),
            (
                "ticket",
                f"{self._public_url}/pages/tickets/{ticket.id}",  # asks the browser for a link
                f"failbridge ticket {ticket.id}",
            ),
        ]
        return [
            (
                f"remote:{name}",
                partial(
                    self._remote_link, key, f"failbridge:{ticket.id}:{name}", url, title.strip()
                ),
            )
            for name, url, title in remote
            if url
        ]

    def _attachment_steps(self, ticket: Ticket, key: str) -> list[Step]:
        return [
            (f"attach:{a['attachmentId']}", partial(self._attach, key, a))
            for a in self._stores.attachments.of_ticket(ticket.id)
            if a.get("status") == "stored"
        ]

    def _link(self, link_type: str, inward: str, outward: str) -> None:
        self.tracker.link(link_type, inward, outward)

    def _remote_link(self, key: str, global_id: str, url: str, title: str) -> None:
        self.tracker.remote_link(key, global_id, url, title)

    def _attach(self, key: str, attachment: dict[str, Any]) -> None:
        import io

        # The client rewinds what it uploads, so it needs a seekable file; evidence is small.
        body = self._blobs.stream(attachment["key"])
        try:
            self.tracker.attach(key, attachment["fileName"], io.BytesIO(body.read()))
        finally:
            body.close()

    def redrive(self, queues: Any, dlq_url: str, queue_url: str) -> list[str]:
        """Send what gave up back to work: jira_failed tickets return to jira_pending and their
        messages to the queue. Nothing is created twice: creation checks first."""
        moved = queues.redrive(dlq_url, queue_url)
        tickets = []
        for task in moved:
            ticket = self._tickets.get(task["ticketId"])
            if ticket.status == TicketStatus.JIRA_FAILED.value:
                self._move(ticket, Cause.REDRIVE, TicketStatus.JIRA_PENDING, "redriven")
            tickets.append(ticket.id)
        return tickets

    # -- status ----------------------------------------------------------------------------

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
        self._through(current, "jira_failed")

    def _answer(self, token: str, ticket: Ticket) -> None:
        try:
            self._workflow.answer(token, {"jira": ticket.jira, "status": ticket.status})
        except TokenRejected:
            logger.info("Jira task token no longer waited on", extra={"ticketId": ticket.id})
