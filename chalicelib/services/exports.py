"""Exports for BI tools: the change stream's export reader stages rows and marks the day
partitions they change; an export run (hourly, or asked for) writes each dirty day again, whole,
then the QuickSight manifests (`domain.exports` has the datasets and the file format).

Incremental: a run writes only the days marked since the last run. Idempotent: a day's object
is a function of its rows, and an unchanged object is not written again. Atomic for readers: a
day is one object replaced by one PUT, and a manifest is written after the objects it names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain import exports as x
from chalicelib.domain import metrics as m
from chalicelib.domain.changes import ChangeEvent
from chalicelib.domain.ports import (
    Blobs,
    ExportStore,
    MetricsStore,
    ProjectRepository,
    TicketRepository,
)
from chalicelib.domain.statuses import ExportJobStatus
from chalicelib.errors import FailbridgeError, NotFound
from chalicelib.ids import new_id

CONTENT_TYPE = "application/json"
MANIFEST_CONTENT_TYPE = "application/json"


class ExportReader:
    """The change stream's export reader (a `ChangeReader`): stages the rows of executions and
    ticket events and marks their days dirty. Idempotent: a redelivery stages the same rows."""

    name = "exports"

    def __init__(self, store: ExportStore) -> None:
        self.store = store

    def apply(self, events: Sequence[ChangeEvent]) -> None:
        by_project: dict[str, list[x.Staged]] = {}
        for event in events:
            rows = x.staged_rows(event)
            if rows:
                by_project.setdefault(event.project, []).extend(rows)
        for project, rows in by_project.items():
            self.store.stage(project, rows, x.dirty_days(rows))


@dataclass(frozen=True)
class Stores:
    exports: ExportStore
    tickets: TicketRepository
    projects: ProjectRepository
    metrics: MetricsStore


Figures = Callable[[str, m.Period, str | None], dict[str, Any]]


class ExportService:
    def __init__(
        self,
        stores: Stores,
        blobs: Blobs,
        figures: Figures,
        *,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self.stores = stores
        self.blobs = blobs
        self.figures = figures  # the metrics endpoint's figures: metrics_daily is the same
        self._clock = clock
        self.reader = ExportReader(stores.exports)
        self._read: dict[tuple[str, str], list[dict[str, Any]]] = {}

    # -- runs --------------------------------------------------------------------------------

    def run(self, project: str) -> dict[str, Any]:
        """Write every dirty day of the project again, then the manifests of the datasets
        whose set of days grew. Returns what was written, per dataset."""
        store = self.stores.exports
        summary: dict[str, dict[str, int]] = {}
        grew: set[str] = set()
        known: dict[str, dict[str, str]] = {}
        self._read = {}  # a day's executions, read once per run
        for dataset, day, token in sorted(store.dirty(project)):
            if dataset not in x.DATASETS:
                store.clear(project, dataset, day, token)
                continue
            counts = summary.setdefault(dataset, {"days": 0, "written": 0, "rows": 0})
            rows = self._rows(project, dataset, day)
            body = x.encode(dataset, rows)
            counts["days"] += 1
            counts["rows"] += len(rows)
            if body:
                key = x.data_key(dataset, project, day)
                if self.blobs.put_if_changed(key, body, CONTENT_TYPE):
                    counts["written"] += 1
                written = known.setdefault(dataset, store.written(project, dataset))
                if day not in written:
                    store.record_written(project, dataset, day, key)
                    written[day] = key
                    grew.add(dataset)
            store.clear(project, dataset, day, token)
        self._read = {}
        for dataset in sorted(grew):
            self.write_manifest(project, dataset, known[dataset].values())
        return summary

    def write_manifest(self, project: str, dataset: str, keys: Any) -> None:
        import json

        body = json.dumps(x.manifest(self.blobs.bucket, keys), indent=2).encode("utf-8")
        self.blobs.put_if_changed(x.manifest_key(project, dataset), body, MANIFEST_CONTENT_TYPE)

    def run_all(self) -> dict[str, Any]:
        """The hourly run: every project; one failing does not stop the others."""
        out: dict[str, Any] = {}
        for project in self.stores.projects.all():
            name = str(project["key"])
            try:
                out[name] = self.run(name)
            except FailbridgeError as exc:
                out[name] = {"error": str(exc)}
        return out

    def _staged(self, project: str, dataset: str, day: str) -> list[dict[str, Any]]:
        """A day's staged rows; executions are read once per run (scenarios_daily, which sorts
        after them, groups the same rows)."""
        if (dataset, day) not in self._read:
            rows = self.stores.exports.rows(project, dataset, day)
            if dataset != "executions":
                return rows
            self._read[(dataset, day)] = rows
        return self._read[(dataset, day)]

    def _rows(self, project: str, dataset: str, day: str) -> list[dict[str, Any]]:
        store = self.stores.exports
        if dataset in ("executions", "ticket_events", "audit"):
            return self._staged(project, dataset, day)
        if dataset == "tickets":
            rows = []
            for pointer in store.rows(project, dataset, day):
                try:
                    ticket = self.stores.tickets.get(str(pointer["ticket_id"]))
                except NotFound:
                    continue
                rows.append(x.ticket_row(ticket.to_dict()))
            return rows
        if dataset == "scenarios_daily":
            executions = self._staged(project, "executions", day)
            self._read.pop(("executions", day), None)
            return x.scenarios_daily(project, executions)
        if dataset == "metrics_daily":
            return self._metrics_daily(project, day)
        return []

    def _metrics_daily(self, project: str, day: str) -> list[dict[str, Any]]:
        metrics = self.stores.metrics
        generation = metrics.generation(project)
        key = ("c", m.ALL, "day", day)
        bucket = metrics.buckets(project, generation, [key]).get(key, {})
        modules = sorted(
            {k.split(":", 2)[2] for k in bucket if k.startswith(("x:mod:", "def:mod:"))}
        )
        period = m.Period(day, day)
        rows = []
        for scope in [x.ALL_SCOPES, *modules]:
            figures = self.figures(project, period, None if scope == x.ALL_SCOPES else scope)
            rows.append(x.metrics_daily_row(project, scope, day, figures))
        return rows

    # -- asked for -----------------------------------------------------------------------------

    def request(self, project: str, by: str | None) -> dict[str, Any]:
        """An export run now (what changed since the last one), recorded under an export id."""
        if self.stores.projects.get(project) is None:
            raise NotFound(f"no project {project!r}")
        export_id = new_id("exp")
        job: dict[str, Any] = {
            "exportId": export_id,
            "project": project,
            "status": ExportJobStatus.RUNNING,
            "requestedAt": self._clock(),
            "requestedBy": by,
        }
        self.stores.exports.put_job(project, export_id, job)
        try:
            job["datasets"] = self.run(project)
            job["status"] = ExportJobStatus.SUCCEEDED
        except Exception as exc:
            job["status"] = ExportJobStatus.FAILED
            job["error"] = type(exc).__name__
            raise
        finally:
            job["finishedAt"] = self._clock()
            self.stores.exports.put_job(project, export_id, job)
        return {"exportId": export_id}

    def status(self, project: str, export_id: str) -> dict[str, Any]:
        job = self.stores.exports.get_job(project, export_id)
        if job is None:
            raise NotFound(f"no export {export_id!r} in project {project!r}")
        job["manifests"] = {
            dataset: f"s3://{self.blobs.bucket}/{x.manifest_key(project, dataset)}"
            for dataset in x.DATASETS
        }
        return job
