"""Pydantic v2 models at the edge: what clients send us, validated before any service sees it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from chalicelib.domain.requirements import REQUIREMENT_ID_PATTERN
from chalicelib.domain.statuses import ResultStatus
from chalicelib.errors import ValidationFailed, field_problem
from chalicelib.settings import (
    EVIDENCE_CONTENT_TYPES,
    MAX_EVIDENCE_BYTES,
    MAX_RESULTS_PER_REQUEST,
)

# The OpenAPI document is generated from these models, so a constraint the server enforces must be
# one JSON Schema can say: checked on the value as sent, then surrounding whitespace dropped.
# A name has something besides whitespace and no control characters (C0, DEL).
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NAME_PATTERN),
    AfterValidator(str.strip),
]
Text = Annotated[str, StringConstraints(max_length=10_000)]
Trace = Annotated[str, StringConstraints(max_length=65_536)]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")]


def _whole_number(value: Any) -> Any:
    """JSON Schema's integer: 5.0 is the integer 5 (some JSON encoders write it so)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer as JSON Schema means it: `Annotated[int, Strict(), Field(<bounds>), WHOLE]`: true,
# "5" and 1.5 are not integers, 5.0 is 5. The bounds go before WHOLE, so the document states them.
WHOLE = BeforeValidator(_whole_number)


class EdgeModel(BaseModel):
    # defer_build: validators are built on first use, not when app.py imports this module
    # (every Lambda's cold start would pay for every model).
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        defer_build=True,
    )


class StrictEdgeModel(EdgeModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        defer_build=True,
    )


class RunIn(EdgeModel):
    id: Name
    name: Name | None = None
    build: Name | None = None
    branch: Name | None = None
    ci_url: Url | None = None
    environment: Name | None = None
    # the Jira fixVersion and sprint the run tests: release and sprint views count its results
    release: Name | None = None
    sprint: Name | None = None
    # the commit the run tested: a failure and a pass of one commit make a test case flaky
    commit: Name | None = None


class ErrorIn(EdgeModel):
    type: Name | None = None
    message: Text | None = None
    trace: Trace | None = None


class EvidenceLinkIn(EdgeModel):
    name: Name
    url: Url
    content_type: Name | None = None


class SourceIn(EdgeModel):
    """Where a JUnit result came from, as the report said it: kept on the execution so its
    identity can be re-derived when the project's mapping changes."""

    classname: Name | None = None
    name: Name | None = None
    file: Name | None = None


class ResultIn(EdgeModel):
    scenario_id: Name
    test_case_id: Name
    status: ResultStatus
    title: Name | None = None
    module: Name | None = None
    expected: Text | None = None
    actual: Text | None = None
    steps: Text | None = None
    error: ErrorIn | None = None
    reporter: Name | None = None
    duration_ms: Annotated[int, Strict(), Field(ge=0), WHOLE] | None = None
    report_url: Url | None = None
    script_url: Url | None = None
    requirements: list[Name] = Field(default_factory=list, max_length=50)
    jira_test_key: Name | None = None
    jira_execution_key: Name | None = None
    attempt: Annotated[int, Strict(), Field(ge=1, le=100), WHOLE] = 1
    evidence: list[EvidenceLinkIn] = Field(default_factory=list, max_length=20)
    source: SourceIn | None = None

    @property
    def module_name(self) -> str:
        """The module named in the result, or the scenario id's first dotted segment."""
        return self.module or self.scenario_id.split(".", 1)[0]


class ResultsReport(EdgeModel):
    run: RunIn
    results: list[ResultIn] = Field(min_length=1, max_length=MAX_RESULTS_PER_REQUEST)


class TicketPatch(StrictEdgeModel):
    actual: Text | None = None
    notes: Text | None = None
    severity: Literal["blocker", "critical", "major", "minor", "trivial"] | None = None
    priority: Literal["highest", "high", "medium", "low", "lowest"] | None = None


class AttachmentRequest(StrictEdgeModel):
    file_name: Annotated[
        str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f\x7f]+$")
    ]
    # Checked by the service (422 naming the accepted types; 413 above the limit): here so the
    # OpenAPI document says what is accepted.
    content_type: Annotated[str, Field(json_schema_extra={"enum": list(EVIDENCE_CONTENT_TYPES)})]
    size: Annotated[int, Strict(), Field(gt=0), WHOLE] = Field(
        json_schema_extra={"maximum": MAX_EVIDENCE_BYTES}
    )
    kind: Literal["screenshot", "log", "video", "other"] = "other"


ReportFormat = Literal[
    "junit", "json", "ctrf", "playwright", "trx", "nunit3", "xunit2", "cucumber", "tap"
]


