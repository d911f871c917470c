"""Test plans: write, read (with the entry and exit criteria evaluated by the quality gates),
edit (in place while draft, as the next revision once approved), move through the lifecycle
(approval by a lead of the plan's modules or an admin), delete while never approved."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain import gates as gate_rules
from chalicelib.domain.gates import Gate
from chalicelib.domain.plans import (
    APPROVER_ACTIONS,
    PlanAction,
    TestPlan,
    approvers,
    new_plan,
)
from chalicelib.domain.ports import (
    Cursors,
    PlanRepository,
    ProjectRepository,
    TestCaseRepository,
)
from chalicelib.domain.roles import Role
from chalicelib.domain.statuses import PlanStatus
from chalicelib.errors import (
    Conflict,
    FailbridgeError,
    Forbidden,
    NotFound,
    ValidationFailed,
    field_problem,
)
from chalicelib.ids import new_id
from chalicelib.models_planning import PlanIn

MAX_PAGE = 200
# (project, gates, runId) -> the quality gates' verdict (`MetricsService.validate`'s shape)
GateCheck = Callable[[str, Sequence[Gate], str | None], dict[str, Any]]


@dataclass(frozen=True)
class Stores:
    plans: PlanRepository
    projects: ProjectRepository
    test_cases: TestCaseRepository


@dataclass(frozen=True)
class Author:
    """Who writes or moves a plan: the API key's person and role."""

    user: str
    role: Role


