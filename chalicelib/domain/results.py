"""Rules that turn a batch of results into executions, flaky retries, and draft tickets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.domain.statuses import ResultStatus


class Result(Protocol):
    scenario_id: str
    test_case_id: str
    status: ResultStatus
    attempt: int


def flaky_indexes(results: Sequence[Result]) -> set[int]:
    """Indexes of failures that a later attempt of the same test case passed (a retry in the
    same run): they are flaky, not defects."""
    by_case: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(results):
        by_case[r.test_case_id].append(i)
    flaky: set[int] = set()
    for indexes in by_case.values():
        if len(indexes) < 2:
            continue
        passes = [results[i].attempt for i in indexes if results[i].status == ResultStatus.PASSED]
        if not passes:
            continue
        last_pass = max(passes)
        flaky.update(
            i
            for i in indexes
            if results[i].status == ResultStatus.FAILED and results[i].attempt < last_pass
        )
    return flaky


@dataclass
class ScenarioBatch:
    """The results of one scenario within a report, in report order."""

    scenario_id: str
    indexes: list[int] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)

    def last_index(self, results: Sequence[Result]) -> int:
        """The result that is the scenario's latest: the highest attempt, then the latest given."""
        return max(self.indexes, key=lambda i: (results[i].attempt, i))


def group_by_scenario(results: Sequence[Result], flaky: set[int]) -> list[ScenarioBatch]:
    batches: dict[str, ScenarioBatch] = {}
    for i, r in enumerate(results):
        batch = batches.setdefault(r.scenario_id, ScenarioBatch(r.scenario_id))
        batch.indexes.append(i)
        if r.status == ResultStatus.FAILED and i not in flaky:
            batch.failures.append(i)
    return list(batches.values())


def draft_fields(result: Any, run: Any) -> dict[str, Any]:
    """What a new draft is pre-filled with, from the first failure of its scenario."""
    error = result.error
    return {
        "scenarioId": result.scenario_id,
        "testCaseId": result.test_case_id,
        "module": result.module_name,
        "title": result.title or result.test_case_id,
        "expected": result.expected,
        "actual": result.actual or (error.message if error else None),
        "steps": result.steps,
        "error": error.model_dump(mode="json", by_alias=True, exclude_none=True) if error else None,
        "environment": run.environment,
        "run": run.model_dump(mode="json", by_alias=True, exclude_none=True),
        "reportUrl": result.report_url,
        "scriptUrl": result.script_url,
        "requirements": list(result.requirements),
        "jiraTestKey": result.jira_test_key,
        "jiraExecutionKey": result.jira_execution_key,
        "evidence": [
            e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in result.evidence
        ],
    }