class UploadRequest(StrictEdgeModel):
    """`format`: `json` is a failbridge results document; the others are report formats
    (`chalicelib.reports`)."""

    run: RunIn
    format: ReportFormat = "junit"
    size: Annotated[int, Strict(), Field(gt=0), WHOLE] | None = None


class ModuleIn(StrictEdgeModel):
    lead: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    slack_user_id: Name | None = None


class KeyIn(StrictEdgeModel):
    role: Literal["admin", "lead", "tester", "ci", "viewer"]
    name: Name | None = None
    user: Name | None = None


M = TypeVar("M", bound=BaseModel)


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _one_of(ctx: dict[str, Any]) -> str:
    expected = str(ctx.get("expected", "")).replace(" or ", ", ")
    return "must be one of " + ", ".join(e.strip(" '") for e in expected.split(","))


def _items(count: Any) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


# pydantic error types -> the contract's words. Values quoted from the model (patterns, limits,
# names) keep their case: a pattern lower-cased is a different pattern.
_PROBLEMS: dict[str, Callable[[dict[str, Any]], str]] = {
    "enum": _one_of,
    "literal_error": _one_of,
    "missing": lambda ctx: "is required",
    "extra_forbidden": lambda ctx: "is not a known field",
    "string_pattern_mismatch": lambda ctx: (
        "must not be blank or contain control characters"
        if ctx.get("pattern") == NAME_PATTERN
        else f"must match the pattern {ctx.get('pattern')}"
    ),
    "model_type": lambda ctx: "must be an object",
    "model_attributes_type": lambda ctx: "must be an object",
    "dict_type": lambda ctx: "must be an object",
    "list_type": lambda ctx: "must be a list",
    "string_type": lambda ctx: "must be a string",
    "int_type": lambda ctx: "must be an integer",
    "int_parsing": lambda ctx: "must be an integer",
    "int_from_float": lambda ctx: "must be an integer",
    "float_type": lambda ctx: "must be a number",
    "float_parsing": lambda ctx: "must be a number",
    "bool_type": lambda ctx: "must be true or false",
    "bool_parsing": lambda ctx: "must be true or false",
    "string_too_short": lambda ctx: (
        "must not be empty"
        if ctx.get("min_length") == 1
        else f"must be at least {ctx.get('min_length')} characters long"
    ),
    "string_too_long": lambda ctx: f"must be at most {ctx.get('max_length')} characters long",
    "too_short": lambda ctx: f"must have at least {_items(ctx.get('min_length'))}",
    "too_long": lambda ctx: f"must have at most {_items(ctx.get('max_length'))}",
    "greater_than": lambda ctx: f"must be greater than {ctx.get('gt')}",
    "greater_than_equal": lambda ctx: f"must be at least {ctx.get('ge')}",
    "less_than": lambda ctx: f"must be less than {ctx.get('lt')}",
    "less_than_equal": lambda ctx: f"must be at most {ctx.get('le')}",
}


def _problem(err: Any) -> str:
    translate = _PROBLEMS.get(err["type"])
    if translate is not None:
        return translate(err.get("ctx") or {})
    message = str(err["msg"]).removeprefix("Value error, ")
    # Only pydantic's sentence case goes ("Input should be ..." -> "input should be ..."):
    # an acronym or a name at the start ("UUID", "ResultsReport") stays as it is.
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        message = message[0].lower() + message[1:]
    return message


