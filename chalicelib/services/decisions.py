"""What the lead decides about a draft, how the lead is asked, and what happens when nobody
decides in time.

The decision is recorded in DynamoDB first (status, history, the approval nonce: one
transaction), then handed to the waiting workflow execution. If that hand-over fails, the next
time the workflow asks (a reminder round) the recorded decision answers it at once."""

from __future__ import annotations

from typing import Any, Literal

from chalicelib.clock import now_iso
from chalicelib.domain import lifecycle
from chalicelib.domain.approval_tokens import ApprovalClaims
from chalicelib.domain.conflicts import AlsoFailed, TransactionConflict
from chalicelib.domain.lifecycle import Cause
from chalicelib.domain.roles import Actor, Role
from chalicelib.domain.statuses import TicketStatus, is_live
from chalicelib.domain.tasks import TaskType
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_problem
from chalicelib.services.asking import (
    DECISION_OF,
    DRAFTS_DECIDABLE_PER_CLUSTER_LINE,
    FLUSH_LEASE_SECONDS,
    MAX_DRAFTS_LISTED,
    MAX_DRAFTS_READ,
    AskingLead,
    Stores,
)

__all__ = [
    "DECISION_OF",
    "DRAFTS_DECIDABLE_PER_CLUSTER_LINE",
    "FLUSH_LEASE_SECONDS",
    "MAX_DRAFTS_LISTED",
    "MAX_DRAFTS_READ",
    "OUTCOME",
    "DecisionService",
    "Stores",
]

Decision = Literal["approve", "reject", "merge", "link"]
OUTCOME = {
    "approve": (Cause.APPROVE, TicketStatus.APPROVED),
    "link": (Cause.LINK, TicketStatus.APPROVED),  # approved, linked to an existing Jira defect
    "reject": (Cause.REJECT, TicketStatus.REJECTED),
    "merge": (Cause.MERGE, TicketStatus.MERGED),
}


