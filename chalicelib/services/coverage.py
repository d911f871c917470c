"""Coverage from the change stream: executions move the coverage links of their test cases'
requirements (`CoverageReader`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.domain.changes import ChangeEvent, ChangeKind

if TYPE_CHECKING:  # the file formats are loaded by an import or export, not by every report
    pass

from chalicelib.services.testcases import TestCaseService


class CoverageReader:
    """A reader of the change stream: recorded executions update their test case's last
    result, its requirements' coverage links and its module's counters, off the request path."""

    name = "coverage"

    def __init__(self, test_cases: TestCaseService) -> None:
        self._test_cases = test_cases

    def apply(self, events: Sequence[ChangeEvent]) -> None:
        latest: dict[tuple[str, str], ChangeEvent] = {}
        for event in events:
            if event.kind != ChangeKind.EXECUTION_RECORDED or not event.data.get("testCaseId"):
                continue
            key = (event.project, str(event.data["testCaseId"]))
            seen = latest.get(key)
            if seen is None or _order(event) >= _order(seen):
                latest[key] = event
        by_project: dict[str, list[dict[str, Any]]] = {}
        for (project, test_case_id), event in latest.items():
            data = event.data
            by_project.setdefault(project, []).append(
                {
                    "testCaseId": test_case_id,
                    "status": data.get("status"),
                    "executionId": data.get("executionId"),
                    "runId": data.get("runId"),
                    "at": event.at,
                    "attempt": data.get("attempt"),
                    "version": data.get("testCaseVersion"),
                    "scenarioId": data.get("scenarioId"),
                    "release": data.get("release"),
                    "sprint": data.get("sprint"),
                }
            )
        for project, notes in by_project.items():
            self._test_cases.note(project, notes)


def _order(event: ChangeEvent) -> tuple[str, int]:
    return event.at, int(event.data.get("attempt") or 1)
