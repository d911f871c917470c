"""The scenario aggregate: what a test scenario's test cases last said, and its live ticket."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.record import Record
from chalicelib.domain.statuses import ResultStatus, ScenarioStatus, scenario_status


@dataclass
class Scenario(Record):
    project: str
    scenario_id: str
    module: str | None = None
    title: str | None = None
    # test case ids and test case id -> its latest result ({"status", "executionId", "runId",
    # "at"}): read with the scenario's results (`with_results`), not on the recording path
    test_cases: list[str] = field(default_factory=list)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the test cases whose latest result failed, kept on the scenario's item by each touch
    failing_cases: list[str] = field(default_factory=list)
    last_result: str | None = None
    last_execution: dict[str, Any] | None = None
    last_at: str | None = None
    first_seen_at: str | None = None
    live_ticket_id: str | None = None
    live_ticket_status: str | None = None
    last_ended_ticket_id: str | None = None
    last_ended_status: str | None = None
    last_ended_at: str | None = None
    # flaky detection's marks, read with the scenario on the recording path (no extra read):
    # its test cases that score flaky, and the end of its quarantine
    muted_cases: list[str] = field(default_factory=list)
    quarantine_until: str | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @property
    def failing_test_cases(self) -> list[str]:
        """From the latest results when they were read, else from the scenario's own set."""
        if self.latest:
            return sorted(
                tc for tc, r in self.latest.items() if r.get("status") == ResultStatus.FAILED
            )
        return sorted(self.failing_cases)

    @property
    def result(self) -> str | None:
        """The scenario's result: failed while any test case's latest result failed (a passing
        test case does not hide a failing sibling), else its latest result."""
        if self.failing_test_cases:
            return ResultStatus.FAILED.value
        return self.last_result

    @property
    def status(self) -> ScenarioStatus:
        return scenario_status(self.result, self.live_ticket_status)

    def test_case_view(self) -> list[dict[str, Any]]:
        """Each test case with its latest result (null if recorded before results were kept
        per test case)."""
        cases = sorted({*self.test_cases, *self.latest})
        return [{"testCaseId": tc, "latest": self.latest.get(tc)} for tc in cases]