def parse_model(model: type[M], data: Any) -> M:
    """Validate `data` into `model`, turning pydantic's errors into the contract's error shape."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [field_problem(_field_path(e["loc"]), _problem(e)) for e in exc.errors()]
        raise ValidationFailed("the request body is not valid", details) from exc


def parse_json(body: bytes | str | None) -> Any:
    """Decode a JSON body, or say clearly why it is not JSON."""
    import json

    from chalicelib.errors import MalformedRequest

    if not body:
        raise MalformedRequest("the body is empty", [field_problem("body", "is required")])
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(
            "the body is not valid JSON", [field_problem("body", f"is not valid JSON: {exc}")]
        ) from exc


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
        known = {"resolved", "closed", "deferred", "blocked", "reopened", "closingResolutions"}
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
    threshold: float
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


# --- test management: test cases, requirements (chalicelib.domain.testcases, .requirements) -----

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
RequirementId = Annotated[str, StringConstraints(pattern=REQUIREMENT_ID_PATTERN)]
TestCaseId = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f]{1,200}$")]


class TestStepIn(StrictEdgeModel):
    __test__ = False

    step_number: Annotated[int, Strict(), Field(ge=1, le=1000), WHOLE]
    action: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    expected_result: Text = ""
    data: Text | None = None


class TestCaseIn(StrictEdgeModel):
    """A test case as seed 003 shows it (`version` is read only: send it as If-Match)."""

    __test__ = False

    test_case_id: TestCaseId | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    module: Name | None = None
    suite: Name | None = None
    priority: Literal["critical", "highest", "high", "medium", "low", "lowest"] | None = None
    type: Name | None = None
    method: Literal["manual", "automated"] = "manual"
    status: Literal["draft", "active", "deprecated"] = "active"
    preconditions: list[Line] = Field(default_factory=list, max_length=50)
    steps: list[TestStepIn] = Field(default_factory=list, max_length=200)
    postconditions: list[Line] = Field(default_factory=list, max_length=50)
    requirements: list[RequirementId] = Field(default_factory=list, max_length=100)
    jira_test_key: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*-[0-9]+$")] | None = (
        None
    )
    version: Annotated[int, Strict(), Field(ge=1), WHOLE] | None = None

    @field_validator("priority", "status", "method", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    def content(self) -> dict[str, Any]:
        """The versioned fields, camelCase (steps with their data only when given)."""
        data = self.model_dump(mode="json", by_alias=True, exclude={"test_case_id", "version"})
        data["steps"] = [{k: v for k, v in step.items() if v is not None} for step in data["steps"]]
        data["requirements"] = list(dict.fromkeys(data["requirements"]))
        return data


class TestCaseImportIn(StrictEdgeModel):
    """A JSON import: `{"testCases": [...]}` (each with its `testCaseId`)."""

    __test__ = False

    test_cases: list[dict[str, Any]] = Field(min_length=1, max_length=50_000)


class TestCaseImportUploadIn(StrictEdgeModel):
    """A large import through a presigned upload: the file's format, and a dry run or not."""

    __test__ = False

    format: Literal["csv", "json"] = "csv"
    dry_run: Annotated[bool, Strict()] = False


class RequirementIn(StrictEdgeModel):
    """A requirement of the project's own, or local facts about a Jira story."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    status: Name | None = None
    description: Text | None = None
    fix_versions: list[Name] = Field(default_factory=list, max_length=50)
    sprints: list[Name] = Field(default_factory=list, max_length=50)


class PageLinkIn(StrictEdgeModel):
    """`POST /v1/projects/{project}/page-links`: a signed view link for a browser."""

    page: Literal["dashboard", "ticket", "run", "drafts"]
    id: Name | None = None
    expires_in_seconds: Annotated[int, Strict(), Field(ge=60, le=14 * 24 * 3600), WHOLE] | None = (
        None
    )


class PeriodIn(StrictEdgeModel):
    start: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    end: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class ReportIn(StrictEdgeModel):
    """`POST /v1/projects/{project}/reports`: built asynchronously to S3."""

    type: Literal["executive-summary", "test-run", "defects"]
    format: Literal["pdf", "html", "csv"] = "pdf"
    period: PeriodIn | None = None
    run_id: Name | None = None
    module: Name | None = None


class ReportScheduleIn(StrictEdgeModel):
    """`PUT /v1/projects/{project}/report-schedules/{name}`: a report sent to Slack on a
    schedule (UTC): weekly on `weekday` at `hour`, or daily at `hour`."""

    type: Literal["executive-summary", "test-run", "defects"] = "executive-summary"
    format: Literal["pdf", "html", "csv"] = "pdf"
    every: Literal["day", "week"] = "week"
    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    hour: Annotated[int, Strict(), Field(ge=0, le=23), WHOLE] = 9
    period_days: Annotated[int, Strict(), Field(ge=1, le=366), WHOLE] = 7
    module: Name | None = None


class QuarantineIn(StrictEdgeModel):
    """`PUT /v1/projects/{project}/scenarios/{scenarioId}/quarantine`: the scenario's failures
    are recorded and open nothing until `until` (an ISO-8601 date-time with a zone)."""

    until: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason: Annotated[str, StringConstraints(max_length=500)]


class FlakySettingsIn(StrictEdgeModel):
    """`PUT /v1/projects/{project}/flaky/settings`: flaky detection's window (the last N
    executions of a test case), flip-rate threshold, the executions needed before a flip rate
    counts, and the failed share above which a report is an outage (not counted)."""

    window: int | None = Field(default=None, ge=4, le=100)
    threshold: float | None = Field(default=None, ge=0.01, le=1.0)
    min_executions: int | None = Field(default=None, ge=2, le=100)
    outage_share: float | None = Field(default=None, ge=0.01, le=1.0)
