"""Flaky detection across runs and quarantines: the rules (`domain/flaky.py`), the change
stream's reader and the recording path's check (`services/flaky.py`, `services/ingest.py`)
against the in-memory fakes, and the detector's accuracy floor on the bench's fixed seed."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain import flaky as rules
from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.flaky import FlakySettings, Outcome
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.models import ResultIn, RunIn
from chalicelib.services import ingest
from chalicelib.services.flaky import FlakyService
from chalicelib.services.ingest import ResultsService
from tests.unit.fakes import FakeClock, FakeCounter, FakeFlakyStore, FakeStores, FakeWorkflow

DEFAULTS = FlakySettings()


def history(pattern: str, *, commits: str | None = None, outage: str = "") -> list[Outcome]:
    """`PFPF`: one outcome per run, oldest first; `commits` names each run's commit (a
    character each; None: no commit); runs whose index is in `outage` (`x` marks) are outages."""
    return [
        Outcome(
            run=f"r{n:03d}",
            attempt=1,
            at=f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}.000Z",
            passed=c == "P",
            commit=commits[n] if commits else None,
            outage=len(outage) > n and outage[n] == "x",
        )
        for n, c in enumerate(pattern)
    ]


# -- the score --------------------------------------------------------------------------------


def test_a_test_that_flips_between_runs_is_flaky() -> None:
    s = rules.score(history("PFPPFPPPFPPF"), DEFAULTS)
    assert s.flaky and s.flips == 7 and s.considered == 12
    assert s.flip_rate == pytest.approx(7 / 11)


def test_a_broken_test_a_fixed_one_and_a_stable_one_are_not_flaky() -> None:
    for pattern in ("F" * 20, "P" * 10 + "F" * 10, "P" * 5 + "F" * 8 + "P" * 7, "P" * 20):
        assert not rules.score(history(pattern), DEFAULTS).flaky, pattern


def test_too_few_executions_say_nothing_by_flip_rate() -> None:
    assert not rules.score(history("PFPFPFPF"), DEFAULTS).flaky  # 8 < 10 executions
    assert rules.score(history("PFPFPFPF"), FlakySettings(min_executions=8)).flaky


def test_only_the_last_window_counts() -> None:
    flips_long_ago = "PFPFPFPFPF" + "P" * 20
    assert not rules.score(history(flips_long_ago), DEFAULTS).flaky
    assert rules.score(history(flips_long_ago), FlakySettings(window=30)).flaky


def test_outage_runs_are_left_out() -> None:
    pattern = "PPPFPPPFPPPFPPPFPPPF"
    outages = "...x...x...x...x...x"
    s = rules.score(history(pattern, outage=outages), DEFAULTS)
    assert not s.flaky and s.considered == 15 and s.flips == 0
    assert rules.score(history(pattern), DEFAULTS).flaky  # counted, they would look flaky


def test_a_failure_and_a_pass_of_one_commit_is_flaky_at_once() -> None:
    same = rules.score(history("PF", commits="aa"), DEFAULTS)
    assert same.flaky and same.retry_flip
    assert not rules.score(history("PF", commits="ab"), DEFAULTS).flaky
    # without commits, the run is the code: attempt 1 failed, attempt 2 passed
    retried = [
        Outcome("r1", 1, "2026-03-01T10:00:00.000Z", False),
        Outcome("r1", 2, "2026-03-01T10:00:00.000Z", True),
    ]
    assert rules.score(retried, DEFAULTS).flaky


def test_a_fix_landing_in_a_new_commit_is_not_a_retry_flip() -> None:
    assert not rules.score(history("FFFFPPPPPP", commits="aaaabbbbbb"), DEFAULTS).flaky


def test_merged_history_is_bounded_ordered_and_idempotent() -> None:
    old = history("PFPF")
    again = rules.merged(old, old[2:], keep=10)
    assert again == old  # a redelivered outcome replaces itself
    more = rules.merged(old, history("PPPPPPPP"), keep=5)
    assert len(more) == 5 and [o.at for o in more] == sorted(o.at for o in more)
    assert Outcome.of_stored(old[1].stored()) == old[1]


def test_an_outage_is_most_of_a_large_enough_report_failing() -> None:
    assert rules.is_outage(6, 4, DEFAULTS)  # 40 % of 10
    assert not rules.is_outage(7, 3, DEFAULTS)  # 30 % is not more than 30 %
    assert not rules.is_outage(0, 9, DEFAULTS)  # too small a report to tell


def test_settings_come_from_the_project_and_are_checked() -> None:
    project = {"flakyWindow": 30, "flakyThreshold": 0.25, "flakyOutageShare": 0.5}
    s = FlakySettings.of_project(project)
    assert (s.window, s.threshold, s.min_executions, s.outage_share) == (30, 0.25, 10, 0.5)
    assert FlakySettings.of_project({}) == DEFAULTS
    assert rules.setting_problems({"window": 3}) == [("window", "must be from 4 to 100")]
    assert rules.setting_problems({"window": 10, "minExecutions": 12}) == [
        ("minExecutions", "must be at most the window (10)")
    ]
    assert rules.setting_problems({"threshold": "x"}) == [("threshold", "must be a number")]


# -- quarantine rules -------------------------------------------------------------------------

NOW = "2026-03-01T10:00:00.000Z"


@pytest.mark.parametrize(
    ("until", "reason", "field"),
    [
        ("tomorrow", "r", "until"),
        ("2026-03-02T10:00:00", "r", "until"),  # no zone
        ("2026-03-01T09:59:59Z", "r", "until"),  # past
        ("0001-01-01T00:00:00-01:00", "r", "until"),  # before year 1 in UTC
        ("2027-03-01T10:00:00Z", "r", "until"),  # beyond 180 days
        ("2026-03-02T10:00:00Z", "  ", "reason"),
        ("2026-03-02T10:00:00Z", "x" * 501, "reason"),
    ],
)
def test_quarantine_problems_name_the_field(until: str, reason: str, field: str) -> None:
    assert [f for f, _ in rules.quarantine_problems(until, reason, NOW)] == [field]


def test_a_quarantine_ends_by_itself_at_its_until() -> None:
    q = {"until": "2026-03-01T12:00:00.000+02:00"}  # 10:00 UTC
    assert rules.quarantine_active(q, "2026-03-01T09:59:59.999Z")
    assert not rules.quarantine_active(q, "2026-03-01T10:00:00.000Z")
    assert not rules.quarantine_active(None, NOW)


# -- the reader and the recording path ------------------------------------------------------


class World:
    def __init__(self, project: dict[str, Any] | None = None) -> None:
        self.project = {"key": "P", "name": "P", **(project or {})}
        self.s = FakeStores()
        self.s.projects.create(dict(self.project))
        self.store = FakeFlakyStore()
        self.clock = FakeClock()
        self.flaky = FlakyService(self.store, self.s.projects, self.s.scenarios, clock=self.clock)
        self.results = ResultsService(
            ingest.Stores(
                self.s.tickets, self.s.filing, self.s.scenarios, self.s.executions, self.s.projects
            ),
            FakeWorkflow(),
            count=FakeCounter(),
            clock=self.clock,
        )
        self.runs = 0

    def report(self, *results: ResultIn, commit: str | None = None) -> list[dict[str, Any]]:
        """Record a report, then hand its executions to the reader as the stream would."""
        self.runs += 1
        run = RunIn(id=f"run-{self.runs}", commit=commit)
        self.clock.advance(60)
        out = self.results.record(dict(self.project), run, list(results), reported_by="ci")
        executions = self.s.executions.of_run("P", run.id)
        self.flaky.reader.apply([_event(e.to_dict()) for e in executions])
        return out


def _event(e: dict[str, Any]) -> ChangeEvent:
    keep = ("scenarioId", "testCaseId", "runId", "attempt", "status", "commit", "outage")
    return ChangeEvent(
        id=e["executionId"],
        kind=ChangeKind.EXECUTION_RECORDED,
        project=e["project"],
        at=e["at"],
        subject=e["executionId"],
        data={k: e[k] for k in keep if e.get(k) is not None},
    )


def result(status: str, tc: str = "tc1", scenario: str = "sc.pay") -> ResultIn:
    status = {"P": "passed", "F": "failed"}.get(status, status)
    return ResultIn(scenario_id=scenario, test_case_id=tc, status=status)  # type: ignore[arg-type]


def test_a_test_flipping_across_runs_is_marked_flaky_and_its_next_failure_opens_nothing() -> None:
    w = World({"flakyMinExecutions": 4})
    outs = [w.report(result(s))[0] for s in "PFPF"]
    assert outs[1]["ticket"] is not None  # before it was known to be flaky: a draft
    listed = w.flaky.flaky("P")["items"]
    assert [(i["testCaseId"], i["flips"], i["executions"]) for i in listed] == [("tc1", 3, 4)]
    assert listed[0]["lastRuns"][0]["status"] == "failed"  # newest first
    tickets_before = len(w.s.db.tickets)
    [out] = w.report(result("failed"))
    assert out["ticket"] is None and out["muted"] == "flaky" and out["flaky"] is True
    assert len(w.s.db.tickets) == tickets_before
    [execution] = w.s.executions.of_run("P", f"run-{w.runs}")
    assert execution.status == "failed" and execution.muted == "flaky" and execution.flaky


def test_a_broken_test_keeps_opening_drafts() -> None:
    w = World({"flakyMinExecutions": 4})
    for status in "PPPPFFFF":
        [out] = w.report(result(status))
    assert out["ticket"] is not None and "muted" not in out
    assert w.flaky.flaky("P")["items"] == []


def test_a_pass_on_retry_in_another_run_of_the_same_commit_marks_it_flaky() -> None:
    w = World()
    w.report(result("failed"), commit="abc")
    w.report(result("passed"), commit="abc")
    [out] = w.report(result("failed"), commit="abc")
    assert out["muted"] == "flaky" and out["ticket"] is None
    assert w.flaky.flaky("P")["items"][0]["passOnRetry"] is True


def test_an_outage_report_does_not_make_anyone_flaky() -> None:
    w = World({"flakyMinExecutions": 4})
    suite = [f"tc{n}" for n in range(10)]
    for n in range(6):
        down = n % 2 == 1  # every other run, the whole suite fails
        w.report(*(result("failed" if down else "passed", tc) for tc in suite))
    assert w.flaky.flaky("P")["items"] == []
    stored = w.store.cases[("P", "sc.pay", "tc0")]["history"]
    assert [bool(o.get("x")) for o in stored] == [False, True] * 3


def test_a_quarantined_scenario_opens_nothing_until_its_quarantine_ends() -> None:
    w = World()
    w.report(result("passed"))
    until = "2026-03-01T11:00:00Z"
    view = w.flaky.quarantine("P", "sc.pay", {"until": until, "reason": "vendor sandbox"}, "lead")
    assert view["until"] == "2026-03-01T11:00:00.000Z" and view["by"] == "lead"
    [out] = w.report(result("failed"))
    assert out["ticket"] is None and out["muted"] == "quarantined" and "flaky" not in out
    assert w.flaky.flaky("P")["quarantined"][0]["reason"] == "vendor sandbox"
    w.clock.advance(3600)  # past `until`: nothing ran, it has ended
    assert w.flaky.flaky("P")["quarantined"] == []
    [out] = w.report(result("failed", tc="tc2"))
    assert out["ticket"] is not None


def test_ending_a_quarantine_early_and_its_errors() -> None:
    w = World()
    w.report(result("passed"))
    with pytest.raises(NotFound):
        w.flaky.quarantine("P", "sc.none", {"until": "2026-03-02T00:00:00Z", "reason": "x"}, "l")
    with pytest.raises(ValidationFailed) as bad:
        w.flaky.quarantine("P", "sc.pay", {"until": "soon", "reason": ""}, "l")
    assert [d["field"] for d in bad.value.details] == ["until", "reason"]
    w.flaky.quarantine("P", "sc.pay", {"until": "2026-03-02T00:00:00Z", "reason": "x"}, "l")
    assert w.flaky.end_quarantine("P", "sc.pay")["active"] is False
    with pytest.raises(NotFound):
        w.flaky.end_quarantine("P", "sc.pay")
    [out] = w.report(result("failed"))
    assert out["ticket"] is not None


def test_flaky_opens_draft_projects_still_file_flaky_failures() -> None:
    w = World({"flakyOpensDraft": True})
    w.report(result("failed"), commit="abc")
    w.report(result("passed"), commit="abc")
    [out] = w.report(result("failed"), commit="abc")
    assert out["ticket"] is not None


def test_settings_are_saved_on_the_project() -> None:
    w = World()
    saved = w.flaky.save_settings("P", {"window": 10, "threshold": 0.2})
    assert saved["settings"]["window"] == 10 and saved["settings"]["threshold"] == 0.2
    assert FlakySettings.of_project(w.s.projects.get("P") or {}).window == 10
    with pytest.raises(ValidationFailed) as bad:
        w.flaky.save_settings("P", {"minExecutions": 12})
    assert bad.value.details[0]["field"] == "minExecutions"


def test_the_recording_path_reads_nothing_of_its_own() -> None:
    w = World({"flakyMinExecutions": 4})
    for s in "PFPF":
        w.report(result(s))
    reads = w.store.loads
    w.results.record(dict(w.project), RunIn(id="r-x"), [result("failed")], reported_by="ci")
    assert w.store.loads == reads  # the marks came with the scenario's own update
    assert w.s.scenarios.get("P", "sc.pay").muted_cases == ["tc1"]  # type: ignore[union-attr]


def test_a_test_case_that_stops_flipping_is_unmarked() -> None:
    w = World({"flakyMinExecutions": 4, "flakyWindow": 4})
    for s in "PFPF":
        w.report(result(s))
    assert w.s.scenarios.get("P", "sc.pay").muted_cases == ["tc1"]  # type: ignore[union-attr]
    for _ in range(4):
        w.report(result("passed"))
    assert w.s.scenarios.get("P", "sc.pay").muted_cases == []  # type: ignore[union-attr]
    assert w.flaky.flaky("P")["items"] == []
    [out] = w.report(result("failed"))
    assert out["ticket"] is not None


def test_the_detector_keeps_its_measured_floor_on_the_bench_seed() -> None:
    from bench import flaky as bench

    tally = bench.measure()["all"]
    assert tally.precision >= 0.95 and tally.recall >= 0.85
