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

from typing import Any

from chalicelib.domain.delivery import Attempt, CircuitState, Later
from chalicelib.domain.lifecycle import Cause
from chalicelib.domain.outside import JiraRejected, JiraThrottled, JiraUnavailable
from chalicelib.domain.statuses import TicketStatus
from chalicelib.domain.tickets import Ticket
from chalicelib.services.defect_delivery import (
    DefectDelivery,
    LeadContact,
    RetryLater,
    Step,
    Stores,
)
from chalicelib.services.jira_steps import JiraSteps

__all__ = ["DefectDelivery", "DefectService", "LeadContact", "RetryLater", "Step", "Stores"]


class DefectService(JiraSteps):
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
        ticket = self._pending(self._tickets.get(ticket_id), task_token)
        if ticket is None:
            return "nothing to do"
        site = self._site()
        circuit = self._circuits.state(site)
        self._wait_for_circuit(ticket, attempt, now, site, circuit)
        outcome = self._deliver(ticket, attempt, now, site)
        if not circuit.closed:
            self._circuits.close(site)
        return outcome

    def _pending(self, ticket: Ticket, task_token: str | None) -> Ticket | None:
        """The ticket in jira_pending with the workflow's token, or None: nothing to do."""
        status = ticket.status
        if status == TicketStatus.APPROVED.value:
            return self._move(
                ticket,
                Cause.JIRA_START,
                TicketStatus.JIRA_PENDING,
                "creating in Jira",
                {"jiraTaskToken": task_token} if task_token else None,
            )
        if status == TicketStatus.JIRA_PENDING.value:
            if task_token and ticket.jira_task_token != task_token:
                self._tickets.set_fields(ticket.id, {"jiraTaskToken": task_token})
                ticket.jira_task_token = task_token
            return ticket
        # open: answer the workflow again; jira_failed: only a redrive retries it (the
        # redrive moves it back to jira_pending first), so a stray copy of the message
        # neither retries it nor tells the lead again.
        token = task_token or ticket.jira_task_token
        if ticket.jira and token:
            self._answer(token, ticket)
        return None

    def _wait_for_circuit(
        self, ticket: Ticket, attempt: Attempt, now: float, site: str, circuit: CircuitState
    ) -> None:
        """Raise `Later` while Jira asked us to wait or the site's circuit is open (one worker
        probes it per interval)."""
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
            reason = "Jira is down (the circuit is open)"
        elif circuit.open_until and not self._circuits.claim_probe(site, now, self._probe_seconds):
            reason = "Jira is down (another worker probes it)"
        else:
            return
        raise self._later(
            ticket, attempt, now, self._policy.backoff(attempt.number), reason, failing=True
        )

    def _deliver(self, ticket: Ticket, attempt: Attempt, now: float, site: str) -> str:
        """One try at Jira: the outcome, or `Later` by what went wrong."""
        try:
            return self._create_and_link(ticket)
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
            return self._unavailable(ticket, attempt, now, site, exc)

    def _unavailable(
        self, ticket: Ticket, attempt: Attempt, now: float, site: str, exc: JiraUnavailable
    ) -> str:
        """Jira down or an answer lost: count it on the circuit, give up once the budget is
        spent, else try again after a backoff (longer than the search lag if it may exist)."""
        self._circuits.failed(site, now, self._circuit_failures, self._probe_seconds)
        if exc.unknown:
            self._tickets.set_fields(ticket.id, {"jiraUncertainAt": int(now)})
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
