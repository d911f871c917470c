"""Jira both ways against the fakes: creating defects (`services/defects.py`) and applying Jira's
webhook deliveries (`services/feedback.py`)."""

from __future__ import annotations

from typing import Any

import pytest

# issue formatting and the webhook signature are pure functions: the real ones
from chalicelib.adapters.jira import issues
from chalicelib.adapters.jira.webhook import verify_signature
from chalicelib.domain.delivery import Later
from chalicelib.domain.outside import JiraRejected, JiraThrottled
from chalicelib.domain.tickets import HistoryEntry, Ticket
from chalicelib.services import defects, feedback
from chalicelib.services.defects import DefectService
from chalicelib.services.feedback import FeedbackService
from tests.unit.fakes import (
    FakeBlobs,
    FakeClock,
    FakeJira,
    FakeQueues,
    FakeStores,
    FakeWorkflow,
)

MAPPING = {"projectKey": "QA", "issueType": "Bug"}


class World:
    def __init__(self) -> None:
        self.s = FakeStores()
        self.s.projects.create({"key": "P", "jira": dict(MAPPING)})
        self.clock = FakeClock()
        self.jira = FakeJira()
        self.workflow = FakeWorkflow()
        self.leads_told: list[tuple[str, str]] = []
        self.notes: list[dict[str, Any]] = []
        self.queues = FakeQueues()
        self.defects = DefectService(
            defects.Stores(
                self.s.tickets,
                self.s.projects,
                self.s.executions,
                self.s.attachments,
                self.s.circuits,
                self.s.delays,
            ),
            lambda: self.jira,
            issues,
            FakeBlobs(),
            self.workflow,
            self,  # the lead contact: what the lead is told is recorded here
            public_url="https://fb.example",
            clock=self.clock.time,
        )
        self.feedback = FeedbackService(
            feedback.Stores(self.s.tickets, self.s.projects, self.s.executions, self.s.deliveries),
            lambda: self.jira,
            self.workflow,
            self.notes.append,
            self.queues,
            jira_queue_url="jira-q",
            webhook_secret=lambda: "s3cret",
            verify_signature=verify_signature,
            clock=self.clock.time,
        )

    def lead_email(self, ticket: Ticket) -> str:
        return "lead@example.com"

    def tell_lead(self, ticket: Ticket, text: str, notice_id: str) -> None:
        self.leads_told.append((ticket.id, text))

    def ticket(self, status: str, **kw: Any) -> Ticket:
        at = self.clock()
        return self.s.tickets.seed(
            Ticket.from_dict(
                {
                    "id": "tk_1",
                    "project": "P",
                    "status": status,
                    "scenarioId": "checkout.pay",
                    "module": "checkout",
                    "testCaseId": "tc1",
                    "title": "pay fails",
                    "createdAt": at,
                    "occurrences": 1,
                    "history": [HistoryEntry(at=at, status="draft").to_dict()],
                    **kw,
                }
            )
        )


# -- defects --------------------------------------------------------------------------------


def test_an_approved_draft_goes_jira_pending_then_open_with_its_issue_key() -> None:
    w = World()
    w.ticket("approved")
    assert w.defects.process("tk_1", "jira-token") == "open"
    ticket = w.s.tickets.get("tk_1")
    assert ticket.status == "open"
    assert [h.status for h in ticket.history] == ["draft", "jira_pending", "open"]
    assert ticket.jira == {"key": "QA-1", "url": "https://jira.example/browse/QA-1"}
    assert w.s.tickets.by_jira_key("QA-1") == "tk_1"
    assert "failbridge-tk_1" in w.jira.issues["QA-1"]["fields"]["labels"]
    assert ("QA-1", "failbridge:tk_1:ticket") in w.jira.remote_links
    assert w.workflow.answers == [("jira-token", {"jira": ticket.jira, "status": "open"})]
    assert w.s.db.scenarios[("P", "checkout.pay")]["liveTicketStatus"] == "open"
    assert w.defects.process("tk_1", None) == "nothing to do"  # a repeated delivery
    assert list(w.jira.issues) == ["QA-1"]


def test_jira_refusing_the_issue_makes_it_jira_failed_and_tells_the_lead() -> None:
    w = World()
    w.ticket("approved")
    w.jira.fail("create_issue", JiraRejected("Priority is required"))
    assert w.defects.process("tk_1", None) == "jira_failed"
    ticket = w.s.tickets.get("tk_1")
    assert ticket.status == "jira_failed" and ticket.jira_failure == "Priority is required"
    [(ticket_id, text)] = w.leads_told
    assert ticket_id == "tk_1" and "Priority is required" in text


