"""A whole root cause decided from Slack (`services/cluster_links.py`) against the fakes: the
digest's cluster line carries signed links to the cluster's page; the page decides nothing; a
link is bound to its cluster and lead, expires, and decides once; a split keeps it usable; an
approval and a rejection never mix; approving as one links every affected test case."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from chalicelib.adapters.slack import messages
from chalicelib.domain.approval_tokens import ApprovalSigner
from chalicelib.domain.statuses import ClusterStatus
from chalicelib.domain.testcases import TestCase
from chalicelib.domain.tickets import HistoryEntry, Ticket
from chalicelib.errors import Conflict, Forbidden, Gone, ValidationFailed
from chalicelib.services import clusters, decisions
from chalicelib.services.cluster_links import ClusterLinks
from chalicelib.services.clusters import ClusterService
from chalicelib.services.decisions import DecisionService
from tests.unit.fakes import (
    FakeClock,
    FakeNotifier,
    FakeQueue,
    FakeStores,
    FakeTestCases,
    FakeWorkflow,
)
from tests.unit.test_clusters import OUTAGE

LEAD = "lead@example.com"


class World:
    def __init__(self, drafts: int = 4, project: dict[str, Any] | None = None) -> None:
        self.s = FakeStores()
        self.s.projects.create({"key": "P", "name": "Project", **(project or {})})
        self.s.projects.put_module("P", {"name": "checkout", "lead": LEAD, "slackUserId": "U1"})
        self.clock = FakeClock()
        self.signer = ApprovalSigner.from_spec("k1:secret")
        self.notifier = FakeNotifier()
        self.test_cases = FakeTestCases()
        self.decisions = DecisionService(
            decisions.Stores(
                self.s.tickets, self.s.projects, self.s.outbox, self.s.nonces, self.s.delays
            ),
            FakeWorkflow(),
            self.signer,
            self.notifier,
            FakeQueue(),
            messages,
            public_url="https://fb.example",
            digest_seconds=60,
            clock=self.clock.time,
        )
        self.clusters = ClusterService(
            clusters.Stores(self.s.clusters, self.s.tickets, self.s.projects, self.test_cases),
            lambda: self.decisions,
            clock=self.clock,
        )
        self.links = ClusterLinks(self.clusters, self.signer, self.s.nonces, self.clock.time)
        self.ids = [self.draft(i) for i in range(drafts)]
        self.cluster_id = self.s.tickets.get(self.ids[0]).cluster_id or "" if self.ids else ""

    def draft(self, i: int, **fields: Any) -> str:
        ticket = Ticket(
            id=f"tk_{i}",
            project="P",
            status="draft",
            scenario_id=f"checkout.s{i}",
            module="checkout",
            created_at=self.clock(),
            test_case_id=f"TC-{i}",
            title=f"Scenario {i} fails",
            history=[HistoryEntry(at=self.clock(), status="draft")],
            signature=OUTAGE.to_dict(),
            **fields,
        )
        self.s.tickets.seed(ticket)
        self.clusters.place({"key": "P"}, ticket)
        return ticket.id

    def token(self, lead: str = LEAD, expires: int | None = None) -> str:
        deadline = expires if expires is not None else int(self.clock.time()) + 3600
        token, _ = self.signer.issue(self.cluster_id, lead, deadline, cluster_of="P")
        return token

    def statuses(self) -> list[str]:
        return [self.s.tickets.get(t).status for t in self.ids]


def test_the_digest_line_carries_the_clusters_signed_links_not_its_json_api() -> None:
    w = World()
    for n, ticket_id in enumerate(w.ids):
        w.decisions.awaiting(ticket_id, f"token-{n}", 0, int(w.clock.time()) + 999)
    w.decisions.flush(LEAD)
    [(message, _)] = w.notifier.sent
    assert "/v1/projects/P/clusters/" not in str(message["blocks"])
    [actions] = [b for b in message["blocks"] if b.get("block_id") == f"cluster:{w.cluster_id}"]
    buttons = {e["action_id"]: e for e in actions["elements"]}
    assert buttons["open_cluster_approve"]["text"]["text"] == "Approve as one issue…"
    assert buttons["open_cluster_approve"]["url"].endswith("?decision=approve-one")
    assert buttons["open_cluster_reject"]["url"].endswith("?decision=reject")
    tokens = {urlsplit(b["url"]).path.rsplit("/", 1)[1] for b in buttons.values()}
    assert len(tokens) == 3  # one token (one nonce) per link
    for token in tokens:
        claims, cluster = w.links.check(token)
        assert (claims.kind, claims.project, cluster.id) == ("cluster", "P", w.cluster_id)


def test_a_root_cause_of_many_drafts_links_the_ones_without_buttons_to_the_drafts_page() -> None:
    shown = decisions.DRAFTS_DECIDABLE_PER_CLUSTER_LINE
    w = World(drafts=shown + 3)
    for n, ticket_id in enumerate(w.ids):
        w.decisions.awaiting(ticket_id, f"token-{n}", 0, int(w.clock.time()) + 999)
    w.decisions.flush(LEAD)
    [(message, _)] = w.notifier.sent
    own = [b for b in message["blocks"] if str(b.get("block_id", "")).startswith("decide:")]
    assert len(own) == shown
    [more] = [b for b in message["blocks"] if "more drafts of this root cause" in str(b)]
    assert "…and 3 more drafts" in str(more) and "/pages/projects/P/drafts" in str(more)
    assert more["type"] == "context"  # in the line's own text: no block more than before


def test_the_projects_setting_names_the_approval_the_digest_offers() -> None:
    w = World(project={"clusterApproval": "per-scenario"})
    for n, ticket_id in enumerate(w.ids):
        w.decisions.awaiting(ticket_id, f"token-{n}", 0, int(w.clock.time()) + 999)
    w.decisions.flush(LEAD)
    text = str(w.notifier.sent[0][0]["blocks"])
    assert "Approve one per scenario…" in text and "decision=approve-per-scenario" in text


def test_checking_a_link_changes_nothing_and_links_of_one_kind_never_pass_for_the_other() -> None:
    w = World()
    token = w.token()
    for _ in range(3):
        w.links.check(token)
    assert w.s.db.nonces == {} and w.statuses() == ["draft"] * 4
    assert w.s.clusters.get("P", w.cluster_id).status == ClusterStatus.OPEN
    with pytest.raises(Forbidden):
        w.decisions.check_link(token)  # a cluster's link is not a ticket's
    ticket_token, _ = w.signer.issue(w.ids[0], LEAD, int(w.clock.time()) + 3600)
    with pytest.raises(Forbidden):
        w.links.check(ticket_token)
    with pytest.raises(Forbidden):
        w.links.check(w.token(lead="someone@example.com"))  # not the lead of its drafts
    with pytest.raises(Gone):
        w.links.check(w.token(expires=int(w.clock.time()) - 1))
    with pytest.raises(Forbidden):
        w.links.check(token[:-3] + "AAA")


def test_approving_as_one_by_link_decides_once_through_the_single_draft_path() -> None:
    w = World()
    token = w.token()
    with pytest.raises(ValidationFailed):
        w.links.decide(token, "maybe", None, [])
    assert w.s.db.nonces == {}  # bad input consumed nothing
    decided = w.links.decide(token, "approve-one", None, [])
    assert decided["status"] == ClusterStatus.DECIDED
    assert sorted(w.statuses()) == ["approved", "merged", "merged", "merged"]
    primary = decided["decision"]["primaryTicketId"]
    assert w.s.tickets.get(primary).status == "approved"
    assert w.s.tickets.get(primary).decided_via == "approval link"
    assert len(w.s.db.nonces) == 1
    with pytest.raises(Conflict):
        w.links.decide(token, "approve-one", None, [])  # used
    with pytest.raises(Conflict):
        w.links.check(w.token())  # decided


def test_a_split_keeps_the_link_for_the_rest_and_rejecting_all_uses_it() -> None:
    w = World()
    token = w.token()
    with pytest.raises(ValidationFailed):
        w.links.decide(token, "split", None, [])
    split = w.links.decide(token, "split", None, ["checkout.s0"])
    assert split["scenarios"] == 3 and w.s.db.nonces == {}
    rejected = w.links.decide(token, "reject", None, [])
    assert rejected["decision"]["decision"] == "reject"
    assert w.statuses() == ["draft", "rejected", "rejected", "rejected"]
    reason = w.s.tickets.get(w.ids[1]).history[-1].reason or ""
    assert reason.startswith("environment problem: ")
    with pytest.raises(Conflict):
        w.links.decide(token, "reject", None, [])


def test_an_approval_and_a_rejection_of_one_cluster_never_mix() -> None:
    w = World()
    w.s.clusters.claim_decision("P", w.cluster_id, "approve:one")  # an approval under way
    with pytest.raises(Conflict):
        w.links.decide(w.token(), "reject", None, [])
    assert w.statuses() == ["draft"] * 4 and w.s.db.nonces == {}
    # the approval's retry finishes its own decision
    assert w.links.decide(w.token(), "approve-one", None, [])["status"] == "decided"


def test_approving_as_one_links_every_test_case_registered_and_merged_ones_too() -> None:
    w = World(drafts=0)
    for case, key in (("TC-1", "KP-11"), ("TC-9", "KP-19")):  # registered (imported) keys
        w.test_cases.create(TestCase(project="P", test_case_id=case, title="t", jira_test_key=key))
    earlier = Ticket(
        id="tk_9",
        project="P",
        status="merged",
        scenario_id="checkout.s9",
        module="checkout",
        test_case_id="TC-9",
        created_at=w.clock(),
    )  # merged into tk_2 before the cluster was decided: its test case is affected too
    w.s.tickets.seed(earlier)
    w.ids = [w.draft(0, jira_test_key="KP-10"), w.draft(1), w.draft(2, merged_from=["tk_9"])]
    w.cluster_id = w.s.tickets.get(w.ids[0]).cluster_id or ""
    decided = w.links.decide(w.token(), "approve-one", None, [])
    primary = w.s.tickets.get(decided["decision"]["primaryTicketId"])
    assert primary.other["clusterTestKeys"] == ["KP-10", "KP-11", "KP-19"]
