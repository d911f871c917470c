"""What the lead decides about a draft, how the lead is asked, and what happens when nobody
decides in time.

The decision is recorded in DynamoDB first (status, history, the approval nonce: one
transaction), then handed to the waiting workflow execution. If that hand-over fails, the next
time the workflow asks (a reminder round) the recorded decision answers it at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from chalicelib.adapters.dynamo import AlsoFailed, Store, TransactionConflict
from chalicelib.adapters.workflow import TokenRejected
from chalicelib.clock import now_iso
from chalicelib.domain.approval_tokens import ApprovalClaims, ApprovalSigner
from chalicelib.domain.roles import Actor, Role
from chalicelib.domain.statuses import TicketStatus, is_live
from chalicelib.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_problem
from chalicelib.observability import logger

Decision = Literal["approve", "reject", "merge", "link"]
OUTCOME = {
    "approve": TicketStatus.APPROVED.value,
    "link": TicketStatus.APPROVED.value,  # approved, and linked to an existing Jira defect
    "reject": TicketStatus.REJECTED.value,
    "merge": TicketStatus.MERGED.value,
}
# What the workflow is told, by the status a decision left: linking goes the approval's way.
DECISION_OF = {
    TicketStatus.APPROVED.value: "approve",
    TicketStatus.REJECTED.value: "reject",
    TicketStatus.MERGED.value: "merge",
}


class DecisionService:
    def __init__(
        self,
        store: Store,
        workflow: Any,
        signer: ApprovalSigner,
        notifier: Any,
        queue: Any,
        *,
        public_url: str,
        digest_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._workflow = workflow
        self._signer = signer
        self._notifier = notifier
        self._queue = queue
        self._public_url = public_url
        self._digest_seconds = digest_seconds
        self._clock = clock

    # -- asking the lead -----------------------------------------------------------------------

    def lead_of(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """The module's lead, or the project's default lead (`isDefault`) when the module has
        none. Read per message, so a lead added later gets the next reminder and decides."""
        module = self._store.get_module(ticket["project"], ticket["module"])
        if module is None or not module.get("lead"):
            project = self._store.get_project(ticket["project"]) or {}
            return {
                "lead": project.get("defaultLead", ""),
                "slackUserId": None,
                "isDefault": True,
            }
        return module

    def awaiting(self, ticket_id: str, task_token: str, round_: int, deadline: int) -> str:
        """The workflow waits for a decision on this ticket (round 0) or again (a reminder)."""
        ticket = self._store.get_ticket(ticket_id)
        if ticket["status"] != TicketStatus.DRAFT.value:
            self._hand_over(task_token, ticket)
            return "answered"
        stored = self._store.set_ticket_fields(
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
            self._hand_over(task_token, self._store.get_ticket(ticket_id))
            return "answered"
        lead = self.lead_of(ticket)
        if round_ > 0:
            message = self._draft_message(ticket, lead, deadline, reminder=True)
            self._notifier.send(message, channel=lead.get("slackUserId"))
            return "reminded"
        now = int(self._clock())
        self._store.queue_notification(lead["lead"], ticket_id, now_iso())
        # Every draft schedules the flush of the window it falls in: the first flush sends the
        # digest, later ones find nothing or what arrived after it, so no draft is stranded.
        closes = self._store.digest_window(lead["lead"], now, self._digest_seconds)
        self._queue.send(
            {"type": "flush_notifications", "lead": lead["lead"]},
            delay_seconds=max(0, closes - now),
        )
        return "queued"

    def flush(self, lead_email: str) -> int:
        """Send what waits for a lead: one message for one draft, one digest for many."""
        from chalicelib.adapters.slack_messages import digest_messages

        pending = self._store.pending_notifications(lead_email)
        drafts = []
        for item in pending:
            ticket = self._store.get_ticket(item["ticketId"])
            if ticket["status"] == TicketStatus.DRAFT.value:
                drafts.append(ticket)
        if drafts:
            lead = self.lead_of(drafts[0])
            deadline = int(drafts[0].get("decisionDeadline") or self._clock() + 3 * 86400)
            if len(drafts) == 1:
                messages = [self._draft_message(drafts[0], lead, deadline)]
            else:
                messages = digest_messages(
                    [
                        (self._view(t, self.lead_of(t)), self._links(t, lead["lead"], deadline))
                        for t in drafts
                    ]
                )
            for message in messages:
                self._notifier.send(message, channel=lead.get("slackUserId"))
        self._store.clear_notifications(pending)
        return len(drafts)

    def _view(self, ticket: dict[str, Any], lead: dict[str, Any] | None = None) -> dict[str, Any]:
        view = {**ticket, "ticketUrl": f"{self._public_url}/v1/tickets/{ticket['id']}"}
        if lead and lead.get("isDefault"):
            view["leadNote"] = (
                f"Module {ticket['module']} has no lead, so you are asked as project "
                f"{ticket['project']}'s default lead. Give it one: "
                f"PUT /v1/projects/{ticket['project']}/modules/{ticket['module']}"
            )
        return view

    def _links(self, ticket: dict[str, Any], lead: str, deadline: int) -> dict[str, str]:
        links = {}
        for decision in ("approve", "reject"):
            token, _ = self._signer.issue(ticket["id"], lead, deadline)
            links[decision] = f"{self._public_url}/v1/approvals/{token}?decision={decision}"
        return links

    def _draft_message(
        self, ticket: dict[str, Any], lead: dict[str, Any], deadline: int, *, reminder: bool = False
    ) -> dict[str, Any]:
        from chalicelib.adapters.slack_messages import draft_message

        return draft_message(
            self._view(ticket, lead), self._links(ticket, lead["lead"], deadline), reminder=reminder
        )

    # -- deciding ------------------------------------------------------------------------------

    def check_link(self, token: str) -> tuple[ApprovalClaims, dict[str, Any]]:
        """A link's claims and ticket, if it may still decide; raises why not (403/409/410)."""
        claims = self._signer.verify(token, self._clock())
        try:
            ticket = self._store.get_ticket(claims.ticket_id)
        except NotFound as exc:
            raise Forbidden("this approval link is not valid") from exc
        if self.lead_of(ticket).get("lead") != claims.lead:
            raise Forbidden("this approval link was issued to someone who is not the lead")
        if self._store.nonce_used(claims.nonce):
            raise Conflict("this approval link was used already")
        if ticket["status"] != TicketStatus.DRAFT.value:
            raise Conflict(f"this draft was decided already: it is {ticket['status']}")
        return claims, ticket

    def decide_by_link(
        self,
        token: str,
        decision: str,
        reason: str | None,
        merge_into: str | None,
        jira_key: str | None = None,
    ) -> dict[str, Any]:
        claims, ticket = self.check_link(token)
        actor = Actor(claims.lead, Role.LEAD, "approval link")
        return self._decide(ticket, decision, reason, merge_into, actor, claims, jira_key)

    def decide(
        self,
        ticket_id: str,
        decision: str,
        reason: str | None,
        merge_into: str | None,
        actor: Actor,
        project: str,
        jira_key: str | None = None,
    ) -> dict[str, Any]:
        ticket = self._store.get_ticket(ticket_id)
        if ticket["project"] != project:
            raise NotFound(f"ticket {ticket_id} does not exist")
        if actor.role != Role.ADMIN and self.lead_of(ticket).get("lead") != actor.who:
            raise Forbidden(f"only the lead of module {ticket['module']} or an admin may decide")
        if ticket["status"] != TicketStatus.DRAFT.value:
            raise Conflict(f"this draft was decided already: it is {ticket['status']}")
        return self._decide(ticket, decision, reason, merge_into, actor, None, jira_key)

    def project_of(self, ticket_id: str) -> str:
        return str(self._store.get_ticket(ticket_id)["project"])

    def lead_for_slack_user(self, ticket_id: str, slack_user_id: str) -> Actor:
        ticket = self._store.get_ticket(ticket_id)
        lead = self.lead_of(ticket)
        if not slack_user_id or lead.get("slackUserId") != slack_user_id:
            raise Forbidden("this Slack user is not the module's lead")
        return Actor(lead["lead"], Role.LEAD, "slack")

    def _decide(
        self,
        ticket: dict[str, Any],
        decision: str,
        reason: str | None,
        merge_into: str | None,
        actor: Actor,
        claims: ApprovalClaims | None,
        jira_key: str | None = None,
    ) -> dict[str, Any]:
        if decision not in OUTCOME:
            raise ValidationFailed(
                "unknown decision",
                [field_problem("decision", "must be one of approve, reject, merge, link")],
            )
        if decision == "link" and not jira_key:
            raise ValidationFailed(
                "linking needs the existing defect",
                [field_problem("jiraKey", "is required to link an existing Jira defect")],
            )
        reason = (reason or "").strip() or None
        if decision == "reject" and not reason:
            raise ValidationFailed(
                "a rejection needs a reason", [field_problem("reason", "is required to reject")]
            )
        at = now_iso()
        also = []
        if claims is not None:
            also.append(
                self._store.nonce_put(claims.nonce, ticket["id"], at, claims.expires_at + 86400)
            )
        nonce_at = len(also) - 1 if claims is not None else None
        to_status = OUTCOME[decision]
        extra: dict[str, Any] = {
            "decidedBy": actor.who,
            "decidedVia": actor.via,
            "workflowState": "decided",
        }
        pointer = None
        if decision == "merge":
            target = self._merge_target(ticket, merge_into)
            also.append(self._store.absorb_update(target["id"], ticket, at))
            extra["mergedInto"] = target["id"]
            if target["scenarioId"] != ticket["scenarioId"]:
                pointer = (target["id"], target["status"])
            reason = reason or f"merged into {target['id']}"
        if decision == "reject":
            extra["falsePositive"] = True
        if decision == "link":
            extra["linkTo"] = jira_key
            reason = reason or f"linked to the existing defect {jira_key}"
        entry = {"at": at, "status": to_status, "by": actor.who, "reason": reason}
        try:
            self._store.transition(
                ticket,
                from_statuses=[TicketStatus.DRAFT.value],
                to_status=to_status,
                entry=entry,
                extra=extra,
                also=also,
                point_scenario_to=pointer,
            )
        except AlsoFailed as exc:
            if exc.index == nonce_at:
                raise Conflict("this approval link was used already") from exc
            raise Conflict(f"ticket {merge_into} ended meanwhile; nothing was merged") from exc
        except TransactionConflict as exc:
            raise Conflict("the ticket changed meanwhile; try again") from exc
        decided = {**ticket, **extra, "status": to_status}
        decided["history"] = [*ticket.get("history", []), entry]
        # The token as it is now: the workflow may have stored it after we read the ticket.
        token = self._store.get_ticket(ticket["id"]).get("taskToken")
        if token:
            self._hand_over(token, decided)
        return decided

    def _merge_target(self, ticket: dict[str, Any], merge_into: str | None) -> dict[str, Any]:
        if not merge_into:
            raise ValidationFailed(
                "a merge needs the ticket to merge into",
                [field_problem("mergeInto", "is required to merge")],
            )
        try:
            target = self._store.get_ticket(merge_into)
        except NotFound as exc:
            raise ValidationFailed(
                "no such ticket", [field_problem("mergeInto", "is not a ticket of this project")]
            ) from exc
        if target["project"] != ticket["project"] or target["id"] == ticket["id"]:
            raise ValidationFailed(
                "cannot merge there",
                [field_problem("mergeInto", "must be another ticket of this project")],
            )
        if not is_live(target["status"]):
            raise ValidationFailed(
                "cannot merge into an ended ticket",
                [field_problem("mergeInto", f"is {target['status']}")],
            )
        return target

    def _hand_over(self, task_token: str, ticket: dict[str, Any]) -> None:
        decision = DECISION_OF.get(ticket["status"])
        if decision is None and ticket["status"] == TicketStatus.EXPIRED.value:
            return
        output = {
            "decision": decision or "approve",
            "status": ticket["status"],
            "by": ticket.get("decidedBy"),
        }
        try:
            self._workflow.answer(task_token, output)
        except TokenRejected as exc:
            logger.info(
                "workflow token no longer waited on",
                extra={"ticketId": ticket["id"], "reason": str(exc)},
            )

    def notify_channel(self, message: dict[str, Any]) -> None:
        """The team's channel (the webhook's): re-test requests and the like."""
        self._notifier.send(message)

    def tell_lead_jira_failed(self, ticket: dict[str, Any], reason: str) -> None:
        lead = self.lead_of(ticket)
        text = (
            f"Jira could not take the approved draft {ticket['id']} ({ticket.get('title')}): "
            f"{reason}. It is jira_failed; an operator's redrive will finish it."
        )
        self._notifier.send(
            {"text": text.replace("<", "&lt;").replace(">", "&gt;")},
            channel=lead.get("slackUserId"),
        )

    # -- the deadline --------------------------------------------------------------------------

    def expire(self, ticket_id: str) -> bool:
        ticket = self._store.get_ticket(ticket_id)
        if ticket["status"] != TicketStatus.DRAFT.value:
            return False
        try:
            self._store.transition(
                ticket,
                from_statuses=[TicketStatus.DRAFT.value],
                to_status=TicketStatus.EXPIRED.value,
                entry={
                    "at": now_iso(),
                    "status": TicketStatus.EXPIRED.value,
                    "by": "failbridge",
                    "reason": "no decision before the deadline",
                },
            )
        except Conflict:
            return False
        return True
