"""What a CI reports: runs and results (`POST /results`, uploads), a ticket's patch, an evidence
attachment's request. Kept apart so that the results path imports only these and `base`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    Strict,
    StringConstraints,
)

from chalicelib.domain.statuses import ResultStatus
from chalicelib.models.base import (
    WHOLE,
    EdgeModel,
    Name,
    StrictEdgeModel,
    Text,
    Trace,
    Url,
)
from chalicelib.settings import (
    EVIDENCE_CONTENT_TYPES,
    MAX_EVIDENCE_BYTES,
    MAX_RESULTS_PER_REQUEST,
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