class DecisionService(AskingLead):
    # -- deciding ------------------------------------------------------------------------------

    def check_link(self, token: str) -> tuple[ApprovalClaims, Ticket]:
        """A link's claims and ticket, if it may still decide; raises why not (403/409/410)."""
        claims = self._signer.verify(token, self._clock())
        if claims.kind != "ticket":
            raise Forbidden("this approval link is not valid")
        try:
            ticket = self._tickets.get(claims.ticket_id)
        except NotFound as exc:
            raise Forbidden("this approval link is not valid") from exc
        if self.lead_of(ticket).get("lead") != claims.lead:
            raise Forbidden("this approval link was issued to someone who is not the lead")
        if self._stores.nonces.used(claims.nonce):
            raise Conflict("this approval link was used already")
        if not ticket.is_draft:
            raise Conflict(f"this draft was decided already: it is {ticket.status}")
        return claims, ticket

    def decide_by_link(
        self,
        token: str,
        decision: str,
        reason: str | None,
        merge_into: str | None,
        jira_key: str | None = None,
    ) -> Ticket:
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
    ) -> Ticket:
        ticket = self._tickets.get(ticket_id)
        if ticket.project != project:
            raise NotFound(f"ticket {ticket_id} does not exist")
        if actor.role != Role.ADMIN and self.lead_of(ticket).get("lead") != actor.who:
            raise Forbidden(f"only the lead of module {ticket.module} or an admin may decide")
        if not ticket.is_draft:
            raise Conflict(f"this draft was decided already: it is {ticket.status}")
        return self._decide(ticket, decision, reason, merge_into, actor, None, jira_key)

    def project_of(self, ticket_id: str) -> str:
        return self._tickets.get(ticket_id).project

    def lead_for_slack_user(self, ticket_id: str, slack_user_id: str) -> Actor:
        ticket = self._tickets.get(ticket_id)
        lead = self.lead_of(ticket)
        if not slack_user_id or lead.get("slackUserId") != slack_user_id:
            raise Forbidden("this Slack user is not the module's lead")
        return Actor(lead["lead"], Role.LEAD, "slack")

    def _decide(
        self,
        ticket: Ticket,
        decision: str,
        reason: str | None,
        merge_into: str | None,
        actor: Actor,
        claims: ApprovalClaims | None,
        jira_key: str | None = None,
    ) -> Ticket:
        reason = _checked(decision, reason, jira_key)
        at = now_iso()
        also = []
        if claims is not None:
            also.append(
                self._stores.nonces.use(claims.nonce, ticket.id, at, claims.expires_at + 86400)
            )
        extra: dict[str, Any] = {
            "decidedBy": actor.who,
            "decidedVia": actor.via,
            "workflowState": "decided",
        }
        pointer = None
        if decision == "merge":
            target = self._merge_target(ticket, merge_into)
            also.append(self._tickets.absorb_update(target.id, ticket, at))
            extra["mergedInto"] = target.id
            if target.scenario_id != ticket.scenario_id:
                pointer = (target.id, target.status)
            reason = reason or f"merged into {target.id}"
        elif decision == "reject":
            extra["falsePositive"] = True
        elif decision == "link":
            extra["linkTo"] = jira_key
            reason = reason or f"linked to the existing defect {jira_key}"
        cause, to = OUTCOME[decision]
        done = lifecycle.move(ticket, cause, to, by=actor.who, reason=reason, at=at)
        self._store_decision(ticket, done, extra, also, pointer, nonce=claims is not None)
        decided = lifecycle.apply(Ticket.from_dict({**ticket.to_dict(), **extra}), done)
        # The token as it is now: the workflow may have stored it after we read the ticket.
        token = self._tickets.get(ticket.id).task_token
        if token:
            self._hand_over(token, decided)
        return decided

    def _store_decision(
        self,
        ticket: Ticket,
        done: lifecycle.Move,
        extra: dict[str, Any],
        also: list[dict[str, Any]],
        pointer: tuple[str, str] | None,
        *,
        nonce: bool,
    ) -> None:
        try:
            self._tickets.transition(
                ticket, done, extra=extra, also=also, point_scenario_to=pointer
            )
        except AlsoFailed as exc:
            if nonce and exc.index == 0:
                raise Conflict("this approval link was used already") from exc
            raise Conflict(
                f"ticket {extra.get('mergedInto')} ended meanwhile; nothing was merged"
            ) from exc
        except TransactionConflict as exc:
            raise Conflict("the ticket changed meanwhile; try again") from exc

    def _merge_target(self, ticket: Ticket, merge_into: str | None) -> Ticket:
        if not merge_into:
            raise ValidationFailed(
                "a merge needs the ticket to merge into",
                [field_problem("mergeInto", "is required to merge")],
            )
        try:
            target = self._tickets.get(merge_into)
        except NotFound as exc:
            raise ValidationFailed(
                "no such ticket", [field_problem("mergeInto", "is not a ticket of this project")]
            ) from exc
        if target.project != ticket.project or target.id == ticket.id:
            raise ValidationFailed(
                "cannot merge there",
                [field_problem("mergeInto", "must be another ticket of this project")],
            )
        if not is_live(target.status):
            raise ValidationFailed(
                "cannot merge into an ended ticket",
                [field_problem("mergeInto", f"is {target.status}")],
            )
        return target

    def notify_channel(self, message: dict[str, Any]) -> None:
        """The team's channel (the webhook's): re-test requests and the like."""
        self._notifier.send(message)

    def lead_email(self, ticket: Ticket) -> str:
        return str(self.lead_of(ticket).get("lead") or "")

    def tell_lead(self, ticket: Ticket, text: str, notice_id: str) -> None:
        """A notice to the ticket's lead, queued: Slack being down or throttling delays it, the
        notice id keeps a redelivered one from being sent twice."""
        lead = self.lead_of(ticket)
        self._queue.send(
            {
                "type": TaskType.TELL_LEAD.value,
                "lead": lead.get("lead"),
                "channel": lead.get("slackUserId"),
                "text": text,
                "noticeId": notice_id,
            }
        )

    def send_notice(self, task: dict[str, Any]) -> str:
        notice_id = str(task["noticeId"])
        if self._stores.notices.sent(notice_id):
            return "sent already"
        text = str(task["text"]).replace("<", "&lt;").replace(">", "&gt;")
        self._notifier.send({"text": text}, channel=task.get("channel"))
        self._stores.notices.mark_sent(notice_id, int(self._clock()))
        return "sent"

    # -- the deadline --------------------------------------------------------------------------

    def expire(self, ticket_id: str) -> bool:
        ticket = self._tickets.get(ticket_id)
        if not ticket.is_draft:
            return False
        done = lifecycle.move(
            ticket,
            Cause.EXPIRY,
            TicketStatus.EXPIRED,
            by="failbridge",
            reason="no decision before the deadline",
            at=now_iso(),
        )
        try:
            self._tickets.transition(ticket, done)
        except Conflict:
            return False
        return True


def _checked(decision: str, reason: str | None, jira_key: str | None) -> str | None:
    """The decision is one we know, with what it needs; returns the reason, trimmed."""
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
    return reason
