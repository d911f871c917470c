"""Slack fan-out (`services/decisions.py`) against the fakes: one flush per lead per window, one
digest within Slack's block limit, outbox items deleted as sent, Slack's 429 honoured."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.adapters.slack import messages
from chalicelib.domain.approval_tokens import ApprovalSigner
from chalicelib.domain.outside import SlackThrottled
from chalicelib.domain.page_links import PageSigner, link_url
from chalicelib.domain.tickets import HistoryEntry, Ticket
from chalicelib.errors import Forbidden, Gone
from chalicelib.services import decisions
from chalicelib.services.decisions import MAX_DRAFTS_LISTED, DecisionService
from chalicelib.services.waiting import WaitingDrafts
from tests.unit.fakes import (
    FakeClock,
    FakeCursors,
    FakeNotifier,
    FakeQueue,
    FakeStores,
    FakeWorkflow,
)

LEAD = "lead@example.com"


class World:
    def __init__(self, drafts: int, **links: Any) -> None:
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
            **links,
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
    # without a view link, the drafts page (it asks the browser for one), never the JSON API
    assert "https://fb.example/pages/projects/P/drafts|" in message["blocks"][-1]["text"]["text"]
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


def test_the_digests_more_link_is_the_leads_view_link_to_the_drafts_page() -> None:
    pages = PageSigner.from_spec("k1:secret")

    def drafts_link(project: str, lead: str) -> str:
        return link_url(
            pages,
            "https://fb.example",
            project=project,
            role="lead",
            user=lead,
            page="drafts",
            ident=None,
            expires_at=int(time.time()) + 3600,
        )

    w = World(MAX_DRAFTS_LISTED + 3, drafts_link=drafts_link)
    assert w.service.flush(LEAD) == MAX_DRAFTS_LISTED + 3
    [(message, _)] = w.notifier.sent
    last = message["blocks"][-1]["text"]["text"]
    assert "…and 3 more drafts." in last and "/v1/" not in last
    url = re.search(r"<([^|>]+)\|See every draft waiting", last).group(1)  # type: ignore[union-attr]
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}"
        == "https://fb.example/pages/projects/P/drafts"
    )
    [token] = parse_qs(parts.query)["t"]
    claims = pages.open_link(token, parts.path, time.time())  # genuine, for this very page
    assert (claims.project, claims.role, claims.user) == ("P", "lead", LEAD)
    with pytest.raises(Forbidden):  # and no other
        pages.open_link(token, "/dashboard/P", time.time())
    with pytest.raises(Gone):
        pages.open_link(token, parts.path, time.time() + 7200)


def test_the_drafts_page_lists_a_page_at_a_time_and_lets_only_the_lead_decide() -> None:
    w = World(3)
    w.s.projects.put_module("P", {"name": "search", "lead": "other@example.com"})
    w.s.tickets.seed(
        Ticket(
            id="tk_search",
            project="P",
            status="draft",
            scenario_id="search.find",
            module="search",
            created_at=w.clock(),
            history=[HistoryEntry(at=w.clock(), status="draft")],
        )
    )
    w.s.tickets.set_fields("tk_00001", {"status": "rejected"})  # decided: not waiting
    waiting = WaitingDrafts(w.s.tickets, w.service, FakeCursors(), clock=w.clock.time)
    first, more = waiting.page("P", LEAD, None, limit=2)
    rest, end = waiting.page("P", LEAD, more, limit=2)
    rows = {r["id"]: r for r in first + rest}
    assert more and end is None and set(rows) == {"tk_00000", "tk_00002", "tk_search"}
    assert rows["tk_search"]["lead"] == "other@example.com" and not rows["tk_search"]["yours"]
    assert rows["tk_search"]["decideUrl"] is None  # another lead's draft
    mine = rows["tk_00000"]
    assert mine["yours"] and mine["lead"] == LEAD
    token = mine["decideUrl"].removeprefix("https://fb.example/v1/approvals/")
    claims, ticket = w.service.check_link(token)  # a genuine approval link for this draft
    assert (claims.lead, ticket.id) == (LEAD, "tk_00000")
    anyone, _ = waiting.page("P", "", None)  # a viewer's link: nothing to decide
    assert all(r["decideUrl"] is None for r in anyone)


def _draft(w: World, ticket_id: str) -> None:
    """A new draft of the lead's module asks for a decision now (the workflow's first task)."""
    w.s.tickets.seed(
        Ticket(
            id=ticket_id,
            project="P",
            status="draft",
            scenario_id=f"checkout.{ticket_id}",
            module="checkout",
            created_at=w.clock(),
            history=[HistoryEntry(at=w.clock(), status="draft")],
        )
    )
    w.service.awaiting(ticket_id, f"token-{ticket_id}", 0, int(w.clock.time()) + 999)


def _times_sent(w: World, ticket_id: str) -> int:
    return sum(json.dumps(message).count(f"/{ticket_id}") > 0 for message, _ in w.notifier.sent)


def _run_flushes(w: World) -> None:
    """Deliver the flush messages on the queue, each when its delay has passed, until none is
    left (a flush may schedule another)."""
    while w.flushes():
        (task, delay), *_rest = [
            (m, d) for m, d in w.queue.sent if m["type"] == "flush_notifications"
        ]
        w.queue.sent.remove((task, delay))
        w.clock.advance(delay)
        w.service.flush(task["lead"])


def test_a_draft_arriving_during_a_flush_is_sent_by_the_next_flush_once() -> None:
    w = World(3)
    w.queue.sent.clear()
    real_send = w.notifier.send

    def send_while_a_draft_arrives(message: dict[str, Any], channel: str | None = None) -> None:
        real_send(message, channel)
        if len(w.notifier.sent) == 1:  # after this flush read the outbox
            _draft(w, "tk_during")

    w.notifier.send = send_while_a_draft_arrives  # type: ignore[method-assign]
    assert w.service.flush(LEAD) == 3
    assert _times_sent(w, "tk_during") == 0 and len(w.s.db.outbox) == 1  # not lost: waiting
    assert w.flushes(), "the draft that arrived during the flush has a flush to come"
    _run_flushes(w)
    assert _times_sent(w, "tk_during") == 1  # sent by the next flush, and only once
    assert all(_times_sent(w, f"tk_{i:05d}") == 1 for i in range(3))
    assert len(w.notifier.sent) == 2 and w.s.db.outbox == {}


def test_a_draft_queued_while_a_flush_holds_the_lease_is_left_to_the_holder() -> None:
    """A flush that finds the lease taken sends nothing; the holder, done, looks again."""
    w = World(2)
    w.queue.sent.clear()
    real_send = w.notifier.send

    def send_while_another_flush_comes(message: dict[str, Any], channel: str | None = None) -> None:
        real_send(message, channel)
        if len(w.notifier.sent) == 1:
            _draft(w, "tk_late")  # opens the next window: its flush is due at once here...
            assert w.service.flush(LEAD) == 0  # ...and finds this flush's lease taken

    w.notifier.send = send_while_another_flush_comes  # type: ignore[method-assign]
    assert w.service.flush(LEAD) == 2
    assert w.flushes()  # the holder saw tk_late waiting once it let go of the lease
    _run_flushes(w)
    assert _times_sent(w, "tk_late") == 1 and w.s.db.outbox == {}


def test_a_draft_in_the_windows_last_second_schedules_no_flush_of_its_own() -> None:
    w = World(1)
    w.clock.advance(59)  # the window (60 s) closes in a second
    _draft(w, "tk_last_second")
    assert len(w.flushes()) == 1  # the window's opener's flush only
    _run_flushes(w)
    assert _times_sent(w, "tk_last_second") == 1 and w.s.db.outbox == {}
    assert len(w.notifier.sent) == 1  # one digest for the window


def test_drafts_after_a_flush_open_the_next_window_and_get_its_one_flush() -> None:
    w = World(2)
    _run_flushes(w)
    w.queue.sent.clear()
    for i in range(50):
        _draft(w, f"tk_next{i:02d}")
    assert len(w.flushes()) == 1
    _run_flushes(w)
    assert len(w.notifier.sent) == 2 and w.s.db.outbox == {}
    assert all(_times_sent(w, f"tk_next{i:02d}") == 1 for i in range(12))  # listed ones
