"""Ports of the change stream's readers: metrics, gates, exports, pages, reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.ports.core import Cursor, Cursors, TransactItem  # noqa: F401

if TYPE_CHECKING:  # annotations only: a port's types are imported by its users
    from chalicelib.domain.exports import Staged


class AlreadyApplied(Exception):
    """A change event's applied-marker exists: the aggregates counted it before."""


class MetricsStore(Protocol):
    """The metrics aggregates (`domain.metrics`'s buckets and the reader's state), kept per
    project in generations: the reader writes the current one; a rebuild fills a new one and
    makes it current."""

    def generation(self, project: str) -> str: ...

    def set_generation(self, project: str, generation: str) -> None: ...

    def load_state(
        self, project: str, generation: str, keys: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], dict[str, Any] | None]: ...

    def commit(
        self,
        project: str,
        generation: str,
        event_ids: Sequence[str],
        state: dict[tuple[str, ...], tuple[dict[str, Any], int | None]],
        adds: dict[tuple[str, ...], dict[str, float]],
        appends: dict[tuple[str, ...], dict[str, list[float]]],
        members: dict[tuple[str, ...], dict[str, set[str]]],
    ) -> None:
        """Atomically: mark the events applied (AlreadyApplied if one was), write the state
        (each item's version must still be the one read: TransactionConflict if not), add the
        counters, append the values and add the members to their sets. `state` maps key ->
        (value, version read or None)."""
        ...

    def buckets(
        self, project: str, generation: str, keys: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], dict[str, Any]]:
        """The buckets of these keys (`domain.metrics`) that exist: counters as numbers, value
        lists as lists of numbers, sets as lists of strings. Bounded: the keys are named, never
        a range."""
        ...


class GateRepository(Protocol):
    def put(self, project: str, name: str, gate: dict[str, Any]) -> None: ...

    def get(self, project: str, name: str) -> dict[str, Any] | None: ...


class ExportStore(Protocol):
    """The exports' bookkeeping: staged rows, dirty day partitions, objects written, runs."""

    def stage(self, project: str, rows: Sequence[Staged], dirty: set[tuple[str, str]]) -> None: ...

    def dirty(self, project: str) -> list[tuple[str, str, str]]: ...

    def mark_dirty(self, project: str, dataset: str, day: str) -> None: ...

    def clear(self, project: str, dataset: str, day: str, token: str) -> bool: ...

    def rows(self, project: str, dataset: str, day: str) -> list[dict[str, Any]]: ...

    def written(self, project: str, dataset: str) -> dict[str, str]: ...

    def record_written(self, project: str, dataset: str, day: str, key: str) -> None: ...

    def put_job(self, project: str, export_id: str, job: dict[str, Any]) -> None: ...

    def get_job(self, project: str, export_id: str) -> dict[str, Any] | None: ...


class PageFeed(Protocol):
    """Each scenario's recent results and the project's recent activity (kept from the change
    stream for the pages)."""

    def add_results(self, results: Sequence[dict[str, Any]], expires_at: int) -> None: ...

    def recent_results(
        self, project: str, scenario_id: str, limit: int
    ) -> list[dict[str, Any]]: ...

    def add_activity(self, entries: Sequence[dict[str, Any]], expires_at: int) -> None: ...

    def activity(self, project: str, today: str, limit: int, days: int) -> list[dict[str, Any]]: ...

    def put_look_alike(self, entry: dict[str, Any]) -> None: ...

    def drop_look_alike(self, entry: dict[str, Any]) -> None: ...

    def look_alikes(self, project: str, error_type: str, limit: int) -> list[dict[str, Any]]: ...


class ReportStore(Protocol):
    def put(self, report: dict[str, Any]) -> None: ...

    def get(self, project: str, report_id: str) -> dict[str, Any] | None: ...

    def put_schedule(self, schedule: dict[str, Any]) -> None: ...

    def schedules(self) -> list[dict[str, Any]]: ...

    def schedule_sent(self, project: str, name: str, at: str) -> None: ...
