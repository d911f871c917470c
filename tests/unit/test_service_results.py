"""Recording results and filing failures (`services/ingest.py`, `services/filing.py`) against
the in-memory fakes."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.statuses import TicketStatus
from chalicelib.domain.tickets import HistoryEntry, Ticket
from chalicelib.models import ResultIn, RunIn
from chalicelib.services import ingest, tickets
from chalicelib.services.ingest import ResultsService
from chalicelib.services.tickets import TicketService
from tests.unit.fakes import (
    FakeBlobs,
    FakeClock,
    FakeCounter,
    FakeCursors,
    FakeStores,
    FakeWorkflow,
)

PROJECT = {"key": "P", "name": "Project"}


class World:
    def __init__(self) -> None:
        self.s = FakeStores()
        self.s.projects.create(dict(PROJECT))
        self.workflow = FakeWorkflow()
        self.clock = FakeClock()
        self.count = FakeCounter()
        self.told: list[dict[str, Any]] = []
        self.results = ResultsService(
            ingest.Stores(
                self.s.tickets, self.s.filing, self.s.scenarios, self.s.executions, self.s.projects
            ),
            self.workflow,
            count=self.count,
            clock=self.clock,
            tell_jira=self.told.append,
            regression_window_days=14,
        )

    def report(self, run: str, *results: ResultIn) -> list[dict[str, Any]]:
        return self.results.record(dict(PROJECT), RunIn(id=run), list(results), reported_by="ci")

    def ticket(self, ticket_id: str) -> Ticket:
        return self.s.tickets.get(ticket_id)


def result(status: str, tc: str = "tc1", scenario: str = "checkout.pay", **kw: Any) -> ResultIn:
    return ResultIn(scenario_id=scenario, test_case_id=tc, status=status, **kw)  # type: ignore[arg-type]


def seed(w: World, status: str, *, live: bool = True) -> Ticket:
    at = w.clock()
    return w.s.tickets.seed(
        Ticket(
            id="tk_old",
            project="P",
            status=status,
            scenario_id="checkout.pay",
            module="checkout",
            created_at=at,
            test_case_id="tc1",
            occurrences=1,
            jira={"key": "QA-1"},
            history=[HistoryEntry(at=at, status="draft")],
        ),
        point_scenario=live,
    )


def test_a_failure_opens_a_draft_and_starts_its_workflow_once() -> None:
    w = World()
    [out] = w.report("r1", result("failed", actual="boom"))
    ticket_id = out["ticket"]["id"]
    assert out["ticket"] == {"id": ticket_id, "status": "draft", "merged": False}
    ticket = w.ticket(ticket_id)
    assert (ticket.status, ticket.occurrences, ticket.actual) == ("draft", 1, "boom")
    assert ticket.last_change is not None and ticket.last_change["kind"] == "ticket.opened"
    assert list(w.workflow.starts) == [ticket_id]
    assert w.workflow.starts[ticket_id]["ticketId"] == ticket_id
    scenario = w.s.scenarios.get("P", "checkout.pay")
    assert scenario is not None
    assert (scenario.live_ticket_id, scenario.live_ticket_status) == (ticket_id, "draft")
    assert [e.execution_id for e in w.s.executions.occurrences(ticket_id)] == [out["executionId"]]


def test_a_second_failure_of_the_scenario_merges_into_its_draft() -> None:
    w = World()
    [first] = w.report("r1", result("failed"))
    w.clock.advance(60)
    [second] = w.report("r2", result("failed", tc="tc2", reporter="ann"))
    ticket_id = first["ticket"]["id"]
    assert second["ticket"] == {"id": ticket_id, "status": "draft", "merged": True}
    ticket = w.ticket(ticket_id)
    assert ticket.occurrences == 2 and ticket.reporters == ["ann", "ci"]
    assert list(w.workflow.starts) == [ticket_id]
    assert len(w.s.db.tickets) == 1


def test_a_flaky_failure_that_passed_on_retry_opens_nothing() -> None:
    w = World()
    outs = w.report("r1", result("failed", attempt=1), result("passed", attempt=2))
    assert [o["ticket"] for o in outs] == [None, None]
    assert outs[0]["flaky"] is True and "flaky" not in outs[1]
    assert w.s.db.tickets == {} and w.workflow.starts == {}
    assert w.s.db.executions[outs[0]["executionId"]]["flaky"] is True
    assert w.count.counts["FlakyResults"] == 1


def test_a_retried_report_records_nothing_twice_and_answers_with_the_same_ticket() -> None:
    w = World()
    first = w.report("r1", result("failed"), result("failed", tc="tc2"), result("passed", "tc3"))
    executions = dict(w.s.db.executions)
    again = w.report("r1", result("failed"), result("failed", tc="tc2"), result("passed", "tc3"))
    assert again == first
    ticket = w.ticket(first[0]["ticket"]["id"])
    assert ticket.occurrences == 2
    assert w.s.db.executions == executions
    assert len(w.s.db.tickets) == 1 and len(w.workflow.starts) == 1


def test_a_resolved_tickets_scenario_passing_verifies_it_and_tells_jira() -> None:
    w = World()
    seed(w, "resolved")
    [out] = w.report("r9", result("passed"))
    assert out["retest"] == {"ticketId": "tk_old", "outcome": "verified"}
    ticket = w.ticket("tk_old")
    assert ticket.status == "verified"
    assert ticket.history[-1].reason == "re-test passed: tc1 in run r9"
    assert w.told == [{"type": "retest_passed", "ticketId": "tk_old"}]
    scenario = w.s.scenarios.get("P", "checkout.pay")
    assert scenario is not None
    assert scenario.live_ticket_id is None and scenario.last_ended_ticket_id == "tk_old"


def test_a_resolved_tickets_scenario_failing_reopens_it_and_tells_jira() -> None:
    w = World()
    seed(w, "resolved")
    [out] = w.report("r9", result("failed"))
    assert out["ticket"] == {"id": "tk_old", "status": "reopened", "merged": True}
    assert out["retest"] == {"ticketId": "tk_old", "outcome": "reopened"}
    ticket = w.ticket("tk_old")
    assert (ticket.status, ticket.occurrences) == ("reopened", 2)
    assert w.told == [{"type": "retest_failed", "ticketId": "tk_old"}]
    scenario = w.s.scenarios.get("P", "checkout.pay")
    assert scenario is not None and scenario.live_ticket_status == "reopened"


def _ended(w: World, status: str, days_ago: float) -> None:
    seed(w, status, live=False)
    w.s.db.ensure_scenario("P", "checkout.pay").update(
        {"lastEndedTicketId": "tk_old", "lastEndedStatus": status, "lastEndedAt": w.clock()}
    )
    w.clock.advance(days=days_ago)


def test_a_regression_within_the_window_reopens_the_ended_ticket() -> None:
    w = World()
    _ended(w, "verified", days_ago=3)
    [out] = w.report("r9", result("failed"))
    assert out["ticket"] == {"id": "tk_old", "status": "reopened", "merged": True}  # joined it
    ticket = w.ticket("tk_old")
    assert (ticket.status, ticket.occurrences) == ("reopened", 2)
    assert ticket.history[-1].reason is not None
    assert ticket.history[-1].reason.startswith("regression: tc1 failed again")
    assert w.told == [{"type": "regression_reopened", "ticketId": "tk_old"}]
    assert list(w.workflow.starts) == ["tk_old-reopened-1"]
    assert len(w.s.db.tickets) == 1


def test_a_failure_after_the_window_opens_a_new_draft_naming_the_old_ticket() -> None:
    w = World()
    _ended(w, "closed", days_ago=15)
    [out] = w.report("r9", result("failed"))
    new = w.ticket(out["ticket"]["id"])
    assert new.id != "tk_old" and new.status == "draft" and new.regression_of == "tk_old"
    assert w.ticket("tk_old").status == "closed" and w.told == []


def test_a_scenario_with_one_failed_and_one_passed_test_case_is_failing() -> None:
    w = World()
    w.report("r1", result("failed", tc="tc1"))
    w.clock.advance(60)
    w.report("r2", result("passed", tc="tc2"))
    scenario = w.s.scenarios.get("P", "checkout.pay")
    assert scenario is not None
    assert scenario.last_result == "passed" and scenario.failing_test_cases == ["tc1"]
    assert scenario.status.value == "failing"
    view = TicketService(
        tickets.Stores(w.s.tickets, w.s.scenarios, w.s.executions, w.s.attachments, w.s.projects),
        FakeBlobs(),
        FakeCursors(),
        clock=w.clock,
    ).scenario("P", "checkout.pay")
    assert view["status"] == "failing" and view["failingTestCases"] == ["tc1"]
    assert [(r["testCaseId"], r["latest"]["status"]) for r in view["testCaseResults"]] == [
        ("tc1", "failed"),
        ("tc2", "passed"),
    ]
    assert view["liveTicket"] == w.s.db.scenarios[("P", "checkout.pay")]["liveTicketId"]
    assert view["tickets"][0]["status"] == TicketStatus.DRAFT.value
