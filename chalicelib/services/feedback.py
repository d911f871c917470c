"""What happens in Jira flows back; what happens in testing flows to Jira.

Webhooks are verified and queued at once (Jira retries slow answers); the queue's handler
applies each delivery once (by its identifier), and only if it is newer than what the ticket
saw (deliveries come late and out of order). A change failbridge made in Jira comes back as a
delivery that maps to the status the ticket already has: it changes nothing, so nothing loops."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain import feedback, lifecycle
from chalicelib.domain.lifecycle import Cause
from chalicelib.domain.outside import JiraRejected, TokenRejected
from chalicelib.domain.ports import (
    DeliveryRepository,
    ExecutionRepository,
    ProjectRepository,
    TicketRepository,
    Tracker,
    Workflow,
)
from chalicelib.domain.statuses import LIVE_TICKET_STATUSES, TicketStatus
from chalicelib.domain.statuses import TicketStatus as S
from chalicelib.domain.tasks import TaskType
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Conflict, Unauthenticated
from chalicelib.models import parse_json
from chalicelib.models_inbound import (
    JiraChange,
    JiraFieldsIn,
    JiraStatusIn,
    JiraWebhookIn,
    parse_inbound,
)
from chalicelib.observability import logger

_AGAIN = "again"  # a concurrent write won: read the ticket again
_ATTEMPTS = 3
KNOWLEDGE_OCCURRENCES = 5  # a ticket seen this often is worth a knowledge-base entry
# A delivery's claim on a step it tells Jira: longer than a Jira call, shorter than the Jira
# queue's visibility timeout (360 s), so the redelivery of a message whose process died takes it.
SYNC_CLAIM_SECONDS = 120
# A re-test or regression comment is looked for in Jira before it is posted (a delivery that died
# after Jira took it, or a timeout after Jira took it, must not comment twice): only comments
# created after the move, less this margin for the two clocks, count.
COMMENT_CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class Stores:
    """The repositories feedback reads and writes."""

    tickets: TicketRepository
    projects: ProjectRepository
    executions: ExecutionRepository
    deliveries: DeliveryRepository


class FeedbackService:
    def __init__(
        self,
        stores: Stores,
        tracker: Callable[[], Tracker],
        workflow: Workflow,
        notify: Callable[[dict[str, Any]], None],
        queues: Any,
        *,
        jira_queue_url: str,
        webhook_secret: Callable[[], str],
        verify_signature: Callable[[str, bytes, str | None], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stores = stores
        self._tickets = stores.tickets
        self._tracker = tracker
        self._workflow = workflow
        self._notify = notify
        self._queues = queues
        self._queue_url = jira_queue_url
        self._secret = webhook_secret
        self._verify = verify_signature
        self._clock = clock

    # -- the webhook ------------------------------------------------------------------------

    def accept(self, body: bytes, signature: str | None, identifier: str | None) -> dict:
        """Verify and queue a delivery; the answer is fast, the work happens off the queue."""
        if not self._verify(self._secret(), body, signature):
            raise Unauthenticated("X-Hub-Signature is missing, of an unknown method, or wrong")
        event = parse_json(body)
        delivery = parse_inbound(JiraWebhookIn, event, "body")  # a wrong shape: 400, not queued
        issue = delivery.issue
        if issue is None or not issue.key:
            return {"accepted": False, "reason": "no issue in the delivery"}
        fields = issue.fields or JiraFieldsIn()
        status = fields.status or JiraStatusIn()
        change = JiraChange(
            delivery=identifier or "",
            key=issue.key,
            status=status.name,
            category=status.status_category.key if status.status_category else "",
            resolution=fields.resolution.name if fields.resolution else None,
            updated_at=feedback.updated_at_ms(event),  # the shapes it reads are checked above
            event=delivery.webhook_event,
        ).model_dump(by_alias=True)
        self._queues.send(self._queue_url, change)
        return {"accepted": True}

    # -- applying a change ------------------------------------------------------------------

    def apply(self, change: dict[str, Any]) -> str:
        delivery = change.get("delivery") or ""
        if delivery and self._stores.deliveries.seen(delivery):
            return "duplicate"
        outcome = self._apply(change)
        if delivery:
            self._stores.deliveries.remember(delivery, int(self._clock()))
        return outcome

    def _apply(self, change: dict[str, Any]) -> str:
        ticket_id = self._tickets.by_jira_key(change["key"])
        if ticket_id is None:
            return "not ours"
        # Two deliveries for one issue may be applied at once. Each write holds only while the
        # ticket's last applied Jira change is older than this one, so the older delivery
        # cannot overwrite the newer; the loser reads the ticket again and finds itself stale.
        for _ in range(_ATTEMPTS):
            outcome = self._apply_to(self._tickets.get(ticket_id), change)
            if outcome != _AGAIN:
                return outcome
        return "changed meanwhile"

    def _apply_to(self, ticket: Ticket, change: dict[str, Any]) -> str:
        at = int(change.get("updatedAt") or 0)
        if at and at <= int(ticket.jira_updated_at or 0):
            return "stale"
        mapping = (self._stores.projects.get(ticket.project) or {}).get("jira") or {}
        target = feedback.meaning(
            mapping.get("statusMap"),
            change.get("status", ""),
            change.get("category", ""),
            change.get("resolution"),
        )
        moved = feedback.next_status(ticket.status, target)
        marks = {"jiraUpdatedAt": at, "jiraStatus": change.get("status")}
        guard = at or None
        if moved is None:
            kept = self._tickets.set_fields(ticket.id, marks, jira_before=guard)
            return "no change" if kept else _AGAIN
        reason = f"Jira: {change.get('status')}" + (
            f" ({change['resolution']})" if change.get("resolution") else ""
        )
        try:
            ticket = self._move(ticket, moved, reason, "jira", marks, jira_before=guard)
        except Conflict:
            return _AGAIN
        if moved == TicketStatus.RESOLVED:
            self._ready_for_retest(ticket)
        return moved.value

    def _move(
        self,
        ticket: Ticket,
        to: TicketStatus,
        reason: str,
        by: str,
        extra: dict[str, Any] | None = None,
        *,
        jira_before: int | None = None,
    ) -> Ticket:
        try:
            done = lifecycle.move(ticket, Cause.JIRA, to, by=by, reason=reason, at=now_iso())
        except lifecycle.IllegalMove as exc:
            raise Conflict(str(exc)) from exc
        self._tickets.transition(ticket, done, extra=extra, jira_before=jira_before)
        moved = lifecycle.apply(Ticket.from_dict({**ticket.to_dict(), **(extra or {})}), done)
        self.tell_workflow(moved)
        return moved

    def tell_workflow(self, ticket: Ticket) -> None:
        """Hand the ticket's new status to its execution, waiting in AwaitFeedback (the token
        as stored now: the execution may have entered the state again meanwhile)."""
        token = self._tickets.get(ticket.id).feedback_token
        if not token:
            return
        try:
            self._workflow.answer(token, {"status": ticket.status})
        except TokenRejected:
            logger.info("feedback token no longer waited on", extra={"ticketId": ticket.id})

    def awaiting(self, ticket_id: str, token: str, entered: str = "") -> str:
        """The execution waits for the next change; an end that already happened answers at
        once (the status is read after the token is stored, so no change falls between). A
        wait redelivered after a later one (`entered`: when the execution entered the state)
        is stale: its token must not replace the later one, which the next change answers."""
        if not self._tickets.store_feedback_token(ticket_id, token, entered):
            return "stale"
        ticket = self._tickets.get(ticket_id)
        if ticket.status in (TicketStatus.VERIFIED.value, TicketStatus.CLOSED.value):
            self.tell_workflow(ticket)
            return "answered"
        return "waiting"

    def _ready_for_retest(self, ticket: Ticket) -> None:
        reporters = ", ".join(ticket.reporters or [])
        jira = ticket.jira or {}
        text = (
            f"Ready for re-test: {ticket.title} ({ticket.scenario_id}) is resolved "
            f"in Jira {jira.get('key', '')}. The next run of {ticket.test_case_id} "
            f"verifies it. Reported by {reporters}."
        )
        try:
            self._notify({"text": text.replace("<", "&lt;").replace(">", "&gt;")})
        except Exception:  # the status changed; a lost note must not undo it
            logger.exception("could not announce the re-test")
        self._queues.send(
            self._queue_url, {"type": TaskType.RECORD_KNOWLEDGE.value, "ticketId": ticket.id}
        )

    # -- re-tests and regressions, told to Jira ---------------------------------------------

    def sync_to_jira(self, kind: str, ticket_id: str) -> str:
        """Tell Jira what a re-test or a regression found: a comment, and a transition, each
        once per move however often (or however concurrently) SQS hands the message over."""
        ticket = self._tickets.get(ticket_id)
        jira = ticket.jira or {}
        if not jira.get("key"):
            return "no jira issue"
        key = jira["key"]
        mapping = (self._stores.projects.get(ticket.project) or {}).get("jira") or {}
        tracker = self._tracker()
        move = _move_told(kind, ticket)
        if kind == TaskType.RETEST_PASSED:
            text = (
                f"failbridge: the re-test of {ticket.test_case_id} "
                "passed; the scenario is Passed and the ticket verified."
            )
            transition = mapping.get("closeTransition")
        else:
            recent = [o.to_dict() for o in self._stores.executions.occurrences(ticket_id)[-5:]]
            lines = [
                f"- {o.get('at')}: {o.get('testCaseId')} in run {o.get('runId')} "
                f"by {o.get('reporter')}: {o.get('actual') or ''}"
                for o in recent
            ]
            why = "the re-test failed" if kind == "retest_failed" else "the scenario failed again"
            text = f"failbridge: {why}; reopening.\n" + "\n".join(lines)
            transition = mapping.get("reopenTransition") or "Reopened"
        since = _move_time(kind, ticket) - COMMENT_CLOCK_SKEW_SECONDS
        self._once(
            ticket,
            f"{move}:comment",
            lambda: (
                None if tracker.commented_since(key, text, since) else tracker.comment(key, text)
            ),
        )
        if transition:
            self._once(
                ticket, f"{move}:transition", lambda: self._transition(tracker, key, transition)
            )
        self.tell_workflow(ticket)
        return "synced"

    def _once(self, ticket: Ticket, step: str, action: Callable[[], Any]) -> None:
        """One step told to Jira once: skipped when recorded done or claimed by a delivery
        still at it (the claim lapses after SYNC_CLAIM_SECONDS, for a process that died);
        released when Jira did not take it, so the delivery's retry takes it again."""
        if step in (ticket.jira_steps or []):
            return
        if not self._tickets.claim_step(ticket.id, step, int(time.time()), SYNC_CLAIM_SECONDS):
            return
        try:
            action()
        except BaseException:
            self._tickets.release_step(ticket.id, step)
            raise
        self._tickets.add_steps(ticket.id, {step})

    @staticmethod
    def _transition(tracker: Any, key: str, name: str) -> None:
        try:
            tracker.transition(key, name)
        except JiraRejected as exc:  # no such transition from where the issue is: say so
            logger.warning("Jira transition skipped", extra={"key": key, "reason": str(exc)})

    # -- knowledge base ---------------------------------------------------------------------

    def record_knowledge(self, ticket_id: str) -> str:
        ticket = self._tickets.get(ticket_id)
        earlier = [
            t
            for t in self._tickets.of_scenario(ticket.project, ticket.scenario_id)
            if t.id != ticket_id and t.status in (S.RESOLVED, S.VERIFIED, S.CLOSED)
        ]
        if not earlier and int(ticket.occurrences or 0) < KNOWLEDGE_OCCURRENCES:
            return "not recurring"
        key = (ticket.jira or {}).get("key")
        resolution, comment = (None, None)
        if key:
            resolution, comment = self._tracker().resolution_and_last_comment(key)
        self._stores.projects.put_knowledge(
            ticket.project,
            {
                "scenarioId": ticket.scenario_id,
                "ticketId": ticket_id,
                "jiraKey": key,
                "rootCause": resolution,
                "fix": comment,
                "at": now_iso(),
                "occurrences": ticket.occurrences,
                "title": ticket.title,
            },
        )
        return "recorded"

    # -- reconciliation ---------------------------------------------------------------------

    def reconcile(self) -> dict[str, int]:
        """Compare every live, Jira-backed ticket with its issue and apply what a lost webhook
        missed. Runs on a schedule."""
        counts = {"checked": 0, "repaired": 0}
        statuses = [
            s.value
            for s in LIVE_TICKET_STATUSES
            if s in (S.OPEN, S.REOPENED, S.DEFERRED, S.BLOCKED, S.RESOLVED)
        ]
        for project in self._stores.projects.all():
            if not project.get("jira"):
                continue
            tickets: list[Ticket] = []
            for status in statuses:
                cursor = None
                while True:
                    page, cursor = self._tickets.page(
                        project["key"], status=status, module=None, limit=100, cursor=cursor
                    )
                    tickets.extend(t for t in page if (t.jira or {}).get("key"))
                    if not cursor:
                        break
            by_key = {(t.jira or {})["key"]: t for t in tickets}
            for start in range(0, len(by_key), 50):
                keys = list(by_key)[start : start + 50]
                for issue in self._tracker().current(keys):
                    counts["checked"] += 1
                    outcome = self._apply({"key": issue["key"], **issue})
                    if outcome not in ("no change", "stale", "not ours", "changed meanwhile"):
                        counts["repaired"] += 1
        return counts


def _move_time(kind: str, ticket: Ticket) -> float:
    """When the ticket made the move a re-test or regression message tells (epoch seconds;
    0 when its history does not say)."""
    to = S.VERIFIED if kind == TaskType.RETEST_PASSED else S.REOPENED
    made = [h.at for h in ticket.history if h.status == to and h.at]
    if not made:
        return 0.0
    try:
        return datetime.fromisoformat(made[-1].replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _move_told(kind: str, ticket: Ticket) -> str:
    """Which move a re-test or regression message tells Jira of: the kind and how many times
    the ticket has made that move (its first reopen, its second ...), so a redelivery names the
    same move and a later move a new one."""
    to = S.VERIFIED if kind == TaskType.RETEST_PASSED else S.REOPENED
    return f"{kind}#{sum(1 for h in ticket.history if h.status == to)}"
