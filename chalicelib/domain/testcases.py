"""The test case aggregate: what a test checks, in versions. Every edit is a new immutable version;
the head carries the current version, and what executions last said about it (overall and per
release or sprint). A deleted test case keeps its versions and stays readable through them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.record import Record
from chalicelib.domain.statuses import ResultStatus, TestCaseStatus

_PASSED = ResultStatus.PASSED.value  # the module counter of test cases whose last result passed
COUNTERS = ("testCases", "executed", _PASSED)  # a module's counters, as `count_deltas` moves them

METHODS = ("manual", "automated")
# The project item's catalogue generation: moved by every write that gives a test case a new
# version (create, edit, delete, import); what a container remembers of versions holds while it
# does not move (`services.remembered`).
CATALOG_GENERATION = "catalogGeneration"
# The fields a version holds; a change in any of them is a new version, no change is none.
CONTENT = (
    "title",
    "module",
    "suite",
    "priority",
    "type",
    "method",
    "status",
    "preconditions",
    "steps",
    "postconditions",
    "requirements",
    "jira_test_key",
)
CONTENT_ATTRS = tuple(
    "".join(w.capitalize() if i else w for i, w in enumerate(n.split("_"))) for n in CONTENT
)


@dataclass
class TestCase(Record):
    __test__ = False  # not a pytest class, whatever its name says

    project: str
    test_case_id: str
    title: str
    module: str | None = None
    suite: str | None = None
    priority: str | None = None
    type: str | None = None
    method: str = "manual"
    status: str = TestCaseStatus.ACTIVE.value
    preconditions: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)  # stepNumber, action, expectedResult
    postconditions: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    jira_test_key: str | None = None
    version: int = 1
    deleted: bool = False
    created_at: str | None = None
    created_by: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None
    # what executions said: {"status", "at", "runId", "executionId", "version", "scenarioId"}
    last_execution: dict[str, Any] | None = None
    other: dict[str, Any] = field(default_factory=dict)

    def content(self) -> dict[str, Any]:
        """The versioned fields, camelCase, as the API and the versions show them."""
        data = self.to_dict()
        return {k: data[k] for k in CONTENT_ATTRS}

    def same_content(self, content: dict[str, Any]) -> bool:
        return self.content() == {k: content.get(k, _EMPTY.get(k)) for k in CONTENT_ATTRS}

    def edited(self, content: dict[str, Any], *, at: str, by: str | None) -> TestCase:
        """The next version with `content` (camelCase versioned fields), undeleting it."""
        data = {**self.to_dict(), **{k: content.get(k, _EMPTY.get(k)) for k in CONTENT_ATTRS}}
        data.update(version=self.version + 1, deleted=False, updatedAt=at, updatedBy=by)
        return TestCase.from_dict(data)

    def removed(self, *, at: str, by: str | None) -> TestCase:
        """Soft delete: a new version marked deleted; every earlier version stays."""
        data = {**self.to_dict(), "version": self.version + 1, "deleted": True}
        data.update(updatedAt=at, updatedBy=by)
        return TestCase.from_dict(data)

    def version_item(self) -> dict[str, Any]:
        """The immutable version as stored and shown by `GET .../versions`."""
        return {
            "testCaseId": self.test_case_id,
            "version": self.version,
            **self.content(),
            "deleted": self.deleted,
            "at": self.updated_at,
            "by": self.updated_by,
        }

    def view(self) -> dict[str, Any]:
        """What clients see: the contract's fields, then bookkeeping."""
        return {
            "testCaseId": self.test_case_id,
            **self.content(),
            "version": self.version,
            "deleted": self.deleted,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "updatedAt": self.updated_at,
            "updatedBy": self.updated_by,
            "lastExecution": self.last_execution,
        }

    def counts(self) -> tuple[str, dict[str, int]] | None:
        """What the test case adds to its module's counters (None while deleted, or registered
        from a report and not yet counted: its first result counts it)."""
        if self.deleted or self.other.get("uncounted"):
            return None
        last = (self.last_execution or {}).get("status")
        return self.module or "general", {
            "testCases": 1,
            "executed": int(last is not None),
            _PASSED: int(last == ResultStatus.PASSED),
        }


_EMPTY: dict[str, Any] = {
    "module": None,
    "suite": None,
    "priority": None,
    "type": None,
    "method": "manual",
    "status": TestCaseStatus.ACTIVE.value,
    "preconditions": [],
    "steps": [],
    "postconditions": [],
    "requirements": [],
    "jiraTestKey": None,
}


def new_test_case(
    project: str, test_case_id: str, content: dict[str, Any], *, at: str, by: str | None
) -> TestCase:
    data = {k: content.get(k, _EMPTY.get(k)) for k in CONTENT_ATTRS}
    return TestCase.from_dict(
        {
            **data,
            "project": project,
            "testCaseId": test_case_id,
            "version": 1,
            "deleted": False,
            "createdAt": at,
            "createdBy": by,
            "updatedAt": at,
            "updatedBy": by,
        }
    )


def count_delta(before: TestCase | None, after: TestCase | None) -> dict[str, dict[str, int]]:
    """Module counter changes from one state of a test case to the next: module -> deltas."""
    out: dict[str, dict[str, int]] = {}
    for sign, case in ((-1, before), (1, after)):
        counted = case.counts() if case is not None else None
        if counted is None:
            continue
        module, values = counted
        bucket = out.setdefault(module, {"testCases": 0, "executed": 0, _PASSED: 0})
        for k, v in values.items():
            bucket[k] += sign * v
    return {m: d for m, d in out.items() if any(d.values())}


def count_deltas(
    writes: Sequence[tuple[TestCase | None, TestCase]],
) -> dict[str, dict[str, int]]:
    """Module -> counter moves of these writes (modules that move at all)."""
    deltas: dict[str, dict[str, int]] = {}
    for before, after in writes:
        for module, d in count_delta(before, after).items():
            bucket = deltas.setdefault(module, {"testCases": 0, "executed": 0, _PASSED: 0})
            for k, v in d.items():
                bucket[k] += v
    return {m: d for m, d in deltas.items() if any(d.values())}
