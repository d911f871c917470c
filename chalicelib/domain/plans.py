"""The test plan aggregate: what a release's testing covers (scope), how (strategy, schedule,
resources), what may go wrong (risks) and when it may start and end (entry and exit criteria,
quality gates). Its lifecycle is one table of moves (`MOVES`); an approved plan is edited only
as its next revision, a draft again, while the approved revision stays in force for runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.domain.record import Record
from chalicelib.domain.statuses import PlanStatus as P
from chalicelib.errors import Conflict


class PlanAction(StrEnum):
    """What moves a plan: `POST .../test-plans/{planId}/status` `{"action": ...}`."""

    SUBMIT = "submit"  # the author sends the draft for review
    REQUEST_CHANGES = "request_changes"  # the reviewer sends it back (reason required)
    APPROVE = "approve"  # a lead of the plan's modules (or an admin) approves it
    ACTIVATE = "activate"  # testing starts (also done by the plan's first run)
    CLOSE = "close"  # testing is over


MOVES: dict[tuple[P, PlanAction], P] = {
    (P.DRAFT, PlanAction.SUBMIT): P.IN_REVIEW,
    (P.IN_REVIEW, PlanAction.REQUEST_CHANGES): P.DRAFT,
    (P.IN_REVIEW, PlanAction.APPROVE): P.APPROVED,
    (P.APPROVED, PlanAction.ACTIVATE): P.ACTIVE,
    (P.APPROVED, PlanAction.CLOSE): P.CLOSED,
    (P.ACTIVE, PlanAction.CLOSE): P.CLOSED,
}
# Actions only a lead of the plan's modules or an admin may take.
APPROVER_ACTIONS = frozenset({PlanAction.APPROVE, PlanAction.REQUEST_CHANGES})
# Content edits: in place while draft; as the next revision (a draft) once approved or active.
EDITABLE = frozenset({P.DRAFT})
REVISABLE = frozenset({P.APPROVED, P.ACTIVE})

# The fields a revision holds (camelCase, as the API shows them).
CONTENT_ATTRS = (
    "name",
    "description",
    "release",
    "scope",
    "strategy",
    "schedule",
    "resources",
    "risks",
    "entryCriteria",
    "exitCriteria",
)


class IllegalPlanMove(Conflict):
    """The plan's status does not allow this action (409 naming the allowed ones)."""


