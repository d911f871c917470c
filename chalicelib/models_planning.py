"""Edge models of test planning and execution: test plans, planned runs, manual results."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from chalicelib.domain.plans import PlanAction
from chalicelib.domain.runs import MAX_RUN_CASES
from chalicelib.domain.statuses import ResultStatus
from chalicelib.models import (
    GateIn,
    Name,
    ResultIn,
    StrictEdgeModel,
    TestCaseId,
    Text,
)

Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Level = Literal["low", "medium", "high"]


class ScopeIn(StrictEdgeModel):
    """What the plan covers: test cases by id, and every test case of these suites and modules."""

    test_cases: list[TestCaseId] = Field(default_factory=list, max_length=MAX_RUN_CASES)
    suites: list[Name] = Field(default_factory=list, max_length=100)
    modules: list[Name] = Field(default_factory=list, max_length=100)


class StrategyIn(StrictEdgeModel):
    approach: Text | None = None
    test_types: list[Name] = Field(default_factory=list, max_length=50)
    tools: list[Name] = Field(default_factory=list, max_length=50)
    environments: list[Name] = Field(default_factory=list, max_length=50)
    notes: Text | None = None


class MilestoneIn(StrictEdgeModel):
    name: Name
    date: Day
    description: Text | None = None


class ScheduleIn(StrictEdgeModel):
    start: Day | None = None
    end: Day | None = None
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleIn:
        if self.start and self.end and self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class ResourceIn(StrictEdgeModel):
    name: Name
    role: Name | None = None
    allocation: Name | None = None  # "50%", "2 days a week"


class RiskIn(StrictEdgeModel):
    description: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    likelihood: Level
    impact: Level
    mitigation: Text | None = None
    owner: Name | None = None


class PlanIn(StrictEdgeModel):
    """A test plan as written (`planId` only on create; revision and status are the server's)."""

    plan_id: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")] | None
    ) = None
    name: Name
    description: Text | None = None
    release: Name | None = None
    scope: ScopeIn = Field(default_factory=ScopeIn)
    strategy: StrategyIn = Field(default_factory=StrategyIn)
    schedule: ScheduleIn = Field(default_factory=ScheduleIn)
    resources: list[ResourceIn] = Field(default_factory=list, max_length=200)
    risks: list[RiskIn] = Field(default_factory=list, max_length=200)
    entry_criteria: list[GateIn] = Field(default_factory=list, max_length=50)
    exit_criteria: list[GateIn] = Field(default_factory=list, max_length=50)


class PlanMoveIn(StrictEdgeModel):
    """`POST .../test-plans/{planId}/status`: one step of the plan's lifecycle."""

    action: PlanAction
    reason: Text | None = None


class AssignmentIn(StrictEdgeModel):
    assignee: Name
    test_cases: list[TestCaseId] = Field(min_length=1, max_length=MAX_RUN_CASES)


class RunCreateIn(StrictEdgeModel):
    """`POST .../runs`: from a plan (its approved revision's scope) and/or a list of test cases;
    `assignees` are dealt the cases in turn, `assignments` name who runs which."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")] | None = (
        None
    )
    name: Name | None = None
    plan_id: Name | None = None
    test_cases: list[TestCaseId] = Field(default_factory=list, max_length=MAX_RUN_CASES)
    environment: Name | None = None
    assignees: list[Name] = Field(default_factory=list, max_length=200)
    assignments: list[AssignmentIn] = Field(default_factory=list, max_length=200)
    release: Name | None = None
    sprint: Name | None = None
    build: Name | None = None
    branch: Name | None = None


class ManualResultIn(ResultIn):
    """A result recorded by hand: the result shape of `POST .../results`, where `scenarioId`,
    `title` and `module` default to the test case's (catalog) and `attempt` to the next one."""

    scenario_id: Name | None = None  # type: ignore[assignment]
    status: ResultStatus


class ManualResultsIn(StrictEdgeModel):
    results: list[ManualResultIn] = Field(min_length=1, max_length=500)


class RunCloseIn(StrictEdgeModel):
    reason: Text | None = None
