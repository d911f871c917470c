"""The lead's decision (`services/decisions.py`) against the in-memory fakes."""

from __future__ import annotations

import pytest

from chalicelib.adapters.slack import messages  # Block Kit building is pure: the real one
from chalicelib.domain.approval_tokens import ApprovalSigner
from chalicelib.domain.roles import Actor, Role
from chalicelib.domain.tickets import HistoryEntry, Ticket
from chalicelib.errors import Conflict, Forbidden, Gone, ValidationFailed
from chalicelib.services.decisions import DecisionService, Stores
from tests.unit.fakes import FakeClock, FakeNotifier, FakeQueue, FakeStores, FakeWorkflow

LEAD = Actor("lead@x", Role.LEAD, "api")


class World:
    def __init__(self) -> None:
        self.s = FakeStores()
        self.s.projects.create({"key": "P", "defaultLead": "admin@x"})
        self.s.projects.put_module("P", {"name": "checkout", "lead": "lead@x", "slackUserId": "U1"})
        self.clock = FakeClock()
        self.workflow = FakeWorkflow()
        self.notifier = FakeNotifier()
        self.queue = FakeQueue()
        self.signer = ApprovalSigner({"k1": b"secret"}, "k1")
        self.decisions = DecisionService(
            Stores(self.s.tickets, self.s.projects, self.s.outbox, self.s.nonces, self.s.delays),
            self.workflow,
            self.signer,
            self.notifier,
            self.queue,
            messages,
            public_url="https://fb.example",
            digest_seconds=300,
            clock=self.clock.time,
        )

    def draft(
        self, ticket_id: str = "tk_1", scenario: str = "checkout.pay", **kw: object
    ) -> Ticket:
        at = self.clock()
        return self.s.tickets.seed(
            Ticket.from_dict(
                {
                    "id": ticket_id,
                    "project": "P",
                    "status": kw.pop("status", "draft"),
                    "scenarioId": scenario,
                    "module": "checkout",
                    "createdAt": at,
                    "occurrences": 1,
                    "reporters": ["ci"],
                    "history": [HistoryEntry(at=at, status="draft").to_dict()],
                    **kw,
                }
            )
        )

    def link(self, ticket_id: str = "tk_1", lead: str = "lead@x", ttl: int = 3600) -> str:
        token, _ = self.signer.issue(ticket_id, lead, int(self.clock.time()) + ttl)
        return token


def test_reject_needs_a_reason_merge_a_target_and_link_a_jira_key() -> None:
    w = World()
    w.draft()
    for decision, reason, merge, key, field in (
        ("reject", "  ", None, None, "reason"),
        ("merge", None, None, None, "mergeInto"),
        ("link", None, None, None, "jiraKey"),
        ("shrug", None, None, None, "decision"),
    ):
        with pytest.raises(ValidationFailed) as bad:
            w.decisions.decide("tk_1", decision, reason, merge, LEAD, "P", jira_key=key)
        assert bad.value.details[0]["field"] == field
    assert w.s.tickets.get("tk_1").status == "draft"


def test_the_lead_approves_and_the_waiting_workflow_hears_it() -> None:
    w = World()
    w.draft(taskToken="tok")
    decided = w.decisions.decide("tk_1", "approve", None, None, LEAD, "P")
    assert decided.status == "approved"
    stored = w.s.tickets.get("tk_1")
    assert (stored.status, stored.decided_by, stored.workflow_state) == (
        "approved",
        "lead@x",
        "decided",
    )
    assert w.workflow.answers == [
        ("tok", {"decision": "approve", "status": "approved", "by": "lead@x"})
    ]
    assert w.s.db.scenarios[("P", "checkout.pay")]["liveTicketStatus"] == "approved"


def test_link_and_merge_record_what_they_need() -> None:
    w = World()
    w.draft()
    linked = w.decisions.decide("tk_1", "link", None, None, LEAD, "P", jira_key="QA-7")
    assert (linked.status, linked.link_to) == ("approved", "QA-7")
    w.draft("tk_2", scenario="checkout.refund")
    merged = w.decisions.decide("tk_2", "merge", None, "tk_1", LEAD, "P")
    assert (merged.status, merged.merged_into) == ("merged", "tk_1")
    target = w.s.tickets.get("tk_1")
    assert (target.occurrences, target.merged_from) == (2, ["tk_2"])
    # the merged draft's scenario now points at the ticket it was merged into
    assert w.s.db.scenarios[("P", "checkout.refund")]["liveTicketId"] == "tk_1"


def test_only_the_modules_lead_or_an_admin_decides() -> None:
    w = World()
    w.draft()
    with pytest.raises(Forbidden):
        w.decisions.decide("tk_1", "approve", None, None, Actor("bob@x", Role.LEAD, "api"), "P")
    admin = Actor("root@x", Role.ADMIN, "api")
    assert w.decisions.decide("tk_1", "reject", "noise", None, admin, "P").status == "rejected"
    with pytest.raises(Conflict):  # decided already
        w.decisions.decide("tk_1", "approve", None, None, LEAD, "P")


def test_an_approval_link_decides_once_then_gives_409() -> None:
    w = World()
    w.draft()
    token = w.link()
    assert w.decisions.decide_by_link(token, "approve", None, None).status == "approved"
    with pytest.raises(Conflict) as used:
        w.decisions.decide_by_link(token, "approve", None, None)
    assert used.value.status == 409 and "used already" in used.value.message


def test_a_link_whose_nonce_is_consumed_meanwhile_gives_409_and_changes_nothing() -> None:
    w = World()
    w.draft()
    token = w.link()
    claims = w.signer.verify(token, w.clock.time())
    w.s.nonces.used = lambda nonce: False  # type: ignore[method-assign]  # the race's window
    w.s.db.nonces[claims.nonce] = {"ticketId": "tk_1"}  # another request consumed it
    with pytest.raises(Conflict) as used:
        w.decisions.decide_by_link(token, "approve", None, None)
    assert "used already" in used.value.message
    assert w.s.tickets.get("tk_1").status == "draft"


def test_a_link_for_someone_else_or_expired_is_refused() -> None:
    w = World()
    w.draft()
    with pytest.raises(Forbidden):
        w.decisions.decide_by_link(w.link(lead="bob@x"), "approve", None, None)
    token = w.link(ttl=60)
    w.clock.advance(61)
    with pytest.raises(Gone) as gone:
        w.decisions.decide_by_link(token, "approve", None, None)
    assert gone.value.status == 410


def test_expiry_ends_a_draft_and_only_a_draft() -> None:
    w = World()
    w.draft()
    assert w.decisions.expire("tk_1") is True
    assert w.s.tickets.get("tk_1").status == "expired"
    scenario = w.s.db.scenarios[("P", "checkout.pay")]
    assert "liveTicketId" not in scenario and scenario["lastEndedStatus"] == "expired"
    assert w.decisions.expire("tk_1") is False


def test_a_decision_whose_workflow_token_is_gone_is_still_recorded() -> None:
    w = World()
    w.draft(taskToken="old")
    w.workflow.reject_all = True
    assert w.decisions.decide("tk_1", "approve", None, None, LEAD, "P").status == "approved"
    assert w.s.tickets.get("tk_1").status == "approved" and w.workflow.answers == []
