"""Ports of test management: test cases, requirements and stories."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.ports.core import Cursor, Cursors, TransactItem  # noqa: F401

if TYPE_CHECKING:  # annotations only: a port's types are imported by its users
    from chalicelib.domain.requirements import CoverageLink, Requirement
    from chalicelib.domain.testcases import TestCase


class TestCaseRepository(Protocol):
    """Test case heads (the current version), their immutable versions, module counters."""

    def get(self, project: str, test_case_id: str) -> TestCase | None: ...

    def get_many(self, project: str, test_case_ids: Sequence[str]) -> dict[str, TestCase]: ...

    def current_versions(self, project: str, test_case_ids: Sequence[str]) -> dict[str, int]: ...

    def create(self, case: TestCase, also: Sequence[TransactItem] = ()) -> None: ...

    def save(
        self, case: TestCase, expected_version: int, also: Sequence[TransactItem] = ()
    ) -> None: ...

    def put_many(self, cases: Sequence[TestCase]) -> None: ...

    def bump_generation(self, project: str) -> None: ...

    def versions(self, project: str, test_case_id: str) -> list[dict[str, Any]]: ...

    def page(
        self, project: str, *, limit: int, cursor: Cursor | None
    ) -> tuple[list[TestCase], Cursor | None]: ...

    def every(self, project: str) -> Iterator[TestCase]: ...

    def note_execution(
        self, project: str, test_case_id: str, last: dict[str, Any]
    ) -> TestCase | None: ...

    def add_counts(self, project: str, deltas: dict[str, dict[str, int]]) -> None: ...

    def count_items(
        self, project: str, deltas: dict[str, dict[str, int]]
    ) -> list[TransactItem]: ...

    def module_counts(self, project: str) -> list[dict[str, Any]]: ...


class RequirementRepository(Protocol):
    """Requirements and stories, their links to test cases, release and sprint membership."""

    def get(self, project: str, requirement_id: str) -> Requirement | None: ...

    def get_many(self, project: str, ids: Sequence[str]) -> dict[str, Requirement]: ...

    def put(self, requirement: Requirement) -> Requirement | None: ...

    def ensure(self, project: str, ids: Sequence[str], at: str) -> None: ...

    def links(self, project: str, requirement_id: str) -> list[CoverageLink]: ...

    def link(self, links: Sequence[CoverageLink]) -> None: ...

    def unlink(self, project: str, pairs: Sequence[tuple[str, str]]) -> None: ...

    def note_execution(
        self,
        project: str,
        requirement_id: str,
        test_case_id: str,
        fields: dict[str, Any],
        scopes: dict[str, dict[str, Any]],
    ) -> None: ...

    def page_with_links(
        self, project: str, *, limit: int, cursor: Cursor | None
    ) -> tuple[list[tuple[Requirement, list[CoverageLink]]], Cursor | None]: ...

    def members(self, project: str, kind: str, name: str) -> list[str]: ...

    def last_sync(self, project: str) -> dict[str, Any] | None: ...

    def set_last_sync(self, project: str, sync: dict[str, Any]) -> None: ...


class TestCatalog(Protocol):
    """What recording results asks of the test cases: register the unknown ones and say which
    version each runs at. (What the results say reaches the test cases through the change
    stream: `services.coverage.CoverageReader`.)"""

    def register(
        self, project: str, results: Sequence[Any], at: str, by: str | None
    ) -> dict[str, int]: ...


class StorySource(Protocol):
    """Stories as Jira holds them: key, title, status, fixVersions, sprints, updated."""

    def stories(self, jql: str, sprint_field: str | None = None) -> Iterator[dict[str, Any]]: ...


class TestCaseImportLedger(Protocol):
    """A large import's record as the one place that says which delivery of its notification
    writes it and how far it got: a claim (a lease), the batch cursor and the counter moves a
    batch intends, moved once with the cursor."""

    def claim(self, import_id: str, token: str, now: int, until: int) -> dict[str, Any] | None: ...

    def release(self, import_id: str, token: str) -> None: ...

    def note(
        self, import_id: str, token: str, fields: dict[str, Any], batch: int | None = None
    ) -> bool: ...

    def settle(self, import_id: str, token: str, fields: dict[str, Any]) -> bool: ...

    def advance(
        self,
        import_id: str,
        token: str,
        batch: int,
        step: int,
        fields: dict[str, Any],
        also: Sequence[TransactItem],
        *,
        last: bool,
    ) -> bool: ...
