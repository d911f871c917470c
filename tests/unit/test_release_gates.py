"""A release's gate verdict from its own stories: pass rate of its test cases' last results in
the release, its open defects by severity, its story coverage; the project's saved "release"
gate when there is one (other metrics read from the project's figures), reasons when it fails."""

from __future__ import annotations

from chalicelib.domain.gates import Gate, scope_figures, scope_value
from chalicelib.domain.requirements import CoverageLink, Requirement
from chalicelib.domain.tickets import Ticket
from chalicelib.services.metrics import MetricsService
from chalicelib.services.metrics import Stores as MetricStores
from chalicelib.services.requirements import RequirementService, Stores
from tests.unit.fakes import FakeClock, FakeCursors, FakeRequirements, FakeStores, FakeTestCases

SCOPE = "release:2.4.0"


def test_scope_figures_count_each_defect_once_and_only_results_run_here() -> None:
    figures = scope_figures(
        4,
        1,
        {"a": "passed", "b": "failed", "c": None, "d": "passed"},
        [{"severity": "critical"}, {"severity": None}],
    )
    assert figures == {
        "stories": 4,
        "testCases": 4,
        "executed": 3,
        "passRate": 66.67,
        "openDefects": {"total": 2, "bySeverity": {"critical": 1, "unknown": 1}},
        "coverage": 75.0,
    }
    assert scope_value(Gate("criticalDefects", "eq", 0), figures) == 1.0
    assert scope_value(Gate("openDefects", "lte", 0, severity="unknown"), figures) == 1.0
    assert scope_value(Gate("coverage", "gte", 80), figures) == 75.0
    empty = scope_figures(0, 0, {}, [])
    assert empty["passRate"] is None and empty["coverage"] is None


def _world() -> tuple[RequirementService, FakeStores]:
    stores = FakeStores()
    stores.projects.create({"key": "P", "name": "P"})
    requirements = FakeRequirements()
    for rid in ("KP-1", "KP-2", "KP-3"):
        requirements.put(Requirement(project="P", requirement_id=rid, fix_versions=["2.4.0"]))
    requirements.link(
        [
            CoverageLink("P", "KP-1", "TC-1", status="passed", in_={SCOPE: {"status": "passed"}}),
            CoverageLink(
                "P",
                "KP-2",
                "TC-2",
                status="failed",
                scenario_id="checkout.b",
                in_={SCOPE: {"status": "failed"}},
            ),
        ]
    )
    stores.tickets.seed(
        Ticket.from_dict(
            {
                "id": "tk_1",
                "project": "P",
                "status": "open",
                "scenarioId": "checkout.b",
                "module": "checkout",
                "severity": "critical",
                "createdAt": "2026-03-01T09:00:00.000Z",
            }
        )
    )
    metrics = MetricsService(
        MetricStores(stores.metrics, stores.gates, stores.executions, stores.projects),
        clock=lambda: "2026-03-10T12:00:00.000Z",
    )
    service = RequirementService(
        Stores(requirements, stores.projects, stores.scenarios, stores.tickets),
        lambda: None,  # type: ignore[arg-type,return-value]
        FakeCursors(),
        FakeTestCases(),
        clock=FakeClock(),
        gate=metrics.scope_verdict,
    )
    return service, stores


def test_the_default_gates_fail_a_release_with_its_reasons() -> None:
    service, _ = _world()
    view = service.scope_view("P", "release", "2.4.0")
    assert view["summary"]["withOpenDefects"] == 1 and view["summary"]["untested"] == 1
    gate = view["gate"]
    assert gate["evaluated"] is True and gate["gate"] == "default" and gate["passed"] is False
    values = {r["metric"]: (r["value"], r["passed"], r["source"]) for r in gate["results"]}
    assert values == {
        "passRate": (50.0, False, "release"),
        "criticalDefects": (1.0, False, "release"),
        "coverage": (66.67, False, "release"),
    }
    assert gate["reasons"] == [
        "bring the pass rate (%) from 50 to >= 95",
        "bring the open critical defects from 1 to = 0",
        "bring the requirements coverage (%) from 66.67 to >= 80",
    ]
    assert gate["recommendation"].startswith("Not ready: bring the pass rate")


def test_a_saved_release_gate_is_used_and_project_metrics_come_from_the_figures() -> None:
    service, stores = _world()
    stores.gates.put(
        "P",
        "release",
        {
            "name": "release",
            "gates": [
                {"metric": "passRate", "operator": "gte", "threshold": 50},
                {"metric": "openDefects", "operator": "lte", "threshold": 1},
                {"metric": "retestBacklog", "operator": "lte", "threshold": 0},
            ],
        },
    )
    gate = service.scope_view("P", "release", "2.4.0")["gate"]
    assert gate["gate"] == "release" and gate["passed"] is True, gate
    assert [r["source"] for r in gate["results"]] == ["release", "release", "project"]
    assert gate["reasons"] == [] and gate["recommendation"] == "All quality gates passed."
    # a sprint has no saved "sprint" gate here: the defaults
    sprint = service.scope_view("P", "sprint", "Sprint 14")["gate"]
    assert sprint["gate"] == "default" and sprint["figures"]["stories"] == 0
