"""A failure of a root cause decided before never joins its decided cluster (docs/decisions.md,
"A decided root cause fails again"), against the fakes: approved as one issue, it is an
occurrence of that issue's ticket; rejected (or approved one per scenario), it opens a draft in
a new cluster marked "new since decision", which the lead's digest line says; past the window,
it is simply a new root cause."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.roles import Actor, Role
from chalicelib.models import ResultIn, RunIn
from chalicelib.services import ingest
from chalicelib.services.ingest import ResultsService
from tests.unit.fakes import FakeCounter, FakeWorkflow
from tests.unit.test_cluster_links import LEAD, World

ADMIN = Actor("admin@example.com", Role.ADMIN, "api")


def trace(n: int) -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "/ci/tests/test_{n}.py", line 3, in test_{n}\n'
        '  File "/ci/shop/payments.py", line 88, in charge\n'
        f"ConnectionError: could not reach payments-db at 10.0.0.{n}:5432 after {n}00 ms"
    )


class Recorder:
    def __init__(self, project: dict[str, Any] | None = None) -> None:
        self.w = World(drafts=0, project=project)
        self.project = {"key": "P", **(project or {})}
        self.counter = FakeCounter()
        s = self.w.s
        self.results = ResultsService(
            ingest.Stores(s.tickets, s.filing, s.scenarios, s.executions, s.projects),
            FakeWorkflow(),
            count=self.counter,
            clock=self.w.clock,
            place=self.w.clusters.place,
            reserve=self.w.clusters.reserve,
            approved_as=self.w.clusters.approved_as,
        )
        self.runs = 0

    def report(self, scenarios: range, hours: float = 0.1) -> list[dict[str, Any] | None]:
        """Each scenario fails with the payments-db outage; returns each result's ticket."""
        self.runs += 1
        self.w.clock.advance(hours * 3600)
        results = [
            ResultIn.model_validate(
                {
                    "scenarioId": f"checkout.s{n}",
                    "testCaseId": f"TC-{n}",
                    "module": "checkout",
                    "status": "failed",
                    "error": {"type": "ConnectionError", "trace": trace(n)},
                }
            )
            for n in scenarios
        ]
        run = RunIn(id=f"run-{self.runs}")
        out = self.results.record(dict(self.project), run, results, reported_by="ci")
        return [o["ticket"] for o in out]

    def cluster_of(self, ticket_id: str) -> str:
        return str(self.w.s.tickets.get(ticket_id).cluster_id)


def test_approved_as_one_a_new_scenario_failing_again_is_an_occurrence_of_its_issue() -> None:
    r = Recorder()
    first = r.report(range(3))
    cluster_id = r.cluster_of(first[0]["id"])  # type: ignore[index]
    decided = r.w.clusters.decide("P", cluster_id, {"decision": "approve"}, ADMIN)
    primary = decided["decision"]["primaryTicketId"]
    before = r.w.s.tickets.get(primary).occurrences
    drafts = len(r.w.s.db.tickets)

    [again] = r.report(range(7, 8))  # a scenario the cluster never had
    assert again is not None and again["id"] == primary and again["merged"] is True
    assert len(r.w.s.db.tickets) == drafts  # no new draft
    assert r.w.s.tickets.get(primary).occurrences == before + 1
    assert r.counter.counts.get("RootCauseOccurrences") == 1
    [execution] = r.w.s.executions.of_run("P", f"run-{r.runs}")
    assert execution.ticket_id == primary
    assert r.w.s.clusters.get("P", cluster_id).status == "decided"  # it was not joined


def test_rejected_a_new_failure_opens_a_draft_new_since_the_decision_the_lead_sees() -> None:
    r = Recorder()
    first = r.report(range(3))
    cluster_id = r.cluster_of(first[0]["id"])  # type: ignore[index]
    r.w.clusters.decide("P", cluster_id, {"decision": "reject"}, ADMIN)

    again = r.report(range(7, 9))
    new_ids = [t["id"] for t in again if t]
    assert len(set(new_ids)) == 2 and all(t and t["status"] == "draft" for t in again)
    [new_cluster] = {r.cluster_of(t) for t in new_ids}
    assert new_cluster != cluster_id
    view = r.w.clusters.get("P", new_cluster)
    assert view["state"] == "new since decision" and view["scenarios"] == 2
    assert view["sinceDecision"]["clusterId"] == cluster_id
    assert view["sinceDecision"]["decision"] == "reject"
    assert r.w.s.clusters.get("P", cluster_id).status == "decided"
    for n, ticket_id in enumerate(new_ids):
        r.w.decisions.awaiting(ticket_id, f"token-{n}", 0, int(r.w.clock.time()) + 999)
    r.w.decisions.flush(LEAD)
    [(message, _)] = r.w.notifier.sent
    assert "New since decision_: reject by admin@example.com" in str(message["blocks"])

    # decided again, approved as one this time: the latest decision answers
    decided = r.w.clusters.decide("P", new_cluster, {"decision": "approve"}, ADMIN)
    [third] = r.report(range(11, 12))
    assert third is not None and third["id"] == decided["decision"]["primaryTicketId"]
    # even for a signature only the rejected cluster had exactly (its first scenario's)
    [fourth] = r.report(range(1))
    assert fourth is not None and fourth["id"] == decided["decision"]["primaryTicketId"]


def test_per_scenario_approvals_and_decisions_past_the_window_open_drafts() -> None:
    r = Recorder({"clusterApproval": "per-scenario", "clusterWindowHours": 2})
    first = r.report(range(2))
    cluster_id = r.cluster_of(first[0]["id"])  # type: ignore[index]
    r.w.clusters.decide("P", cluster_id, {"decision": "approve"}, ADMIN)
    [again] = r.report(range(5, 6))
    assert again is not None and again["status"] == "draft"
    since = r.w.s.tickets.get(again["id"]).other["sinceDecision"]
    assert (since["decision"], since["mode"]) == ("approve", "per-scenario")

    later = Recorder({"clusterWindowHours": 2})
    old = later.report(range(2))
    old_cluster = later.cluster_of(old[0]["id"])  # type: ignore[index]
    later.w.clusters.decide("P", old_cluster, {"decision": "approve"}, ADMIN)
    [fresh] = later.report(range(5, 6), hours=3)  # past the window: a new root cause
    assert fresh is not None and fresh["status"] == "draft"
    assert "sinceDecision" not in later.w.s.tickets.get(fresh["id"]).other


def test_a_new_drafts_cluster_is_written_with_the_draft_and_a_lost_join_heals(
    monkeypatch: Any,
) -> None:
    r = Recorder()
    writes: list[dict[str, Any]] = []
    real = r.w.s.tickets.set_fields
    monkeypatch.setattr(
        r.w.s.tickets, "set_fields", lambda t, f, **k: writes.append(f) or real(t, f, **k)
    )
    tickets = [t["id"] for t in r.report(range(3)) if t]
    assert not [w for w in writes if "clusterId" in w]  # carried by each draft's own write
    [cluster_id] = {r.cluster_of(t) for t in tickets}
    assert set(r.w.s.clusters.get("P", cluster_id).members) == set(tickets)

    # a writer that died between storing a draft and joining its cluster: placing heals it
    r.w.s.clusters.remove_members("P", cluster_id, [tickets[1]])
    stored = r.w.s.tickets.get(tickets[1])
    assert r.w.clusters.place({"key": "P"}, stored, {}) == cluster_id
    assert tickets[1] in r.w.s.clusters.get("P", cluster_id).members
    assert r.w.clusters.place({"key": "P"}, stored, {}) == cluster_id  # placed: nothing to do
