"""Test management at the edge: test cases and imports, requirements, page links, reports and
schedules, flaky settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    Strict,
    StringConstraints,
    field_validator,
)

from chalicelib.domain.requirements import REQUIREMENT_ID_PATTERN
from chalicelib.models.base import (
    WHOLE,
    Name,
    Number,
    StrictEdgeModel,
    Text,
)

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
    threshold: Number | None = Field(default=None, ge=0.01, le=1.0)
    min_executions: int | None = Field(default=None, ge=2, le=100)
    outage_share: Number | None = Field(default=None, ge=0.01, le=1.0)
