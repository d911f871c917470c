"""Project settings at the edge: modules, API keys, decisions, Jira settings and mapping rules,
quality gates."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StringConstraints,
    field_validator,
)

from chalicelib.domain.feedback import MAPPABLE
from chalicelib.models.base import (
    EMAIL_PATTERN,
    Name,
    Number,
    StrictEdgeModel,
    Text,
)


class ModuleIn(StrictEdgeModel):
    lead: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]
    slack_user_id: Name | None = None


class KeyIn(StrictEdgeModel):
    role: Literal["admin", "lead", "tester", "ci", "viewer"]
    name: Name | None = None
    user: Name | None = None


class DecisionIn(StrictEdgeModel):
    decision: Literal["approve", "reject", "merge", "link"]
    reason: Text | None = None
    merge_into: Name | None = None
    jira_key: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*-[0-9]+$")] | None = None


class ClusterDecisionIn(StrictEdgeModel):
    """A lead's decision on a root cause: its drafts as one (approve, reject) or a split."""

    decision: Literal["approve", "reject", "split", "merge"]
    reason: Text | None = None
    mode: Literal["one", "per-scenario"] | None = None  # approve: one Jira issue or one each
    scenario_ids: Annotated[list[Name], Field(max_length=1000)] | None = None  # split
    into_cluster_id: Name | None = None  # merge


class JiraLinkTypesIn(StrictEdgeModel):
    defect_to_test_case: Name | None = None
    defect_to_execution: Name | None = None
    requirement_to_test_case: Name | None = None
    defect_to_requirement: Name | None = None


class JiraMappingIn(StrictEdgeModel):
    """How a project's approved drafts become Jira issues (TestGenie-style Defect Orchestration)."""

    project_key: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,19}$")]
    issue_type: Name = "Bug"
    summary_template: Annotated[str, StringConstraints(min_length=1, max_length=250)] = (
        "[{module}] {title}"
    )
    labels: list[Annotated[str, StringConstraints(pattern=r"^\S{1,100}$")]] = Field(
        default_factory=list, max_length=20
    )
    components: list[Name] = Field(default_factory=list, max_length=20)
    priority_map: dict[str, Name] = Field(default_factory=dict)
    severity_field: Name | None = None
    severity_map: dict[str, Name] = Field(default_factory=dict)
    test_case_id_field: Name | None = None
    extra_fields: dict[str, Any] = Field(default_factory=dict)
    link_types: JiraLinkTypesIn = Field(default_factory=JiraLinkTypesIn)
    # Feedback: Jira statuses per status of ours ({"deferred": ["Deferred", "Backlog"], ...,
    # "closingResolutions": ["Won't Fix", ...]}), and the transitions failbridge makes.
    status_map: dict[str, list[Name]] = Field(default_factory=dict)
    close_transition: Name | None = None
    reopen_transition: Name | None = None
    # Stories: `POST .../requirements/sync` reads what this JQL finds (e.g. `project = KP AND
    # issuetype = Story`); the sprint field is found by name ("Sprint") unless named here.
    requirements_jql: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    sprint_field: Name | None = None

    @field_validator("status_map")
    @classmethod
    def _known_statuses(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        known = {*(s.value for s in MAPPABLE), "closingResolutions"}
        unknown = set(value) - known
        if unknown:
            raise ValueError("keys must be among " + ", ".join(sorted(known)))
        return value


# --- how JUnit reports map to test cases, scenarios and modules (chalicelib.domain.mapping) -----

Operand = Annotated[str, StringConstraints(max_length=500)]
Template = Annotated[str, StringConstraints(max_length=200)]


class MappingMatchIn(StrictEdgeModel):
    """`field` is classname, name, file, suite or property:<name>; at most one operator."""

    field: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    equals: Operand | None = None
    prefix: Operand | None = None
    suffix: Operand | None = None
    contains: Operand | None = None
    regex: Operand | None = None


class MappingSetIn(StrictEdgeModel):
    """Templates: {classname}, {name}, {file}, {suite}, {testCase}, {value}, regex groups."""

    test_case: Template | None = None
    scenario: Template | None = None
    module: Template | None = None


class MappingRuleIn(StrictEdgeModel):
    match: MappingMatchIn | None = None
    set_: MappingSetIn = Field(alias="set")


class MappingIn(StrictEdgeModel):
    """A project's mapping: ordered rules (first match per target wins) and its default module."""

    mapping_rules: list[MappingRuleIn] = Field(default_factory=list, max_length=100)
    default_module: Name | None = None


class MappingPreviewIn(StrictEdgeModel):
    """A sample JUnit report and the rules to try on it (the saved ones when absent)."""

    report: Annotated[str, StringConstraints(min_length=1)]
    mapping_rules: list[MappingRuleIn] | None = Field(default=None, max_length=100)
    default_module: Name | None = None


class GateIn(StrictEdgeModel):
    """One quality gate: `metric` `operator` `threshold` (metric and operator are checked
    against `domain.gates`, so the 422 names the unknown one)."""

    metric: Name
    operator: Name
    threshold: Number
    module: Name | None = None
    severity: Name | None = None


class GateSetIn(StrictEdgeModel):
    """A saved gate: `PUT /v1/projects/{project}/quality-gates/{name}`."""

    gates: list[GateIn] = Field(min_length=1, max_length=50)
    description: Text | None = None


class GateCheckIn(StrictEdgeModel):
    """`POST .../quality-gates/validate`: gates, or a saved gate's name; optionally a run."""

    gates: list[GateIn] | None = Field(default=None, min_length=1, max_length=50)
    gate: Name | None = None
    run_id: Name | None = None
    module: Name | None = None
    from_: Annotated[str, StringConstraints(max_length=10)] | None = Field(
        default=None, alias="from"
    )
    to: Annotated[str, StringConstraints(max_length=10)] | None = None
