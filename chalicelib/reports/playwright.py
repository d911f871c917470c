"""Playwright's JSON reporter (`--reporter=json`).

Suites nest (file, then describe blocks); each spec has one test per project, each test its
`results`, one per retry, in order. A result passes when its status is the test's
`expectedStatus` (a `test.fail()` test passes by failing); `skipped` is skipped, `interrupted`
is blocked. A test whose outcome is `flaky` failed, then passed on a retry: its earlier results
are failed attempts and its last a passed one, so it opens nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.mapping import ReportMapping
from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.models import ResultIn
from chalicelib.reports.common import (
    Attempt,
    Case,
    joined,
    ms_from_ms,
    read_json,
    to_results,
    validate_json,
)

FORMAT = "playwright"
RunStatus = Literal["passed", "failed", "timedOut", "skipped", "interrupted"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Error(_Model):
    message: str | None = None
    stack: str | None = None


class Attachment(_Model):
    name: str
    content_type: str | None = Field(default=None, alias="contentType")
    path: str | None = None


class Result(_Model):
    retry: int = 0
    status: RunStatus
    duration: float | None = None
    error: Error | None = None
    errors: list[Error] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)


class Annotation(_Model):
    type: str
    description: str | None = None


class Test(_Model):
    project_name: str = Field(default="", alias="projectName")
    expected_status: RunStatus = Field(default="passed", alias="expectedStatus")
    status: Literal["expected", "unexpected", "flaky", "skipped"] | None = None
    annotations: list[Annotation] = Field(default_factory=list)
    results: list[Result] = Field(default_factory=list)


class Spec(_Model):
    title: str
    file: str | None = None
    tags: list[str] = Field(default_factory=list)
    tests: list[Test] = Field(default_factory=list)


class Suite(_Model):
    title: str = ""
    file: str | None = None
    specs: list[Spec] = Field(default_factory=list)
    suites: list[Suite] = Field(default_factory=list)


class Report(_Model):
    suites: list[Suite]


# Playwright's result statuses that are ours whatever the test expected (the others pass when
# they are the expected status and fail otherwise), and the test outcome that stands for a test
# with no results
RESULT_STATUSES = {"skipped": R.SKIPPED, "interrupted": R.BLOCKED}
TEST_STATUSES = {"skipped": R.SKIPPED}


def _attempt(result: Result, expected: str) -> Attempt:
    status = RESULT_STATUSES.get(result.status) or (
        R.PASSED if result.status == expected else R.FAILED
    )
    error = result.error or (result.errors[0] if result.errors else None)
    message = (error.message or "") if error else ""
    if status == R.FAILED and not message:
        message = f"expected {expected}, was {result.status}"
    return Attempt(
        status=status,
        message=message,
        trace=(error.stack or "") if error else "",
        error_type="TimeoutError" if result.status == "timedOut" else "",
        duration_ms=ms_from_ms(result.duration),
    )


def _cases(suites: list[Suite]) -> Iterator[Case]:
    stack: list[tuple[Suite, list[str], str]] = [(s, [], "") for s in reversed(suites)]
    while stack:
        suite, path, file = stack.pop()
        file = suite.file or file
        # The top suite of a file is titled with the file name: keep it out of the path.
        own = [] if not path and suite.title == (suite.file or "") else [suite.title]
        here = [*path, *own]
        for spec in suite.specs:
            for test in spec.tests:
                results = sorted(test.results, key=lambda r: r.retry)
                attempts = [_attempt(r, test.expected_status) for r in results]
                if not attempts and TEST_STATUSES.get(test.status or "") == R.SKIPPED:
                    attempts = [Attempt(R.SKIPPED)]
                name = spec.title + (f" [{test.project_name}]" if test.project_name else "")
                evidence = [
                    (a.name, a.path)
                    for r in results
                    for a in r.attachments
                    if a.path and a.path.startswith(("http://", "https://"))
                ]
                props = [(a.type, a.description or "") for a in test.annotations]
                yield Case(
                    name=name,
                    classname=joined([spec.file or file, *here]),
                    file=spec.file or file,
                    suite=test.project_name,
                    attempts=attempts or [Attempt(R.SKIPPED)],
                    properties=props,
                    evidence=evidence,
                )
        stack.extend((s, here, file) for s in reversed(suite.suites))


def parse(
    body: bytes, mapping: ReportMapping | None = None, explain: list[dict[str, str]] | None = None
) -> list[ResultIn]:
    report: Report = validate_json(Report, read_json(body, FORMAT), FORMAT)
    return to_results(_cases(report.suites), mapping, FORMAT, explain)
