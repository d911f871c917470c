"""(issue 11) Metrics, the change stream's consumer, and exports, against moto in-process.

1. GET metrics for a project with 1,000,000 executions and 20,000 tickets of history, written
   straight into the aggregates (`bench.metrics_history`: a year, per scope and day 300
   scenarios and 100 requirements). Target: p95 under 300 ms. Also the AWS calls per request.
2. The change-stream consumer (metrics and export readers): events per second, one stream
   record's events delivered at a time, as `handle_changes` does.
3. An export of one day with 100,000 executions: seconds and peak memory (tracemalloc: the
   Python heap of this process, moto's in-process tables and responses included).

moto in-process is slow to load and serve this history (it serialises every attribute value in
Python: ~3 s for 2,700 staged rows on this machine), so (1) and (3) time our own code over an
in-memory store behind the same port (`MetricsStore`, `ExportStore`) and print the DynamoDB work
a request or a run would do (calls, items, bytes); the endpoint and its AWS calls are measured on
moto with the last 30 days of the history. (2) runs on moto as is.
`bench.metrics_stack` measures (1) and (2) on the local stack, over HTTP, with the full history.
Figures are printed, never asserted."""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
import tracemalloc
from datetime import date, timedelta
from typing import Any

from bench._support import (
    CallCounter,
    lean_moto_transactions,
    median,
    moto_inprocess,
    percentile,
    quiet,
)

PROJECT = "BENCH"
DAYS = 365
MODULES = ("checkout", "search", "cart", "account", "orders", "admin")
SCENARIOS_PER_DAY = 300
REQUIREMENTS_PER_DAY = 100
EXECUTIONS = 1_000_000
TICKETS = 20_000
REQUESTS = 40
MOTO_DAYS = 30
MOTO_SCENARIOS = 300
MOTO_REQUESTS = 5
TARGET_P95_MS = 300.0
STREAM_EVENTS = 300
EXPORT_EXECUTIONS = 100_000


def _days(end: date) -> list[str]:
    return [(end - timedelta(days=DAYS - 1 - i)).isoformat() for i in range(DAYS)]


def _aggregate_items(
    days: list[str], scenarios: int = SCENARIOS_PER_DAY, project: str = PROJECT
) -> list[dict[str, Any]]:
    """The aggregates' items for these days of a year's history (`bench.metrics_history`)."""
    from bench.metrics_history import aggregate_items

    return aggregate_items(days, scenarios, project, total_days=DAYS)