class PlanService:
    def __init__(
        self,
        stores: Stores,
        check_gates: GateCheck,
        cursors: Cursors,
        *,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._s = stores
        self._check_gates = check_gates
        self._cursors = cursors
        self._clock = clock

    # -- writing ---------------------------------------------------------------------------

    def create(self, project: str, body: PlanIn, by: str) -> dict[str, Any]:
        self._validate(project, body)
        plan_id = body.plan_id or new_id("plan")
        plan = new_plan(project, plan_id, _content(body), at=self._clock(), by=by)
        return self._s.plans.save(plan, None).view()

    def update(self, project: str, plan_id: str, body: PlanIn, by: str) -> dict[str, Any]:
        """Draft: edited in place. Approved or active: the next revision, a draft (the approved
        one stays in force for runs until the new one is approved). In review or closed: 409."""
        if body.plan_id and body.plan_id != plan_id:
            raise ValidationFailed(
                "the id in the body is not the one in the path",
                [field_problem("planId", f"must be {plan_id} or left out")],
            )
        current = self._plan(project, plan_id)
        self._validate(project, body)
        edited = current.edited(_content(body), at=self._clock(), by=by)
        return self._s.plans.save(edited, current.seq).view()

    def delete(self, project: str, plan_id: str) -> dict[str, Any]:
        plan = self._plan(project, plan_id)
        if plan.approved_revision is not None:
            raise Conflict(
                f"test plan {plan_id} was approved: close it instead",
                [
                    field_problem(
                        "status",
                        f"is {plan.status}; revision {plan.approved_revision} was approved",
                    )
                ],
            )
        self._s.plans.delete(plan)
        return {"planId": plan_id, "deleted": True}

    def move(
        self, project: str, plan_id: str, action: PlanAction, reason: str | None, author: Author
    ) -> dict[str, Any]:
        plan = self._plan(project, plan_id)
        if action in APPROVER_ACTIONS:
            self._require_approver(plan, author)
        if action == PlanAction.REQUEST_CHANGES and not (reason or "").strip():
            raise ValidationFailed(
                "say what to change", [field_problem("reason", "is required to request changes")]
            )
        if action == PlanAction.SUBMIT and not any(plan.scope.get(k) for k in _SCOPE_KEYS):
            raise ValidationFailed(
                "a plan needs a scope before review",
                [field_problem("scope", "name test cases, suites or modules")],
            )
        moved = plan.moved(action, at=self._clock(), by=author.user, reason=reason)
        return self._s.plans.save(moved, plan.seq).view()

    def _require_approver(self, plan: TestPlan, author: Author) -> None:
        if author.role == Role.ADMIN:
            return
        modules = plan.modules() or self._modules_of_cases(plan)
        project = self._s.projects.get(plan.project) or {}
        leads = {
            m: (self._s.projects.get_module(plan.project, m) or {}).get("lead") for m in modules
        }
        allowed = approvers(modules, leads, project.get("defaultLead"))
        if author.user not in allowed:
            who = ", ".join(sorted(allowed)) or "nobody (no lead is configured)"
            raise Forbidden(
                f"only a lead of the plan's modules ({', '.join(modules) or 'none named'}) "
                f"or an admin may review it: {who}"
            )

    def _modules_of_cases(self, plan: TestPlan) -> list[str]:
        ids = list(plan.scope.get("testCases") or [])
        cases = self._s.test_cases.get_many(plan.project, ids) if ids else {}
        return sorted({c.module for c in cases.values() if c.module})

    def _validate(self, project: str, body: PlanIn) -> None:
        for field in ("entryCriteria", "exitCriteria"):
            gate_rules.check(_gates(body, field), field)
        ids = list(body.scope.test_cases)
        if ids:
            known = self._s.test_cases.get_many(project, ids)
            missing = [
                field_problem(f"scope.testCases[{i}]", "is not a registered test case")
                for i, tc in enumerate(ids)
                if tc not in known or known[tc].deleted
            ]
            if missing:
                raise ValidationFailed("the scope names unknown test cases", missing[:50])

    # -- reading ---------------------------------------------------------------------------

    def get(self, project: str, plan_id: str) -> dict[str, Any]:
        """The plan, its entry and exit criteria evaluated now (the plan's last run for the
        run-scoped metrics: passRate, flakyRate, newFailures)."""
        plan = self._plan(project, plan_id)
        view = plan.view()
        last_run = plan.runs[-1] if plan.runs else None
        for field, out in (
            ("entryCriteria", "entryEvaluation"),
            ("exitCriteria", "exitEvaluation"),
        ):
            gates = [Gate(**g) for g in view[field]]
            view[out] = self._evaluate(project, gates, last_run) if gates else None
        return view

    def _evaluate(self, project: str, gates: list[Gate], run_id: str | None) -> dict[str, Any]:
        try:
            return self._check_gates(project, gates, run_id)
        except FailbridgeError as exc:  # e.g. newFailures before the plan has a run
            return {"passed": False, "results": [], "recommendation": exc.message}

    def page(
        self, project: str, *, limit: int, cursor: str | None, status: str | None
    ) -> dict[str, Any]:
        if status is not None and status not in {s.value for s in PlanStatus}:
            raise ValidationFailed(
                "unknown status",
                [
                    field_problem(
                        "status", "must be one of " + ", ".join(s.value for s in PlanStatus)
                    )
                ],
            )
        plans, next_key = self._s.plans.page(
            project, limit=min(max(limit, 1), MAX_PAGE), cursor=self._cursors.decode(cursor)
        )
        items = [p.view() for p in plans if status is None or p.status == status]
        return {"items": items, "next": self._cursors.encode(next_key)}

    def revisions(self, project: str, plan_id: str) -> dict[str, Any]:
        self._plan(project, plan_id)
        return {"items": self._s.plans.revisions(project, plan_id)}

    # -- what runs need --------------------------------------------------------------------

    def in_force(self, project: str, plan_id: str) -> tuple[TestPlan, dict[str, Any]]:
        """The plan and its approved revision in force (404 unknown, 409 never approved or
        closed)."""
        plan = self._plan(project, plan_id, field="planId")
        if not plan.runnable():
            raise Conflict(
                f"test plan {plan_id} has no approved revision to run"
                if plan.approved_revision is None
                else f"test plan {plan_id} is closed",
                [field_problem("planId", f"is {plan.status}")],
            )
        revision = self._s.plans.revision(project, plan_id, int(plan.approved_revision or 0))
        return plan, revision or plan.revision_item()

    def started_run(self, plan: TestPlan, run_id: str, by: str) -> None:
        """A run started from the plan: remembered, and an approved plan becomes active."""
        for _ in range(5):
            current = self._s.plans.get(plan.project, plan.plan_id) or plan
            after = TestPlan.from_dict({**current.to_dict(), "runs": [*current.runs, run_id]})
            if current.status == PlanStatus.APPROVED.value:
                after = after.moved(
                    PlanAction.ACTIVATE, at=self._clock(), by=by, reason=f"run {run_id} started"
                )
            try:
                self._s.plans.save(after, current.seq)
                return
            except Conflict:
                continue

    def _plan(self, project: str, plan_id: str, field: str = "planId") -> TestPlan:
        plan = self._s.plans.get(project, plan_id)
        if plan is None:
            raise NotFound(f"no test plan {plan_id!r}", [field_problem(field, "is unknown")])
        return plan


_SCOPE_KEYS = ("testCases", "suites", "modules")


def _gates(body: PlanIn, field: str) -> list[Gate]:
    source = body.entry_criteria if field == "entryCriteria" else body.exit_criteria
    return [Gate(**g.model_dump(exclude_none=True)) for g in source]


def _content(body: PlanIn) -> dict[str, Any]:
    data = body.model_dump(mode="json", by_alias=True, exclude={"plan_id"})
    for field in ("entryCriteria", "exitCriteria"):
        data[field] = [{k: v for k, v in g.items() if v is not None} for g in data[field]]
    return data
