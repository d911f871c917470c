"""The execution: one result of one test case in one run (an attempt). A failure's execution
is an occurrence of its ticket."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.record import Record
from chalicelib.domain.statuses import ResultStatus


@dataclass
class Execution(Record):
    execution_id: str
    project: str
    run_id: str
    scenario_id: str
    test_case_id: str
    attempt: int
    status: str
    at: str
    reporter: str | None = None
    duration_ms: int | None = None
    actual: str | None = None
    error: dict[str, Any] | None = None
    report_url: str | None = None
    run_name: str | None = None
    ci_url: str | None = None
    environment: str | None = None
    evidence: list[dict[str, Any]] | None = None
    ticket_id: str | None = None
    flaky: bool | None = None
    opened_ticket: bool | None = None
    source: dict[str, Any] | None = None  # JUnit classname, name, file
    module: str | None = None  # the result's module (metrics count executions by module)
    requirements: list[str] | None = None  # the requirements the result names
    test_case_version: int | None = None  # the version of the test case that ran
    release: str | None = None  # the release (Jira fixVersion) and sprint the run tested
    sprint: str | None = None
    signature: dict[str, Any] | None = None  # a failure's (`domain.signatures`)

    commit: str | None = None  # the commit the run tested (flaky detection)
    outage: bool | None = None  # its report failed wholesale: not counted for flakiness
    muted: str | None = None  # why this failure opened nothing: `flaky` or `quarantined`
    # its test case's latest result in the scenario: the write that stores the execution also
    # stores the scenario's `LATEST#{tc}` item (not an attribute of the execution)
    latest: bool | None = None
    other: dict[str, Any] = field(default_factory=dict)

    def stored(self) -> dict[str, Any]:
        """The attributes to store: unset ones are left out."""
        return {k: v for k, v in self.to_dict().items() if v is not None and k != "latest"}


RUN_STATUSES = tuple(s.value for s in ResultStatus)


def final_results(executions: list[Execution]) -> dict[str, Execution]:
    """A run's outcome per test case: its last attempt (a failure a retry passed counts as
    passed, and is flaky)."""
    last: dict[str, Execution] = {}
    for e in executions:
        if e.test_case_id not in last or e.attempt >= last[e.test_case_id].attempt:
            last[e.test_case_id] = e
    return last


def run_counts(executions: list[Execution]) -> dict[str, int]:
    """Test cases of a run by their final status (what `GET .../runs/{runId}` and a run's page
    and report count)."""
    counts = dict.fromkeys(RUN_STATUSES, 0)
    for e in final_results(executions).values():
        counts[e.status] = counts.get(e.status, 0) + 1
    return counts