def test_throttled_jira_is_retried_after_its_retry_after_and_creates_once() -> None:
    w = World()
    w.ticket("approved")
    w.jira.fail("create_issue", JiraThrottled(42))
    with pytest.raises(Later) as later:
        w.defects.process("tk_1", None)
    assert later.value.seconds == 42  # Jira's Retry-After, not a failure: no budget spent
    assert later.value.attempt.failing_since is None
    assert w.s.tickets.get("tk_1").status == "jira_pending" and w.leads_told == []
    w.clock.advance(42)
    assert w.defects.process("tk_1", None, later.value.attempt) == "open"
    assert list(w.jira.issues) == ["QA-1"]
    assert w.s.tickets.get("tk_1").jira_create_attempts == 2


def test_jira_failed_is_redriven_to_jira_pending_and_finished() -> None:
    w = World()
    w.ticket("jira_failed")
    # a stray delivery for a ticket that gave up does nothing; only an operator's redrive does
    assert w.defects.process("tk_1", None) == "nothing to do"

    class DeadLetters:
        def redrive(self, dlq_url: str, queue_url: str) -> list[dict[str, Any]]:
            return [{"type": "create_defect", "ticketId": "tk_1"}]

    assert w.defects.redrive(DeadLetters(), "jira-dlq", "jira-q") == ["tk_1"]
    assert w.defects.process("tk_1", None) == "open"
    assert [h.status for h in w.s.tickets.get("tk_1").history][-2:] == ["jira_pending", "open"]


# -- feedback -------------------------------------------------------------------------------


def delivery(identifier: str, status: str, category: str, updated: int) -> dict[str, Any]:
    return {
        "type": "jira_event",
        "delivery": identifier,
        "key": "QA-1",
        "status": status,
        "category": category,
        "resolution": "Done" if category == "done" else None,
        "updatedAt": updated,
    }


def open_ticket(w: World) -> None:
    w.ticket("open", jira={"key": "QA-1"}, feedbackToken="fb-token", reporters=["ann"])
    w.s.db.jira_index["QA-1"] = "tk_1"


def test_jira_done_resolves_an_open_ticket_and_asks_for_a_retest() -> None:
    w = World()
    open_ticket(w)
    assert w.feedback.apply(delivery("d1", "Done", "done", 1000)) == "resolved"
    ticket = w.s.tickets.get("tk_1")
    assert (ticket.status, ticket.jira_updated_at, ticket.jira_status) == ("resolved", 1000, "Done")
    assert w.s.db.scenarios[("P", "checkout.pay")]["liveTicketStatus"] == "resolved"
    assert len(w.notes) == 1 and w.notes[0]["text"].startswith("Ready for re-test: pay fails")
    assert w.queues.sent == [("jira-q", {"type": "record_knowledge", "ticketId": "tk_1"})]
    assert w.workflow.answers == [("fb-token", {"status": "resolved"})]


def test_a_repeated_delivery_is_applied_once() -> None:
    w = World()
    open_ticket(w)
    w.feedback.apply(delivery("d1", "Blocked", "indeterminate", 1000))
    history = w.s.tickets.get("tk_1").history
    w.s.db.tickets["tk_1"]["jiraUpdatedAt"] = 0  # not even the staleness check would stop it
    assert w.feedback.apply(delivery("d1", "Blocked", "indeterminate", 1000)) == "duplicate"
    assert w.s.tickets.get("tk_1").history == history


def test_a_stale_delivery_changes_nothing() -> None:
    w = World()
    open_ticket(w)
    assert w.feedback.apply(delivery("d2", "Blocked", "indeterminate", 2000)) == "blocked"
    before = w.s.db.tickets["tk_1"].copy()
    assert w.feedback.apply(delivery("d1", "Done", "done", 1000)) == "stale"
    assert w.s.db.tickets["tk_1"] == before
    assert w.s.tickets.get("tk_1").status == "blocked"


def test_a_retest_told_to_jira_comments_and_transitions() -> None:
    w = World()
    w.ticket("reopened", jira={"key": "QA-1"})
    w.jira.issues["QA-1"] = {"fields": {}, "status": "Done"}
    assert w.feedback.sync_to_jira("retest_failed", "tk_1") == "synced"
    assert w.jira.comments[0][0] == "QA-1" and "the re-test failed" in w.jira.comments[0][1]
    assert w.jira.transitions == [("QA-1", "Reopened")]


def test_a_root_cause_approved_as_one_issue_links_every_affected_test_case_once() -> None:
    w = World()
    mapping = {**MAPPING, "linkTypes": {"defectToTestCase": "Tests"}}
    w.s.projects.set_fields("P", {"jira": mapping})
    w.ticket("approved", jiraTestKey="KP-1", clusterTestKeys=["KP-1", "KP-2", "KP-3", "x"])
    assert w.defects.process("tk_1", None) == "open"
    assert sorted(w.jira.links) == [("Tests", "QA-1", k) for k in ("KP-1", "KP-2", "KP-3")]
    w.s.tickets.set_fields("tk_1", {"status": "jira_pending"})  # a repeated delivery
    w.defects.process("tk_1", None)
    assert len(w.jira.links) == 3  # each link is a step done once
