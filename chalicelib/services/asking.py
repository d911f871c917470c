"""Asking the lead about a draft: one message or a digest per window (the outbox, a flush
lease), reminders, the links a message carries; and handing a recorded decision to the waiting
workflow. `DecisionService` (`services/decisions.py`) decides on top of this."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from chalicelib.clock import now_iso
from chalicelib.domain.approval_tokens import ApprovalSigner
from chalicelib.domain.outside import SlackThrottled, TokenRejected
from chalicelib.domain.ports import (
    DelayNotices,
    MessageFormat,
    NonceRepository,
    Notifier,
    OutboxRepository,
    ProjectRepository,
    Queue,
    TicketRepository,
    Workflow,
)
from chalicelib.domain.signatures import Signature
from chalicelib.domain.statuses import TicketStatus
from chalicelib.domain.tasks import TaskType
from chalicelib.domain.tickets import Ticket
from chalicelib.observability import logger

FLUSH_LEASE_SECONDS = 180  # longer than the workflow task function's timeout (120 s)
DRAFTS_DECIDABLE_PER_CLUSTER_LINE = 5  # a root cause's line keeps its first drafts' own buttons
MAX_DRAFTS_LISTED = 12  # what one Slack message (50 blocks) shows; the rest behind a link
MAX_DRAFTS_READ = 500  # drafts of one root cause share a line: read that many at most
# What the workflow is told, by the status a decision left: linking goes the approval's way.
DECISION_OF = {
    TicketStatus.APPROVED.value: "approve",
    TicketStatus.REJECTED.value: "reject",
    TicketStatus.MERGED.value: "merge",
}


@dataclass(frozen=True)
class Stores:
    """The repositories deciding and asking write through."""

    tickets: TicketRepository
    projects: ProjectRepository
    outbox: OutboxRepository
    nonces: NonceRepository
    notices: DelayNotices


class AskingLead:
    """The lead's side of a draft: asked, reminded, sent digests."""

    def __init__(
        self,
        stores: Stores,
        workflow: Workflow,
        signer: ApprovalSigner,
        notifier: Notifier,
        queue: Queue,
        messages: MessageFormat,
        *,
        public_url: str,
        digest_seconds: int,
        clock: Callable[[], float] = time.time,
        view_link: Callable[[str, str, str], str] | None = None,
        drafts_link: Callable[[str, str], str] | None = None,
    ) -> None:
        self._stores = stores
        self._tickets = stores.tickets
        self._workflow = workflow
        self._signer = signer
        self._notifier = notifier
        self._queue = queue
        self._messages = messages
        self._public_url = public_url
        self._digest_seconds = digest_seconds
        self._clock = clock
        # (project, lead, ticket id) -> a signed view link to the ticket page for the lead
        self._view_link = view_link
        # (project, lead) -> a signed view link to the project's drafts page for the lead
        self._drafts_link = drafts_link

    # -- asking the lead -----------------------------------------------------------------------

    def lead_of(self, ticket: Ticket) -> dict[str, Any]:
        """The module's lead, or the project's default lead (`isDefault`) when the module has
        none. Read per message, so a lead added later gets the next reminder and decides."""
        module = self._stores.projects.get_module(ticket.project, ticket.module)
        if module is None or not module.get("lead"):
            project = self._stores.projects.get(ticket.project) or {}
            return {"lead": project.get("defaultLead", ""), "slackUserId": None, "isDefault": True}
        return module

    def awaiting(self, ticket_id: str, task_token: str, round_: int, deadline: int) -> str:
        """The workflow waits for a decision on this ticket (round 0) or again (a reminder)."""
        ticket = self._tickets.get(ticket_id)
        if not ticket.is_draft:
            self._hand_over(task_token, ticket)
            return "answered"
        stored = self._tickets.set_fields(
            ticket_id,
            {
                "taskToken": task_token,
                "workflowState": "awaiting_decision",
                "decisionDeadline": deadline,
                "reminders": round_,
            },
            only_status=TicketStatus.DRAFT.value,
        )
        if not stored:  # decided between our read and our write: hand the decision over now
            self._hand_over(task_token, self._tickets.get(ticket_id))
            return "answered"
        lead = self.lead_of(ticket)
        if round_ > 0:
            message = self._draft_message(ticket, lead, deadline, reminder=True)
            self._notifier.send(message, channel=lead.get("slackUserId"))
            return "reminded"
        now = int(self._clock())
        self._stores.outbox.queue(lead["lead"], ticket_id, now_iso())
        # One flush per lead per window: the draft that opens the window schedules it (or, if
        # its opener died before noting it scheduled, the next draft does; a rare second flush
        # finds the lease taken or the outbox empty). Queued before the window is looked at, so
        # a draft either joins a window whose flush has not read the outbox yet (its claim ends
        # the window) or opens the next one; a flush that finds the lease taken is covered by
        # the holder, which schedules another when it lets go (`flush`).
        outbox = self._stores.outbox
        closes, schedule = outbox.digest_window(lead["lead"], now, self._digest_seconds)
        if schedule:
            self._schedule_flush(lead["lead"], max(0, closes - now))
        if schedule:
            outbox.flush_scheduled(lead["lead"], closes)
        return "queued"

    def flush(self, lead_email: str) -> int:
        """Send what waits for a lead: one message for one draft, one digest for many (at most
        what Slack's block limit allows, the rest behind a link). One flush of a lead at a time
        (a lease, whose claim ends the digest window, so drafts from then on open the next
        window and get its flush); each outbox item is deleted once its message is sent, so a
        flush that dies resends nothing that went out. Slack's 429 puts the flush back on the
        queue for as long as Slack asked. A flush turned away while this one held the lease may
        have been for drafts this one did not read: if so, and drafts wait, another flush is
        scheduled once the lease is let go."""
        outbox = self._stores.outbox
        if not outbox.claim_flush(lead_email, int(self._clock()), FLUSH_LEASE_SECONDS):
            return 0  # another flush of this lead is sending; it looks again when done
        missed = False
        try:
            sent = self._flush(lead_email)
        except SlackThrottled as exc:  # the flush put back covers every waiting draft
            self._schedule_flush(lead_email, min(900, max(1, round(exc.retry_after))))
            return 0
        finally:
            missed = outbox.release_flush(lead_email)
        if missed and outbox.pending(lead_email):
            self._schedule_flush(lead_email, 0)
        return sent

    def _schedule_flush(self, lead_email: str, delay_seconds: int) -> None:
        self._queue.send(
            {"type": TaskType.FLUSH_NOTIFICATIONS.value, "lead": lead_email},
            delay_seconds=delay_seconds,
        )

    def _flush(self, lead_email: str) -> int:
        outbox = self._stores.outbox
        pending = outbox.pending(lead_email)
        drafts: list[tuple[dict[str, Any], Ticket]] = []
        lines: dict[str, list[Ticket]] = {}  # one line per root cause (cluster) or draft
        read = 0
        for item in pending:  # read only as many tickets as one message can show
            if len(lines) >= MAX_DRAFTS_LISTED or read >= MAX_DRAFTS_READ:
                break
            read += 1
            ticket = self._tickets.get(item["ticketId"])
            if ticket.is_draft:
                drafts.append((item, ticket))
                lines.setdefault(ticket.cluster_id or ticket.id, []).append(ticket)
            else:
                outbox.clear([item])  # decided meanwhile: nothing to ask
        rest = pending[read:]
        if not drafts:
            return 0
        first = drafts[0][1]
        lead = self.lead_of(first)
        deadline = int(first.decision_deadline or self._clock() + 3 * 86400)
        if len(drafts) == 1 and not rest:
            message = self._draft_message(first, lead, deadline)
        else:
            [message] = self._messages.digest_messages(
                [self._line(group, lead["lead"], deadline) for group in lines.values()],
                more=len(rest),
                more_url=self._drafts_url(first.project, lead),
            )
        self._notifier.send(message, channel=lead.get("slackUserId"))
        outbox.clear([item for item, _ in drafts] + rest)  # sent: listed, or behind the link
        return len(drafts) + len(rest)

    def _line(
        self, tickets: list[Ticket], lead: str, deadline: int
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """A digest line: one draft with its links, or the drafts of one root cause as one."""
        first = tickets[0]
        if len(tickets) == 1 or not first.cluster_id:
            return self._view(first, self.lead_of(first)), self._links(first, lead, deadline)
        summary = Signature.from_dict(first.signature).summary if first.signature else ""
        links = self._cluster_links(first.project, first.cluster_id, lead, deadline)
        cluster = {
            "id": first.cluster_id,
            "summary": summary or str(first.title),
            "scenarios": sorted({t.scenario_id for t in tickets}),
            "tickets": [t.id for t in tickets],
            "url": links.pop("page"),
            "links": links,
            "sinceDecision": first.other.get("sinceDecision"),
            # each draft stays decidable from the message on its own (the first few of them)
            "drafts": [
                {
                    "id": t.id,
                    "scenarioId": t.scenario_id,
                    "ticketUrl": self._view(t, self.lead_of(t))["ticketUrl"],
                    **self._links(t, lead, deadline),
                }
                for t in tickets[:DRAFTS_DECIDABLE_PER_CLUSTER_LINE]
            ],
        }
        if len(tickets) > DRAFTS_DECIDABLE_PER_CLUSTER_LINE:  # the others: each on the page
            cluster["moreDrafts"] = len(tickets) - DRAFTS_DECIDABLE_PER_CLUSTER_LINE
            cluster["moreUrl"] = self._drafts_url(first.project, self.lead_of(first))
        return {**self._view(first, self.lead_of(first)), "cluster": cluster}, {}

    def _cluster_links(
        self, project: str, cluster_id: str, lead: str, deadline: int
    ) -> dict[str, str]:
        """A root cause's signed links (one token each): its page, where scenarios are split
        off, approving it as the project says (`clusterApproval`), rejecting it all."""
        mode = (self._stores.projects.get(project) or {}).get("clusterApproval") or "one"
        approve = "approve-per-scenario" if mode == "per-scenario" else "approve-one"
        links = {}
        for name, decision in (("page", None), ("approve", approve), ("reject", "reject")):
            token, _ = self._signer.issue(cluster_id, lead, deadline, cluster_of=project)
            url = f"{self._public_url}/v1/cluster-approvals/{token}"
            links[name] = url + (f"?decision={decision}" if decision else "")
        links["approveLabel"] = (
            "Approve one per scenario…" if mode == "per-scenario" else "Approve as one issue…"
        )
        return links

    def _view(self, ticket: Ticket, lead: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self._public_url}/pages/tickets/{ticket.id}"  # without a link: the 401 page
        if self._view_link is not None and lead and lead.get("lead"):
            url = self._view_link(ticket.project, str(lead["lead"]), ticket.id)
        view = {**ticket.to_dict(), "ticketUrl": url}
        if lead and lead.get("isDefault"):
            view["leadNote"] = (
                f"Module {ticket.module} has no lead, so you are asked as project "
                f"{ticket.project}'s default lead. Give it one: "
                f"PUT /v1/projects/{ticket.project}/modules/{ticket.module}"
            )
        return view

    def _drafts_url(self, project: str, lead: dict[str, Any]) -> str:
        """The drafts page, with a view link for the lead (without one: the page asks for it)."""
        if self._drafts_link is not None and lead.get("lead"):
            return self._drafts_link(project, str(lead["lead"]))
        return f"{self._public_url}/pages/projects/{quote(project, safe='')}/drafts"

    def approval_page(self, ticket: Ticket, lead: str) -> str:
        """The approval page of a draft for its lead (the form asks which decision)."""
        deadline = int(ticket.decision_deadline or self._clock() + 3 * 86400)
        token, _ = self._signer.issue(ticket.id, lead, deadline)
        return f"{self._public_url}/v1/approvals/{token}"

    def _links(self, ticket: Ticket, lead: str, deadline: int) -> dict[str, str]:
        links = {}
        for decision in ("approve", "reject"):
            token, _ = self._signer.issue(ticket.id, lead, deadline)
            links[decision] = f"{self._public_url}/v1/approvals/{token}?decision={decision}"
        return links

    def _draft_message(
        self, ticket: Ticket, lead: dict[str, Any], deadline: int, *, reminder: bool = False
    ) -> dict[str, Any]:
        return self._messages.draft_message(
            self._view(ticket, lead), self._links(ticket, lead["lead"], deadline), reminder=reminder
        )

    def _hand_over(self, task_token: str, ticket: Ticket) -> None:
        decision = DECISION_OF.get(ticket.status)
        if decision is None and ticket.status == TicketStatus.EXPIRED.value:
            return
        output = {
            "decision": decision or "approve",
            "status": ticket.status,
            "by": ticket.decided_by,
        }
        try:
            self._workflow.answer(task_token, output)
        except TokenRejected as exc:
            logger.info(
                "workflow token no longer waited on",
                extra={"ticketId": ticket.id, "reason": str(exc)},
            )