class MemoryTable:
    """pk -> sorted (sk, item): enough of DynamoDB's Query to serve the ports below, counting
    what DynamoDB would return."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        import bisect

        self._bisect = bisect
        self.parts: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.sizes: dict[int, int] = {}  # DynamoDB's item size, roughly: measured once here
        self.index = {(item["pk"], item["sk"]): item for item in items}
        for item in items:
            self.parts.setdefault(item["pk"], []).append((item["sk"], item))
            self.sizes[id(item)] = len(json.dumps(item, default=str))
        for rows in self.parts.values():
            rows.sort(key=lambda r: r[0])
        self.calls = 0
        self.items_read = 0
        self.bytes_read = 0
        self.pages = 0

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.index.get((pk, sk))
        if item is not None:
            self.items_read += 1
            self.bytes_read += self.sizes[id(item)]
        return item

    def between(self, pk: str, low: str, high: str) -> list[dict[str, Any]]:
        rows = self.parts.get(pk, [])
        keys = [sk for sk, _ in rows]
        found = [
            i
            for _, i in rows[
                self._bisect.bisect_left(keys, low) : self._bisect.bisect_right(keys, high)
            ]
        ]
        size = sum(self.sizes[id(i)] for i in found)
        self.calls += 1
        self.items_read += len(found)
        self.bytes_read += size
        self.pages += max(1, -(-size // 2**20))
        return found


class MemoryMetricsStore:
    """The reading half of `MetricsStore` over a MemoryTable (keys as adapters/dynamo/keys/)."""

    def __init__(self, table: MemoryTable) -> None:
        self.t = table
        self.wire: dict[int, dict[str, Any]] = {}

    def generation(self, project: str) -> str:
        self.t.calls += 1
        return "g0"

    def buckets(self, project: str, generation: str, wanted: Any) -> dict:
        from chalicelib.adapters.dynamo import keys
        from chalicelib.adapters.dynamo.metrics import _decoded
        from chalicelib.adapters.dynamo.table import vals

        found = {}
        self.t.calls += -(-len(wanted) // 100)  # BatchGetItem: 100 keys a call
        for bucket in wanted:
            key = keys.metrics_bucket(project, generation, bucket)
            item = self.t.get(key["pk"], key["sk"])
            if item is not None:
                if id(item) not in self.wire:  # as BatchGetItem hands them over
                    self.wire[id(item)] = vals(item)
                found[bucket] = _decoded(self.wire[id(item)], tagged=bucket[0] == "l")
        return found


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """As the adapter hands items over: keys stripped, numbers as Decimals."""
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


def bench_endpoint_compute() -> None:
    """Our code per metrics request over a year of aggregates, and what it reads."""
    from chalicelib.domain import metrics as m
    from chalicelib.services.metrics import MetricsService, Stores

    today = date(2026, 12, 1)
    items = _aggregate_items(_days(today))
    table = MemoryTable(items)
    service = MetricsService(
        Stores(MemoryMetricsStore(table), None, None, None),  # type: ignore[arg-type]
        clock=lambda: today.isoformat() + "T12:00:00.000Z",
    )
    print(
        f"  history: {EXECUTIONS:,} executions, {TICKETS:,} tickets over {DAYS} days -> "
        f"{len(items):,} aggregate items"
    )
    month = m.Period((today - timedelta(days=29)).isoformat(), today.isoformat())
    year = m.Period((today - timedelta(days=DAYS - 1)).isoformat(), today.isoformat())
    periods = {
        "default (30 days)": (month, None),
        "a year": (year, None),
        "30 days, one module": (month, "checkout"),
    }
    for label, (period, module) in periods.items():
        times = []
        for _ in range(REQUESTS if label != "a year" else REQUESTS // 4):
            before = (table.calls, table.items_read, table.bytes_read)
            t0 = time.perf_counter()
            body = service.figures(PROJECT, period, module)
            times.append((time.perf_counter() - t0) * 1000)
        calls = table.calls - before[0]
        items_read, size = table.items_read - before[1], table.bytes_read - before[2]
        print(
            f"  metrics, {label}: our code median {median(times):.0f} ms, p95 "
            f"{percentile(times, 95):.0f} ms; reads {calls} store calls, {items_read:,} items, "
            f"{size / 2**20:.2f} MiB; "
            f"totalTests {body['testExecution']['totalTests']:,}"
        )


def bench_endpoint() -> None:
    from chalice.test import Client

    import app
    from chalicelib import bootstrap
    from chalicelib.domain.roles import Role

    with moto_inprocess():
        c = bootstrap.container()
        c.access.create_project(PROJECT, "Benchmark", False, default_lead="lead@example.com")
        key = c.access.issue_key(PROJECT, Role.VIEWER, None, None)["key"]
        today = date.fromisoformat(c.metrics.today())
        items = _aggregate_items(_days(today)[-MOTO_DAYS:], scenarios=MOTO_SCENARIOS)
        c.repos.table.batch_put(items)
        print(
            f"  on moto, {EXECUTIONS:,} executions over {MOTO_DAYS} days ({MOTO_SCENARIOS} "
            f"scenarios a day, {len(items):,} items): the endpoint over HTTP (Chalice's "
            "test client)"
        )
        headers = {"Authorization": f"Bearer {key}"}
        counter = CallCounter().attach(*bootstrap.container().clients.every())
        periods = {"default (30 days)": "", "30 days, one module": "?module=checkout"}
        with Client(app.app) as client:
            for label, query in periods.items():
                url = f"/v1/projects/{PROJECT}/metrics{query}"
                with quiet():
                    client.http.get(url, headers=headers)  # warm: key and project cached
                times, calls = [], []
                for _ in range(MOTO_REQUESTS):
                    with counter.counting() as tally, quiet():
                        t0 = time.perf_counter()
                        response = client.http.get(url, headers=headers)
                        times.append((time.perf_counter() - t0) * 1000)
                    calls.append(tally)
                    assert response.status_code == 200, response.body
                body = json.loads(response.body)
                print(
                    f"  metrics on moto, {label}: {calls[-1].total} AWS calls per request "
                    f"({calls[-1].by_operation()}); moto's time median {median(times):.0f} ms, "
                    f"p95 {percentile(times, 95):.0f} ms (moto, not DynamoDB; target "
                    f"{TARGET_P95_MS:.0f} ms); totalTests {body['testExecution']['totalTests']:,}"
                )


def _events(n: int, ticket_every: int = 10) -> list[Any]:
    from chalicelib.domain.changes import ChangeEvent, ChangeKind

    events = []
    at = "2026-03-01T10:00:00.000Z"
    for i in range(n):
        if ticket_every and i % ticket_every == ticket_every - 1:  # a ticket opening
            events.append(
                ChangeEvent(
                    id=f"t_{i}#1", kind=ChangeKind.TICKET_OPENED, project=PROJECT, at=at,
                    subject=f"t_{i}",
                    data={"ticketId": f"t_{i}", "scenarioId": f"checkout.s{i % 50}",
                          "module": "checkout", "to": "draft", "occurrences": 1,
                          "requirements": ["REQ-1"]},
                )
            )  # fmt: skip
            continue
        events.append(
            ChangeEvent(
                id=f"ex_{i:07d}", kind=ChangeKind.EXECUTION_RECORDED, project=PROJECT, at=at,
                subject=f"ex_{i:07d}",
                data={"executionId": f"ex_{i:07d}", "runId": f"build-{i // 500}",
                      "scenarioId": f"checkout.s{i % 50}", "testCaseId": f"TC-{i % 50}",
                      "module": "checkout", "status": "failed" if i % 7 == 0 else "passed",
                      "durationMs": 100 + i % 900, "requirements": ["REQ-1"]},
            )
        )  # fmt: skip
    return events


def bench_consumer() -> None:
    from chalicelib import bootstrap

    with moto_inprocess(), lean_moto_transactions():
        c = bootstrap.container()
        c.access.create_project(PROJECT, "Benchmark", False, default_lead="lead@example.com")
        feed = c.changes
        events = _events(STREAM_EVENTS)
        counter = CallCounter().attach(*c.clients.every())
        with counter.counting() as tally, quiet():
            started = time.perf_counter()
            for event in events:
                feed.deliver([event])
            seconds = time.perf_counter() - started
        print(
            f"  change stream consumer (count + metrics + exports readers): {len(events):,} "
            f"events in {seconds:.1f} s = {len(events) / seconds:.0f} events/s; "
            f"{tally.total / len(events):.1f} AWS calls per event ({tally.by_operation()})"
        )
        per_reader = {}
        for reader in feed.readers:
            more = _events(300)
            t0 = time.perf_counter()
            with quiet():
                for event in more:
                    reader.apply([dataclasses.replace(event, id=event.id + "b")])
            per_reader[reader.name] = 300 / (time.perf_counter() - t0)
        print(
            "  per reader alone: "
            + ", ".join(f"{name} {rate:.0f} events/s" for name, rate in per_reader.items())
        )


class MemoryExportStore:
    """`ExportStore` in memory, counting what DynamoDB would return to `rows`."""

    def __init__(self) -> None:
        self.staged: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.marks: dict[tuple[str, str], str] = {}
        self.parts: dict[tuple[str, str], str] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.bytes_read = 0

    def stage(self, project: str, rows: Any, dirty: set[tuple[str, str]]) -> None:
        for r in rows:
            self.staged.setdefault((r.dataset, r.day), {})[r.key] = dict(r.row)
        for dataset, day in dirty:
            self.mark_dirty(project, dataset, day)

    def dirty(self, project: str) -> list[tuple[str, str, str]]:
        return [(d, day, t) for (d, day), t in sorted(self.marks.items())]

    def mark_dirty(self, project: str, dataset: str, day: str) -> None:
        self.marks[(dataset, day)] = str(time.monotonic_ns())

    def clear(self, project: str, dataset: str, day: str, token: str) -> bool:
        return self.marks.pop((dataset, day), None) is not None

    def rows(self, project: str, dataset: str, day: str) -> list[dict[str, Any]]:
        found = [dict(r) for _, r in sorted(self.staged.get((dataset, day), {}).items())]
        self.bytes_read += sum(len(json.dumps(r)) + 60 for r in found)  # + the item's keys
        return found

    def written(self, project: str, dataset: str) -> dict[str, str]:
        return {day: key for (d, day), key in self.parts.items() if d == dataset}

    def record_written(self, project: str, dataset: str, day: str, key: str) -> None:
        self.parts[(dataset, day)] = key

    def put_job(self, project: str, export_id: str, job: dict[str, Any]) -> None:
        self.jobs[export_id] = job

    def get_job(self, project: str, export_id: str) -> dict[str, Any] | None:
        return self.jobs.get(export_id)


def bench_export() -> None:
    """One day with 100,000 executions: our code (rows, scenarios_daily, metrics_daily from the
    metrics figures, encoding) and the S3 PUTs to moto; the staged rows served from memory."""
    import resource

    from chalicelib import bootstrap
    from chalicelib.domain import exports as x
    from chalicelib.services.exports import ExportService, Stores
    from chalicelib.services.metrics import MetricsService
    from chalicelib.services.metrics import Stores as MetricsStores

    day = "2026-03-01"
    with moto_inprocess():
        c = bootstrap.container()
        store = MemoryExportStore()
        metrics = MetricsService(
            MetricsStores(MemoryMetricsStore(MemoryTable([])), None, None, None),  # type: ignore[arg-type]
            clock=lambda: day + "T23:00:00.000Z",
        )
        service = ExportService(
            Stores(store, None, None, metrics.stores.metrics),  # type: ignore[arg-type]
            c.blobs,
            metrics.figures,
        )
        service.reader.apply(_events(EXPORT_EXECUTIONS, ticket_every=0))
        staged = len(store.staged[("executions", day)])
        t0 = time.perf_counter()
        summary = service.run(PROJECT)
        seconds = time.perf_counter() - t0
        size = c.clients.lazy("s3").head_object(
            Bucket=c.settings.bucket_name, Key=x.data_key("executions", PROJECT, day)
        )["ContentLength"]
        read = store.bytes_read
        # again, traced: the same work (the objects deleted first, so they are written again)
        for dataset in ("executions", "scenarios_daily", "metrics_daily"):
            c.blobs.delete(x.data_key(dataset, PROJECT, day))
            store.mark_dirty(PROJECT, dataset, day)
        tracemalloc.start()
        service.run(PROJECT)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"  export of one day with {staged:,} executions: {seconds:.1f} s (our code and "
            f"moto's S3; the rows from memory); peak traced memory of the run {peak / 2**20:.0f} "
            f"MiB (process max RSS {rss:.0f} MiB, moto included); executions object "
            f"{size / 2**20:.1f} MiB; DynamoDB would return {read / 2**20:.0f} MiB of staged "
            f"rows in about {-(-read // 2**20)} Query pages; {json.dumps(summary)}"
        )


def main() -> None:
    for part in (bench_endpoint_compute, bench_endpoint, bench_consumer, bench_export):
        try:
            part()
        except Exception:  # one part failing still lets the others report
            print(f"  {part.__name__} failed:")
            traceback.print_exc()


if __name__ == "__main__":
    main()
