"""Planned runs: created from a plan's approved revision or a list of test cases, on an
environment, with assignees; manual results recorded through the one recording path
(`ResultsService.record`: the same drafts, merges and re-tests as CI); progress from counters
the recording moves (`RunProgress`, called by the recording for every path, CI included)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.clock import now_iso
from chalicelib.domain.ports import (
    Cursors,
    EnvironmentSnapshots,
    ProjectRepository,
    RunRepository,
    TestCaseRepository,
)
from chalicelib.domain.runs import (
    MAX_RUN_CASES,
    TestRun,
    assign,
    bucket_count,
    bucket_of,
    new_buckets,
    progress,
)
from chalicelib.domain.statuses import RunStatus
from chalicelib.errors import Conflict, NotFound, ValidationFailed, field_problem
from chalicelib.ids import new_id
from chalicelib.models import ResultIn, RunIn
from chalicelib.services.run_progress import RunProgress

if TYPE_CHECKING:  # annotations only: RunProgress serves every results request
    from chalicelib.domain.executions import Execution
    from chalicelib.domain.plans import TestPlan
    from chalicelib.models_planning import ManualResultsIn, RunCreateIn
    from chalicelib.services.ingest import ResultsService
    from chalicelib.services.plans import PlanService

MAX_PAGE = 200


@dataclass(frozen=True)
class Stores:
    runs: RunRepository
    test_cases: TestCaseRepository
    projects: ProjectRepository


class RunService:
    def __init__(
        self,
        stores: Stores,
        results: ResultsService,
        plans: PlanService,
        progress_hook: RunProgress,
        cursors: Cursors,
        *,
        environments: EnvironmentSnapshots | None = None,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._environments = environments  # a run records the snapshot it runs on
        self._s = stores
        self._results = results
        self._plans = plans
        self._progress = progress_hook
        self._cursors = cursors
        self._clock = clock

    # -- a run -----------------------------------------------------------------------------

    def create(self, project: str, body: RunCreateIn, by: str) -> dict[str, Any]:
        plan: TestPlan | None = None
        scope: dict[str, Any] = {}
        release = body.release
        if body.plan_id:
            plan, revision = self._plans.in_force(project, body.plan_id)
            scope = revision.get("scope") or {}
            release = release or revision.get("release")
        cases = self._cases(project, scope, list(body.test_cases), plan is not None)
        explicit = _explicit(body, set(cases))
        assignment = assign(cases, list(dict.fromkeys(body.assignees)), explicit)
        run = TestRun(
            project=project,
            run_id=body.id or new_id("run"),
            name=body.name or (plan.name if plan else None),
            plan_id=plan.plan_id if plan else None,
            plan_revision=plan.approved_revision if plan else None,
            environment=body.environment,
            release=release,
            sprint=body.sprint,
            total=len(cases),
            buckets=bucket_count(len(cases)),
            assignees=sorted({a for a in assignment.values() if a}),
            created_at=self._clock(),
            created_by=by,
        )
        if body.build or body.branch:
            run.other.update(
                {k: v for k, v in (("build", body.build), ("branch", body.branch)) if v}
            )
        if body.environment and self._environments is not None:
            # a registered environment's configuration as it is now; a name the project has not
            # registered is kept as given, with no snapshot
            with contextlib.suppress(NotFound):
                run.other["environmentSnapshot"] = self._environments.current_snapshot(
                    project, body.environment
                )
        buckets = new_buckets(assignment, run.buckets)
        self._s.runs.create(run, buckets)
        self._progress.remember(run)
        if plan is not None:
            self._plans.started_run(plan, run.run_id, by)
        return {**run.view(), "progress": progress(buckets)}

    def _cases(
        self, project: str, scope: dict[str, Any], listed: list[str], from_plan: bool
    ) -> list[str]:
        """The run's test cases: the plan scope's (named ones, then every live test case of its
        suites and modules, in catalog order), then the listed ones; each once."""
        suites, modules = set(scope.get("suites") or []), set(scope.get("modules") or [])
        cases = list(scope.get("testCases") or [])
        if suites or modules:
            cases += [
                c.test_case_id
                for c in self._s.test_cases.every(project)
                if not c.deleted and (c.suite in suites or (c.module or "") in modules)
            ]
        cases = list(dict.fromkeys([*cases, *listed]))
        if not cases:
            field = "planId" if from_plan else "testCases"
            raise ValidationFailed(
                "a run needs test cases", [field_problem(field, "names no test case")]
            )
        if len(cases) > MAX_RUN_CASES:
            raise ValidationFailed(
                "too many test cases for one run",
                [field_problem("testCases", f"must be at most {MAX_RUN_CASES} in all")],
            )
        return cases

    def get(self, project: str, run_id: str) -> dict[str, Any] | None:
        """The planned run with its progress (None: nobody planned it, CI reported it)."""
        run = self._s.runs.get(project, run_id)
        if run is None:
            return None
        return {**run.view(), "progress": progress(self._s.runs.buckets(project, run_id))}

    def cases(self, project: str, run_id: str, assignee: str | None) -> dict[str, Any]:
        """The run's test cases with their assignee and latest result (`assignee=` filters)."""
        self._run(project, run_id)
        items = [
            {"testCaseId": tc, "assignee": case.get("assignee"), **_result(case)}
            for b in self._s.runs.buckets(project, run_id)
            for tc, case in b.cases.items()
            if assignee is None or case.get("assignee") == assignee
        ]
        return {"items": sorted(items, key=lambda i: i["testCaseId"])}

    def case(self, project: str, run_id: str, test_case_id: str) -> dict[str, Any]:
        """One test case of the run: its assignee, latest result, and every result recorded
        for it in the run (attempts in order: status, who, when, actual, evidence, ticket)."""
        run = self._run(project, run_id)
        stored = self._stored(run, [test_case_id]).get(test_case_id)
        if stored is None:
            raise NotFound(f"test case {test_case_id!r} is not in run {run_id}")
        executions = self._results.stores.executions.of_case(project, run_id, test_case_id)
        return {
            "runId": run_id,
            "testCaseId": test_case_id,
            "assignee": stored.get("assignee"),
            **_result(stored),
            "results": [_attempt(e) for e in executions],
        }

    def page(
        self, project: str, status: str | None, *, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        if status is not None and status not in {s.value for s in RunStatus}:
            raise ValidationFailed(
                "unknown status",
                [
                    field_problem(
                        "status", "must be one of " + ", ".join(s.value for s in RunStatus)
                    )
                ],
            )
        runs, next_key = self._s.runs.page(
            project, status, limit=min(max(limit, 1), MAX_PAGE), cursor=self._cursors.decode(cursor)
        )
        return {"items": [r.view() for r in runs], "next": self._cursors.encode(next_key)}

    def close(self, project: str, run_id: str, reason: str | None, by: str) -> dict[str, Any]:
        run = self._run(project, run_id)
        if not run.is_open:
            raise Conflict(f"run {run_id} is closed", [field_problem("status", "is closed")])
        closed = self._progress.close(run, by=by, reason=reason or "closed on request")
        return {**closed.view(), "progress": progress(self._s.runs.buckets(project, run_id))}

    # -- results by hand -------------------------------------------------------------------

    def record(
        self, project: dict[str, Any], run_id: str, body: ManualResultsIn, by: str
    ) -> dict[str, Any]:
        """Manual results, recorded as CI's are (failures open or join drafts, passes re-test);
        the recording moves the run's progress. 409 once the run is closed."""
        key = project["key"]
        run = self._run(key, run_id)
        if not run.is_open:
            raise Conflict(
                f"run {run_id} is closed; start a new run to test again",
                [field_problem("status", "is closed")],
            )
        stored = self._stored(run, [r.test_case_id for r in body.results])
        catalog = self._s.test_cases.get_many(key, [r.test_case_id for r in body.results])
        results: list[ResultIn] = []
        for i, r in enumerate(body.results):
            if r.test_case_id not in stored:
                raise ValidationFailed(
                    f"test case {r.test_case_id} is not in run {run_id}",
                    [field_problem(f"results[{i}].testCaseId", "is not a test case of the run")],
                )
            case = catalog.get(r.test_case_id)
            last = (case.last_execution or {}) if case else {}
            data = r.model_dump(mode="json", by_alias=True, exclude_none=True)
            data["scenarioId"] = r.scenario_id or last.get("scenarioId") or r.test_case_id
            data.setdefault("title", case.title if case else None)
            data.setdefault("module", case.module if case else None)
            if "attempt" not in r.model_fields_set:  # the next attempt of the case in this run
                data["attempt"] = int(stored[r.test_case_id].get("attempt", 0)) + 1
            results.append(
                ResultIn.model_validate({k: v for k, v in data.items() if v is not None})
            )
        outcomes = self._results.record(
            project, self._run_in(run), results, reported_by=by, planned=True
        )
        after = self._s.runs.get(key, run_id) or run
        return {"runId": run_id, "status": after.status, "results": outcomes}

    def _stored(self, run: TestRun, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored entries (assignee, latest result) of these test cases of the run."""
        wanted: dict[int, list[str]] = {}
        for tc in dict.fromkeys(ids):
            wanted.setdefault(bucket_of(tc, run.buckets), []).append(tc)
        buckets = self._s.runs.buckets_at(run.project, run.run_id, wanted)
        out: dict[str, dict[str, Any]] = {}
        for tc in ids:
            bucket = buckets.get(bucket_of(tc, run.buckets))
            if bucket is not None and tc in bucket.cases:
                out[tc] = bucket.cases[tc]
        return out

    @staticmethod
    def _run_in(run: TestRun) -> RunIn:
        fields = {
            "id": run.run_id,
            "name": run.name,
            "environment": run.environment,
            "release": run.release,
            "sprint": run.sprint,
            "build": run.other.get("build"),
            "branch": run.other.get("branch"),
        }
        return RunIn.model_validate({k: v for k, v in fields.items() if v is not None})

    def _run(self, project: str, run_id: str) -> TestRun:
        run = self._s.runs.get(project, run_id)
        if run is None:
            raise NotFound(f"no planned run {run_id!r} (POST .../runs plans one)")
        return run


def _explicit(body: RunCreateIn, cases: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, a in enumerate(body.assignments):
        for j, tc in enumerate(a.test_cases):
            if tc not in cases:
                raise ValidationFailed(
                    f"test case {tc} is not in the run",
                    [field_problem(f"assignments[{i}].testCases[{j}]", "is not in the run")],
                )
            out[tc] = a.assignee
    return out


_ATTEMPT_FIELDS = (
    "executionId",
    "attempt",
    "status",
    "at",
    "reporter",
    "actual",
    "error",
    "evidence",
    "ticketId",
    "environment",
    "testCaseVersion",
)


def _attempt(execution: Execution) -> dict[str, Any]:
    view = execution.to_dict()
    return {k: view[k] for k in _ATTEMPT_FIELDS if view.get(k) is not None}


def _result(case: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "at", "attempt", "executionId", "by")
    return {k: case.get(k) for k in keys}
