"""CTRF (Common Test Report Format, https://ctrf.io) JSON reports.

`results.tests[]` is one test each. A test's `retryAttempts` (spec 0.0.x/1.0) are its earlier
runs, in order; a `flaky` test with `retries` but no `retryAttempts` failed `retries` times
before it passed. Statuses: passed, failed, skipped, pending (skipped), other (blocked).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.mapping import ReportMapping
from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.models import ResultIn
from chalicelib.reports.common import (
    Attempt,
    Case,
    ms_from_ms,
    read_json,
    to_results,
    validate_json,
)

FORMAT = "ctrf"
Status = Literal["passed", "failed", "skipped", "pending", "other"]
# CTRF's test statuses -> ours (any other, "other" included, is blocked)
STATUSES = {"passed": R.PASSED, "failed": R.FAILED, "skipped": R.SKIPPED, "pending": R.SKIPPED}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RetryAttempt(_Model):
    status: Status
    duration: float | None = None
    message: str | None = None
    trace: str | None = None


class Test(_Model):
    name: str = Field(min_length=1)
    status: Status
    duration: float | None = None
    message: str | None = None
    trace: str | None = None
    suite: str | list[str] | None = None
    file_path: str | None = Field(default=None, alias="filePath")
    tags: list[str] = Field(default_factory=list)
    retries: int | None = Field(default=None, ge=0)
    flaky: bool | None = None
    retry_attempts: list[RetryAttempt] = Field(default_factory=list, alias="retryAttempts")
    screenshot: str | None = None
    extra: dict[str, Any] | None = None


class Tool(_Model):
    name: str


class Results(_Model):
    tool: Tool
    tests: list[Test]


class Report(_Model):
    results: Results


def _attempt(status: str, duration: Any, message: str | None, trace: str | None) -> Attempt:
    return Attempt(
        status=STATUSES.get(status, R.BLOCKED),
        message=message or "",
        trace=trace or "",
        duration_ms=ms_from_ms(duration),
    )


def _case(test: Test) -> Case:
    final = _attempt(test.status, test.duration, test.message, test.trace)
    earlier = [_attempt(a.status, a.duration, a.message, a.trace) for a in test.retry_attempts]
    if (
        not earlier
        and STATUSES.get(test.status) in (R.PASSED, R.FAILED)
        and (test.retries or test.flaky)
    ):
        # jest retries a test only when it fails: `retries` failed runs came first
        earlier = [Attempt(R.FAILED) for _ in range(max(test.retries or 1, 1))]
    # retryAttempts may list the final attempt too (spec 1.0 lists every attempt)
    if earlier and earlier[-1].status == final.status and len(earlier) == (test.retries or 0) + 1:
        earlier = earlier[:-1]
    suite = " > ".join(test.suite) if isinstance(test.suite, list) else (test.suite or "")
    properties = [(str(k), str(v)) for k, v in (test.extra or {}).items() if _scalar(v)]
    evidence = [("screenshot", test.screenshot)] if test.screenshot else []
    return Case(
        name=test.name,
        classname=suite,
        file=test.file_path or "",
        suite=suite,
        attempts=[*earlier, final],
        properties=properties,
        evidence=evidence,
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def parse(
    body: bytes, mapping: ReportMapping | None = None, explain: list[dict[str, str]] | None = None
) -> list[ResultIn]:
    report: Report = validate_json(Report, read_json(body, FORMAT), FORMAT)
    return to_results((_case(t) for t in report.results.tests), mapping, FORMAT, explain)
