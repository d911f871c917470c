"""Ports of test planning and execution: plans with their revisions, planned runs with their
progress buckets, and the progress hook results are recorded through."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.ports.core import Cursor

if TYPE_CHECKING:  # annotations only: a port's types are imported by its users
    from chalicelib.domain.plans import TestPlan
    from chalicelib.domain.runs import Bucket, Recorded, TestRun


class PlanRepository(Protocol):
    def get(self, project: str, plan_id: str) -> TestPlan | None: ...

    def save(self, plan: TestPlan, expected_seq: int | None) -> TestPlan: ...

    def delete(self, plan: TestPlan) -> None: ...

    def revisions(self, project: str, plan_id: str) -> list[dict[str, Any]]: ...

    def revision(self, project: str, plan_id: str, revision: int) -> dict[str, Any] | None: ...

    def page(
        self, project: str, *, limit: int, cursor: Cursor | None
    ) -> tuple[list[TestPlan], Cursor | None]: ...


class RunRepository(Protocol):
    def create(self, run: TestRun, buckets: Sequence[Bucket]) -> None: ...

    def get(self, project: str, run_id: str) -> TestRun | None: ...

    def buckets(self, project: str, run_id: str) -> list[Bucket]: ...

    def buckets_at(
        self, project: str, run_id: str, wanted: Mapping[int, Sequence[str]]
    ) -> dict[int, Bucket]: ...

    def apply(
        self, project: str, run_id: str, bucket: Bucket, changes: Sequence[Recorded]
    ) -> int | None: ...

    def bucket_done(self, project: str, run_id: str) -> int: ...

    def close(self, run: TestRun) -> bool: ...

    def page(
        self, project: str, status: str | None, *, limit: int, cursor: Cursor | None
    ) -> tuple[list[TestRun], Cursor | None]: ...


class RunProgress(Protocol):
    """What recording results tells planned runs (any path: CI, uploads, by hand)."""

    def note(
        self,
        project: str,
        run_id: str,
        recorded: Sequence[Recorded],
        *,
        open_runs: Collection[str] | None = None,
    ) -> None: ...
