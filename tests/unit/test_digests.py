"""Slack fan-out (`services/decisions.py`) against the fakes: one flush per lead per window, one
digest within Slack's block limit, outbox items deleted as sent, Slack's 429 honoured."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.slack import messages
from chalicelib.domain.approval_tokens import ApprovalSigner
from chalicelib.domain.outside import SlackThrottled
from chalicelib.domain.tickets import HistoryEntry, Ticket
from chalicelib.services import decisions
from chalicelib.services.decisions import DecisionService
from tests.unit.fakes import FakeClock, FakeNotifier, FakeQueue, FakeStores, FakeWorkflow

LEAD = "lead@example.com"


class World:
    def __init__(self, drafts: int) -> None:
        self.s = FakeStores()
        self.s.projects.create({"key": "P", "name": "Project"})
        self.s.projects.put_module("P", {"name": "checkout", "lead": LEAD, "slackUserId": "U1"})
        self.clock = FakeClock()
        self.queue = FakeQueue()
        self.notifier = FakeNotifier()
        self.service = DecisionService(
            decisions.Stores(
                self.s.tickets, self.s.projects, self.s.outbox, self.s.nonces, self.s.delays
            ),
            FakeWorkflow(),
            ApprovalSigner.from_spec("k1:secret"),
            self.notifier,
            self.queue,
            messages,
            public_url="https://fb.example",
            digest_seconds=60,
            clock=self.clock.time,
        )
        for i in range(drafts):
            self.s.tickets.seed(
                Ticket(
                    id=f"tk_{i:05d}",
                    project="P",
                    status="draft",
                    scenario_id=f"checkout.s{i}",
                    module="checkout",
                    created_at=self.clock(),
                    test_case_id=f"TC-{i}",
                    title=f"Scenario {i} fails",
                    history=[HistoryEntry(at=self.clock(), status="draft")],
                )
            )
            self.service.awaiting(f"tk_{i:05d}", f"token-{i}", 0, int(self.clock.time()) + 999)

    def flushes(self) -> list[dict[str, Any]]:
        return [m for m, _ in self.queue.sent if m["type"] == "flush_notifications"]


def test_five_thousand_drafts_of_one_lead_make_one_flush_and_one_digest() -> None:
    w = World(5000)
    assert len(w.flushes()) == 1  # the window's opener schedules it; the others do not
    assert w.service.flush(LEAD) == 5000
    [(message, channel)] = w.notifier.sent
    assert channel == "U1"
    assert len(message["blocks"]) <= 50
    assert message["text"].startswith("5000 new draft defects")
    assert "4988 more drafts" in message["blocks"][-1]["text"]["text"]
    assert "/v1/projects/P/tickets?status=draft" in message["blocks"][-1]["text"]["text"]
    assert w.s.db.outbox == {}
    assert w.service.flush(LEAD) == 0 and len(w.notifier.sent) == 1  # a second flush: nothing


def test_a_flush_while_another_holds_the_lease_sends_nothing() -> None:
    w = World(3)
    assert w.s.outbox.claim_flush(LEAD, int(w.clock.time()), 120)  # another flush is sending
    assert w.service.flush(LEAD) == 0 and w.notifier.sent == []
    w.clock.advance(121)  # it died: its lease runs out
    assert w.service.flush(LEAD) == 3 and len(w.notifier.sent) == 1


def test_a_draft_whose_opener_died_before_noting_the_flush_schedules_it() -> None:
    w = World(1)
    w.s.db.flush_scheduled.clear()  # the opener sent the flush but died before noting it
    w.queue.sent.clear()
    w.s.tickets.seed(
        Ticket(
            id="tk_late",
            project="P",
            status="draft",
            scenario_id="checkout.late",
            module="checkout",
            created_at=w.clock(),
            history=[HistoryEntry(at=w.clock(), status="draft")],
        )
    )
    w.service.awaiting("tk_late", "token-late", 0, int(w.clock.time()) + 999)
    assert len(w.flushes()) == 1


def test_slack_asking_to_wait_puts_the_flush_back_for_that_long_and_keeps_the_outbox() -> None:
    w = World(2)
    w.queue.sent.clear()

    def throttled(message: dict[str, Any], channel: str | None = None) -> None:
        raise SlackThrottled(30)

    w.notifier.send = throttled  # type: ignore[method-assign]
    assert w.service.flush(LEAD) == 0
    assert w.queue.sent == [({"type": "flush_notifications", "lead": LEAD}, 30)]
    assert len(w.s.db.outbox) == 2
    assert w.s.db.flush_leases == {}  # released: the delayed flush can claim it


def test_a_decided_draft_leaves_the_outbox_without_a_message() -> None:
    w = World(1)
    w.s.tickets.set_fields("tk_00000", {"status": "approved"})
    assert w.service.flush(LEAD) == 0
    assert w.notifier.sent == [] and w.s.db.outbox == {}