@dataclass
class TestPlan(Record):
    __test__ = False

    project: str
    plan_id: str
    name: str
    revision: int = 1
    status: str = P.DRAFT.value
    description: str | None = None
    release: str | None = None
    scope: dict[str, list[str]] = field(default_factory=dict)  # testCases, suites, modules
    strategy: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)  # start, end, milestones
    resources: list[dict[str, Any]] = field(default_factory=list)
    risks: list[dict[str, Any]] = field(default_factory=list)  # likelihood, impact, mitigation
    entry_criteria: list[dict[str, Any]] = field(default_factory=list)  # quality gates
    exit_criteria: list[dict[str, Any]] = field(default_factory=list)
    approved_revision: int | None = None  # the revision in force for runs
    approved_by: str | None = None
    approved_at: str | None = None
    created_at: str | None = None
    created_by: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None
    seq: int = 0  # every write bumps it: the repository's optimistic lock
    history: list[dict[str, Any]] = field(default_factory=list)  # at, status, by, reason, revision
    runs: list[str] = field(default_factory=list)  # runs started from the plan, oldest first
    other: dict[str, Any] = field(default_factory=dict)

    def content(self) -> dict[str, Any]:
        data = self.to_dict()
        return {k: data[k] for k in CONTENT_ATTRS}

    def modules(self) -> list[str]:
        return list(self.scope.get("modules") or [])

    def view(self) -> dict[str, Any]:
        """What clients see: the content, then the lifecycle and bookkeeping."""
        data = self.to_dict()
        hidden = {"project", "seq"}
        return {k: v for k, v in data.items() if k not in hidden}

    def revision_item(self) -> dict[str, Any]:
        """The revision as stored (`GET .../revisions`): its content and where it stood."""
        return {
            "planId": self.plan_id,
            "revision": self.revision,
            "status": self.status,
            **self.content(),
            "at": self.updated_at,
            "by": self.updated_by,
        }

    def edited(self, content: dict[str, Any], *, at: str, by: str | None) -> TestPlan:
        """The plan with new content: in place while draft; the next revision (a draft) when
        approved or active (the approved revision stays in force until the next approval)."""
        status = P(self.status)
        if status in EDITABLE:
            revision = self.revision
        elif status in REVISABLE:
            revision = self.revision + 1
        else:
            raise IllegalPlanMove(
                f"a plan {status.value} is not edited"
                + ("; request changes first" if status == P.IN_REVIEW else ""),
                [{"field": "status", "problem": f"is {status.value}"}],
            )
        data = {**self.to_dict(), **{k: content.get(k, _EMPTY[k]) for k in CONTENT_ATTRS}}
        data.update(revision=revision, status=P.DRAFT.value, updatedAt=at, updatedBy=by)
        plan = TestPlan.from_dict(data)
        if revision != self.revision:
            plan.history = [
                *self.history,
                _entry(at, P.DRAFT, by, f"revision {revision} started", revision),
            ]
        return plan

    def moved(
        self, action: PlanAction, *, at: str, by: str | None, reason: str | None = None
    ) -> TestPlan:
        """The plan after `action`, or IllegalPlanMove naming what its status allows."""
        status = P(self.status)
        to = MOVES.get((status, action))
        if to is None:
            allowed = sorted(a.value for (s, a) in MOVES if s == status)
            raise IllegalPlanMove(
                f"a plan {status.value} cannot {action.value}"
                + (f" (it can: {', '.join(allowed)})" if allowed else ""),
                [{"field": "action", "problem": f"not allowed while {status.value}"}],
            )
        data = {**self.to_dict(), "status": to.value, "updatedAt": at, "updatedBy": by}
        plan = TestPlan.from_dict(data)
        if to == P.APPROVED:
            plan.approved_revision, plan.approved_by, plan.approved_at = self.revision, by, at
        plan.history = [*self.history, _entry(at, to, by, reason, self.revision)]
        return plan

    def runnable(self) -> bool:
        """Runs start from the approved revision in force, until the plan is closed."""
        return self.approved_revision is not None and self.status != P.CLOSED.value


def approvers(
    modules: Iterable[str], leads: dict[str, str | None], default_lead: str | None
) -> set[str]:
    """Who may approve: the leads of the plan's modules (a module without a lead of its own is
    decided by the project's default lead; so is a plan that names no module)."""
    found = {leads.get(m) or default_lead for m in modules} or {default_lead}
    return {lead for lead in found if lead}


def new_plan(
    project: str, plan_id: str, content: dict[str, Any], *, at: str, by: str | None
) -> TestPlan:
    data = {k: content.get(k, _EMPTY[k]) for k in CONTENT_ATTRS}
    plan = TestPlan.from_dict(
        {
            **data,
            "project": project,
            "planId": plan_id,
            "revision": 1,
            "status": P.DRAFT.value,
            "createdAt": at,
            "createdBy": by,
            "updatedAt": at,
            "updatedBy": by,
        }
    )
    plan.history = [_entry(at, P.DRAFT, by, "written", 1)]
    return plan


def _entry(at: str, status: P, by: str | None, reason: str | None, revision: int) -> dict:
    entry = {"at": at, "status": status.value, "by": by, "reason": reason, "revision": revision}
    return {k: v for k, v in entry.items() if v is not None}


_EMPTY: dict[str, Any] = {
    "name": None,
    "description": None,
    "release": None,
    "scope": {},
    "strategy": {},
    "schedule": {},
    "resources": [],
    "risks": [],
    "entryCriteria": [],
    "exitCriteria": [],
}
