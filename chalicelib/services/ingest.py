"""Recording results: every result is an execution; failures open or join their scenario's draft
(`chalicelib.services.filing`), and a resolved ticket's scenario running again is its re-test."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain import lifecycle
from chalicelib.domain.flaky import MUTED_FLAKY, muted_reason, report_is_outage
from chalicelib.domain.lifecycle import Cause
from chalicelib.domain.ports import (
    Blobs,
    Counter,
    ExecutionRepository,
    Filing,
    ProjectRepository,
    RunProgress,
    ScenarioRepository,
    TestCatalog,
    TicketRepository,
    Workflow,
)
from chalicelib.domain.results import ScenarioBatch, flaky_indexes, group_by_scenario
from chalicelib.domain.runs import OPEN_RUNS, Recorded
from chalicelib.domain.scenarios import Scenario
from chalicelib.domain.statuses import ResultStatus, TicketStatus
from chalicelib.domain.tasks import TaskType
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Conflict
from chalicelib.ids import execution_id
from chalicelib.models import ResultIn, RunIn
from chalicelib.services.filing import Report, file_failures
from chalicelib.services.remembered import (
    EnvironmentSnapshots,
    TestCaseVersions,
    catalog_generation,
)

DEFAULT_REMINDER_SECONDS = 24 * 3600  # a lead is reminded after a day without a decision
DEFAULT_DECISION_ROUNDS = 3  # ... and the draft expires after three such days


def _no_count(name: str, value: int = 1) -> None:
    return None


@dataclass(frozen=True)
class Stores:
    """The repositories recording results writes through."""

    tickets: TicketRepository
    filing: Filing
    scenarios: ScenarioRepository
    executions: ExecutionRepository
    projects: ProjectRepository


class ResultsService:
    def __init__(
        self,
        stores: Stores,
        workflow: Workflow,
        *,
        count: Counter = _no_count,
        clock: Callable[[], str] = now_iso,
        tell_jira: Callable[[dict[str, Any]], None] | None = None,
        start_later: Callable[[dict[str, Any]], None] | None = None,
        regression_window_days: float = 14.0,
        blobs: Blobs | None = None,
        catalog: TestCatalog | None = None,
        place: Callable[[dict[str, Any], Ticket, dict[str, Any]], str] | None = None,
        progress: RunProgress | None = None,
        approved_as: Callable[..., str | None] | None = None,
        reserve: Callable[[dict[str, Any], Ticket, dict[str, Any]], None] | None = None,
        environment_snapshot: Callable[[str, str], dict[str, Any] | None] | None = None,
        versions: TestCaseVersions | None = None,
    ) -> None:
        self.stores = stores
        self.blobs = blobs  # long traces go here (without it they stay inline)
        self.workflow = workflow
        self.count = count
        self._clock = clock
        self.tell_jira = tell_jira or (lambda task: None)
        # a new draft's workflow is started off the request path: a message on the workflow
        # queue, whose consumer has bounded concurrency (without it: started here)
        self._start_later = start_later
        self.window_days = regression_window_days
        self.catalog = catalog
        self._place = place  # a new draft's cluster (`services.clusters`)
        self._approved_as = approved_as  # a decided root cause's issue (`services.clusters`)
        self._reserve = reserve  # a new draft's cluster, chosen before the draft is stored
        self.progress = progress  # planned runs' progress moves with every recording
        # a registered environment's configuration as the report found it (None: not registered)
        self._environment_snapshot = environment_snapshot
        # test case -> version, remembered per container under the project's catalogue
        # generation: a report of known test cases reads no heads
        self.versions = versions or TestCaseVersions()
        self._snapshots = EnvironmentSnapshots()  # ... and environments' snapshots

    def reserve_cluster(self, report: Report, ticket: Ticket) -> None:
        """Before a new draft is stored: the cluster it goes to, on the ticket."""
        if self._reserve is not None and not ticket.cluster_id:
            self._reserve(report.project, ticket, report.clusters)

    def place_in_cluster(self, report: Report, ticket: Ticket) -> None:
        """A new draft's cluster (the report keeps the project's clusters it read)."""
        if self._place is not None:
            ticket.cluster_id = self._place(report.project, ticket, report.clusters)

    def approved_as(self, report: Report, i: int) -> str | None:
        """The ticket a failure is an occurrence of: its root cause was approved as one issue."""
        if self._approved_as is None:
            return None
        scenario_id = report.results[i].scenario_id
        found = self._approved_as(
            report.project, report.signature(i), scenario_id, report.at, report.clusters
        )
        return str(found) if found else None

    def record(
        self,
        project: dict[str, Any],
        run: RunIn,
        results: Sequence[ResultIn],
        *,
        reported_by: str,
        planned: bool = False,
        at: str | None = None,
    ) -> list[dict[str, Any]]:
        """Record a report's results; returns, per result, its execution and ticket (if any).
        `planned`: the run is known to be a planned one (else the project's open runs tell).
        `at`: when the report was made, if it was fixed before (a chunk of an upload: every
        chunk, and a redelivered one, records the same time, so writes the same items)."""
        report = self._report(project, run, _number_repeats(results), reported_by, at)
        report.versions = self._versions_of(report)
        report.outage = report_is_outage(project, (r.status.value for r in report.results))
        plain: list[int] = []
        for batch in group_by_scenario(report.results, report.flaky):
            scenario = self._touch(report, batch)
            self._mute(report, batch, scenario)
            if batch.failures:
                self._file(report, batch, scenario)
            else:
                self._maybe_retest_passed(report, batch, scenario)
            failures = set(batch.failures)
            plain.extend(i for i in batch.indexes if i not in failures)
        self._record_plain(report, plain)
        if self.progress is not None:
            # a run no open planned run of the project has the id of costs no read
            open_runs = None if planned else set(project.get(OPEN_RUNS) or ())
            self.progress.note(report.key, run.id, _recorded(report), open_runs=open_runs)
        self.count("ResultsIngested", len(report.results))
        if report.flaky:
            self.count("FlakyResults", len(report.flaky))
        return report.outcomes

    def _versions_of(self, report: Report) -> dict[str, int]:
        """The version each reported test case runs at (unknown ones are registered)."""
        catalog = self.catalog
        if catalog is None:
            return {}
        by_case: dict[str, list[ResultIn]] = {}
        for r in report.results:
            by_case.setdefault(r.test_case_id, []).append(r)

        def register(missing: set[str]) -> dict[str, int]:
            wanted = [r for tc, rs in by_case.items() if tc in missing for r in rs]
            return catalog.register(report.key, wanted, report.at, report.reported_by)

        generation = catalog_generation(report.project)
        return self.versions.resolve(report.key, generation, list(by_case), register)

    def _mute(self, report: Report, batch: ScenarioBatch, scenario: Scenario) -> None:
        """Failures of a flaky test case or a quarantined scenario are recorded and open nothing
        (the marks come with the scenario just touched: no read of their own)."""
        if not batch.failures or not (scenario.muted_cases or scenario.quarantine_until):
            return
        for i in list(batch.failures):
            why = muted_reason(
                report.results[i].test_case_id,
                scenario.muted_cases,
                scenario.quarantine_until,
                report.at,
                flaky_opens_draft=bool(report.project.get("flakyOpensDraft")),
            )
            if why is None:
                continue
            batch.failures.remove(i)
            report.muted[i] = why
            report.outcomes[i]["muted"] = why
            if why == MUTED_FLAKY:
                report.outcomes[i]["flaky"] = True
            self.count("FailuresMuted")

    def _report(
        self,
        project: dict[str, Any],
        run: RunIn,
        results: list[ResultIn],
        reported_by: str,
        at: str | None,
    ) -> Report:
        key, at = project["key"], at or self._clock()
        flaky = set() if project.get("flakyOpensDraft") else flaky_indexes(results)
        ids = [execution_id(key, run.id, r.test_case_id, r.attempt) for r in results]
        run_item = {
            "project": key,
            **run.model_dump(mode="json", by_alias=True, exclude_none=True),
            "reportedAt": at,
        }
        if run.environment and self._environment_snapshot is not None:
            snapshot = self._snapshots.snapshot(
                project, run.environment, self._environment_snapshot
            )
            if snapshot is not None:  # the run records what it ran on
                run_item["environmentSnapshot"] = snapshot
        return Report(self, project, run, results, ids, flaky, at, reported_by, run_item)

    def _touch(self, report: Report, batch: ScenarioBatch) -> Scenario:
        """Record the scenario's test cases' latest results; returns the scenario as it is."""
        results, ids = report.results, report.ids
        last = batch.last_index(results)
        latest = results[last]
        per_case: dict[str, dict[str, Any]] = {}
        index_of: dict[str, int] = {}
        for i in sorted(batch.indexes, key=lambda i: (results[i].attempt, i)):
            index_of[results[i].test_case_id] = i
            per_case[results[i].test_case_id] = {
                "status": results[i].status.value,
                "executionId": ids[i],
                "runId": report.run.id,
                "at": report.at,
            }
        scenario = self.stores.scenarios.touch(
            report.key,
            batch.scenario_id,
            module=latest.module_name,
            title=latest.title or batch.scenario_id,
            latest=per_case,
            last_result=latest.status.value,
            last_execution={
                "executionId": ids[last],
                "runId": report.run.id,
                "testCaseId": latest.test_case_id,
                "status": latest.status.value,
                "at": report.at,
            },
            at=report.at,
        )
        if scenario.last_at == report.at:  # not late: the executions' writes carry the latest
            report.latest.update(index_of.values())
        return scenario

    def _file(self, report: Report, batch: ScenarioBatch, scenario: Scenario) -> None:
        filed = file_failures(report, batch.failures, scenario)
        if (
            filed
            and scenario.live_ticket_status == TicketStatus.RESOLVED
            and filed == scenario.live_ticket_id
        ):
            self._retest(report, batch.failures, filed, passed=False)

    def _maybe_retest_passed(
        self, report: Report, batch: ScenarioBatch, scenario: Scenario
    ) -> None:
        last = batch.last_index(report.results)
        if (
            scenario.live_ticket_status == TicketStatus.RESOLVED
            and scenario.live_ticket_id
            and report.results[last].status == ResultStatus.PASSED
        ):
            self._retest(report, [last], scenario.live_ticket_id, passed=True)

    def _record_plain(self, report: Report, indexes: list[int]) -> None:
        executions = [report.execution(i, None, flaky=i in report.flaky) for i in indexes]
        # the run rides here when no transaction carried it
        self.stores.executions.record(executions, runs=report.take_run_item())

    def start_workflow(self, project: dict[str, Any], ticket: Ticket) -> bool:
        """Start a draft's workflow: a START_WORKFLOW message carrying the execution's name and
        input, fixed now, so a redelivered message starts the same execution (harmless twice).
        True when the start was sent (or, without a queue, the execution is new)."""
        name, payload = ticket.id, self._workflow_input(project, ticket)
        if self._start_later is None:
            return self.workflow.start(name, payload)
        self._start_later({"type": TaskType.START_WORKFLOW.value, "name": name, "input": payload})
        return True

    @staticmethod
    def _workflow_input(project: dict[str, Any], ticket: Ticket) -> dict[str, Any]:
        reminder = int(project.get("decisionReminderSeconds", DEFAULT_REMINDER_SECONDS))
        rounds = int(project.get("decisionRounds", DEFAULT_DECISION_ROUNDS))
        return {
            "ticketId": ticket.id,
            "project": ticket.project,
            "module": ticket.module,
            "scenarioId": ticket.scenario_id,
            "resume": False,
            "round": 0,
            "reminderSeconds": reminder,
            "maxRounds": rounds,
            "deadline": int(time.time()) + reminder * rounds,
        }

    def restart_stalled_drafts(self, older_than: str) -> int:
        """Drafts created before `older_than` whose workflow never asked for a decision (the
        start failed and the reporter did not retry): start it now. Runs on a schedule."""
        started = 0
        for project in self.stores.projects.all():
            cursor = None
            while True:
                page, cursor = self.stores.tickets.page(
                    project["key"],
                    status=TicketStatus.DRAFT.value,
                    module=None,
                    limit=100,
                    cursor=cursor,
                )
                for ticket in page:
                    if not ticket.workflow_state and ticket.created_at < older_than:
                        # the safety net starts at once (few, and its queued start was lost)
                        started += int(
                            self.workflow.start(ticket.id, self._workflow_input(project, ticket))
                        )
                if not cursor:
                    break
        return started

    def _retest(self, report: Report, indexes: list[int], ticket_id: str, *, passed: bool) -> None:
        """The resolved ticket's scenario ran again: verified if it passed, reopened if not
        (the failures are its new occurrences). Jira hears of it through the Jira queue."""
        ticket = self.stores.tickets.get(ticket_id)
        r = report.results[indexes[-1]]
        verdict = ResultStatus.PASSED if passed else ResultStatus.FAILED
        try:
            done = lifecycle.move(
                ticket,
                Cause.RETEST_PASSED if passed else Cause.RETEST_FAILED,
                TicketStatus.VERIFIED if passed else TicketStatus.REOPENED,
                by=report.reporter(indexes[-1]),
                reason=f"re-test {verdict}: {r.test_case_id} in run {report.run.id}",
                at=report.at,
            )
            self.stores.tickets.transition(ticket, done)
        except (Conflict, lifecycle.IllegalMove):
            return  # someone else moved it first (a concurrent re-test, or Jira)
        status = done.to_status.value
        for i in indexes:
            if report.outcomes[i]["ticket"] is not None:
                report.outcomes[i]["ticket"]["status"] = status
            report.outcomes[i]["retest"] = {"ticketId": ticket_id, "outcome": status}
        self.count("RetestsPassed" if passed else "RetestsFailed")
        kind = TaskType.RETEST_PASSED if passed else TaskType.RETEST_FAILED
        self.tell_jira({"type": kind.value, "ticketId": ticket_id})


def _recorded(report: Report) -> list[Recorded]:
    return [
        Recorded(
            r.test_case_id, r.status.value, report.at, r.attempt, report.ids[i], report.reporter(i)
        )
        for i, r in enumerate(report.results)
    ]


def _number_repeats(results: Sequence[ResultIn]) -> list[ResultIn]:
    """A test case reported twice with the same attempt in one report is a rerun: number it."""
    seen: dict[str, set[int]] = {}
    out: list[ResultIn] = []
    for r in results:
        attempts = seen.setdefault(r.test_case_id, set())
        if r.attempt in attempts:
            r = r.model_copy(update={"attempt": max(attempts) + 1})
        attempts.add(r.attempt)
        out.append(r)
    return out


__all__ = ["ResultStatus", "ResultsService", "Stores"]
