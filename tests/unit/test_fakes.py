"""The fakes implement the ports (mypy checks the assignments below) and keep the DynamoDB
repositories' semantics that services rely on."""

from __future__ import annotations

import pytest

from chalicelib.domain import lifecycle, ports
from chalicelib.domain.conflicts import (
    AlsoFailed,
    DraftAlreadyOpen,
    DuplicateExecutions,
    TicketNotLive,
)
from chalicelib.domain.executions import Execution
from chalicelib.domain.lifecycle import Cause
from chalicelib.domain.statuses import TicketStatus as S
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Conflict
from tests.unit.fakes import (
    FakeBlobs,
    FakeClock,
    FakeCounter,
    FakeCursors,
    FakeFlakyStore,
    FakeJira,
    FakeNotifier,
    FakeQueue,
    FakeStores,
    FakeWorkflow,
)

AT = "2026-03-01T10:00:00.000Z"


def test_fakes_implement_the_ports() -> None:
    s = FakeStores()
    tickets: ports.TicketRepository = s.tickets
    filing: ports.Filing = s.filing
    scenarios: ports.ScenarioRepository = s.scenarios
    executions: ports.ExecutionRepository = s.executions
    circuits: ports.CircuitRepository = s.circuits
    delays: ports.DelayNotices = s.delays
    metrics: ports.MetricsStore = s.metrics
    gates: ports.GateRepository = s.gates
    projects: ports.ProjectRepository = s.projects
    api_keys: ports.ApiKeyRepository = s.api_keys
    outbox: ports.OutboxRepository = s.outbox
    nonces: ports.NonceRepository = s.nonces
    clusters: ports.ClusterRepository = s.clusters
    uploads: ports.UploadRepository = s.uploads
    attachments: ports.AttachmentRepository = s.attachments
    deliveries: ports.DeliveryRepository = s.deliveries
    workflow: ports.Workflow = FakeWorkflow()
    blobs: ports.Blobs = FakeBlobs()
    queue: ports.Queue = FakeQueue()
    notifier: ports.Notifier = FakeNotifier()
    tracker: ports.Tracker = FakeJira()
    clock: ports.Clock = FakeClock()
    counter: ports.Counter = FakeCounter()
    cursors: ports.Cursors = FakeCursors()
    flaky: ports.FlakyStore = FakeFlakyStore()
    assert all(
        x is not None
        for x in (
            tickets, filing, scenarios, executions, projects, api_keys, outbox, nonces,
            uploads, attachments, deliveries, workflow, blobs, queue, notifier, tracker,
            clock, counter, cursors, circuits, delays, metrics, gates, flaky, clusters,
        )
    )  # fmt: skip


def draft(ticket_id: str = "tk_1", scenario: str = "sc.a", status: str = "draft") -> Ticket:
    return Ticket(
        id=ticket_id,
        project="P",
        status=status,
        scenario_id=scenario,
        module="sc",
        created_at=AT,
        occurrences=1,
    )


def execution(n: int, ticket_id: str | None = "tk_1") -> Execution:
    return Execution(
        execution_id=f"ex_{n}",
        project="P",
        run_id="r1",
        scenario_id="sc.a",
        test_case_id=f"tc{n}",
        attempt=1,
        status="failed",
        at=AT,
        ticket_id=ticket_id,
    )


def test_open_draft_refuses_a_second_live_ticket_and_duplicate_executions() -> None:
    s = FakeStores()
    s.filing.open_draft(draft("tk_1"), [execution(1)])
    with pytest.raises(DraftAlreadyOpen):
        s.filing.open_draft(draft("tk_2"), [execution(2, "tk_2")])
    with pytest.raises(DuplicateExecutions) as dup:
        s.filing.add_occurrences("tk_1", [execution(1), execution(3)], {"qa"}, AT)
    assert dup.value.execution_ids == ["ex_1"]
    assert s.tickets.get("tk_1").occurrences == 1  # nothing of the failed write stayed
    assert "ex_3" not in s.db.executions


def test_transition_conflicts_when_the_ticket_moved_and_keeps_the_pointer() -> None:
    s = FakeStores()
    ticket = s.tickets.seed(draft())
    done = lifecycle.move(ticket, Cause.REJECT, S.REJECTED, by="lead", reason="no", at=AT)
    s.tickets.transition(ticket, done)
    scenario = s.scenarios.get("P", "sc.a")
    assert scenario is not None
    assert scenario.live_ticket_id is None and scenario.last_ended_ticket_id == "tk_1"
    with pytest.raises(Conflict):
        s.tickets.transition(ticket, done)  # it is rejected now, not a draft


def test_transition_with_a_used_nonce_fails_as_a_whole() -> None:
    s = FakeStores()
    s.tickets.seed(draft("tk_0"))
    s.tickets.transition(
        s.tickets.get("tk_0"),
        lifecycle.move(
            s.tickets.get("tk_0"), Cause.APPROVE, S.APPROVED, by="l", reason=None, at=AT
        ),
        also=[s.nonces.use("n1", "tk_0", AT, 0)],
    )
    ticket = s.tickets.seed(draft("tk_1", scenario="sc.b"))
    done = lifecycle.move(ticket, Cause.APPROVE, S.APPROVED, by="l", reason=None, at=AT)
    with pytest.raises(AlsoFailed) as failed:
        s.tickets.transition(ticket, done, also=[s.nonces.use("n1", "tk_1", AT, 0)])
    assert failed.value.index == 0
    assert s.tickets.get("tk_1").status == "draft"


def test_reopen_ended_needs_no_live_ticket_and_the_ended_status() -> None:
    s = FakeStores()
    ticket = s.tickets.seed(draft(status="verified"), point_scenario=False)
    done = lifecycle.move(ticket, Cause.REGRESSION, S.REOPENED, by="ci", reason="again", at=AT)
    s.tickets.seed(draft("tk_live"))
    with pytest.raises(DraftAlreadyOpen):
        s.filing.reopen_ended(ticket, done, [execution(1)], {"ci"})
    del s.db.scenarios[("P", "sc.a")]["liveTicketId"]
    s.db.tickets["tk_1"]["status"] = "closed"
    with pytest.raises(TicketNotLive):
        s.filing.reopen_ended(ticket, done, [execution(1)], {"ci"})
