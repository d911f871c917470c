"""(issue 11) The metrics endpoint and the change-stream consumer on the local stack (`make run`'s
stack: moto's server over HTTP, the API on its own port), as `python -m devstack` runs them.

1. A year of aggregates for 1,000,000 executions and 20,000 tickets (bench.metrics_history:
   per scope and day 300 scenarios and 100 requirements, added to their day, week and month)
   is written into the stack's table through moto's server; then GET /v1/projects/DEMO/metrics
   over HTTP as a user asks it: the default 30 days, 30 days of one module, and a whole year.
   Printed: median and p95 of the response time (target: p95 under 300 ms), and the AWS calls
   of one request (the same service code in this process, against the same moto server, with
   its calls counted: the stack's own process cannot be counted from outside).
2. The change-stream consumer (every reader of `bootstrap.changes`) in this process against the
   stack's moto server: events/s, one stream record's events at a time as `handle_changes`
   delivers them; and the AWS calls the metrics and export readers add per reported failure
   (its execution plus a new draft, or its execution plus one more occurrence of a draft).
Figures are printed, never asserted."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from bench._support import (
    INPROCESS_ENV,
    CallCounter,
    _restored_environ,
    local_stack,
    median,
    percentile,
    print_stack_errors,
    quiet,
)
from bench.metrics_exports import DAYS, EXECUTIONS, TICKETS, _aggregate_items, _days
from bench.stack_upload import _tree_rss

TARGET_P95_MS = 300.0
REQUESTS = 20
YEAR_REQUESTS = 5
TIMEOUT = 900.0
STREAM_EVENTS = 400


def _container(info: dict[str, Any]) -> Any:
    """This process's container, its clients on the stack's moto server."""
    from chalicelib import bootstrap
    from chalicelib.settings import BUCKET_NAME, TABLE_NAME

    os.environ.update(INPROCESS_ENV)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(
        {"AWS_ENDPOINT_URL": info["aws"], TABLE_NAME: info["table"], BUCKET_NAME: info["bucket"]}
    )
    bootstrap.reset()
    return bootstrap.container()


def _load(container: Any, project: str, today: date) -> int:
    items = _aggregate_items(_days(today), project=project)
    started = time.perf_counter()
    container.repos.table.batch_put(items)
    print(
        f"  history: {EXECUTIONS:,} executions, {TICKETS:,} tickets over {DAYS} days -> "
        f"{len(items):,} aggregate items written to the stack's table in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return len(items)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _settle(pid: int, limit: float = 600.0) -> float:
    """Wait until the stack is nearly idle (its pump has read the writes' stream records): under
    a fifth of a core over 5 s, or `limit` seconds. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = _cpu_seconds(pid)
        time.sleep(5)
        if _cpu_seconds(pid) - before < 1.0:
            break
    return time.monotonic() - started


def bench_endpoint(info: dict[str, Any], container: Any) -> None:
    api, project = info["api"], info["project"]
    headers = {"Authorization": f"Bearer {info['keys']['viewer']}"}
    today = date.fromisoformat(container.metrics.today())
    _load(container, project, today)
    print(f"  waited {_settle(info['_pid']):.0f} s for the stack to settle", flush=True)
    year_from = (today - timedelta(days=DAYS - 1)).isoformat()
    periods = {
        "default (30 days)": ({}, REQUESTS),
        "30 days, one module": ({"module": "checkout"}, REQUESTS),
        "a year": ({"from": year_from, "to": today.isoformat()}, YEAR_REQUESTS),
    }
    counter = CallCounter().attach(*container.clients.every())
    session = requests.Session()
    url = f"{api}/v1/projects/{project}/metrics"
    for label, (params, n) in periods.items():
        if n > YEAR_REQUESTS:  # warm (keys, project cached); the year's first request counts
            session.get(url, params=params, headers=headers, timeout=TIMEOUT).raise_for_status()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            response = session.get(url, params=params, headers=headers, timeout=TIMEOUT)
            times.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
        body = response.json()
        with counter.counting() as tally, quiet():
            container.metrics.metrics(
                project, params.get("from"), params.get("to"), params.get("module")
            )
        print(
            f"  GET metrics, {label}: median {median(times):.0f} ms, p95 "
            f"{percentile(times, 95):.0f} ms over {n} requests (target p95 < "
            f"{TARGET_P95_MS:.0f} ms); {tally.total} AWS calls per request "
            f"({tally.by_operation(with_seconds=True)}); totalTests "
            f"{body['testExecution']['totalTests']:,}",
            flush=True,
        )
    print(f"  stack memory (all processes) after: {_tree_rss(info['_pid']) / 2**20:.0f} MiB")


def _failure_events(i: int, new_draft: bool) -> list[Any]:
    """The change events of one reported failure: its execution, and a new draft (or one more
    occurrence of the scenario's draft)."""
    from chalicelib.domain.changes import ChangeEvent, ChangeKind

    at = "2026-03-01T10:00:00.000Z"
    scenario = f"checkout.s{i % 50}"
    execution = ChangeEvent(
        id=f"ex_f{i:07d}", kind=ChangeKind.EXECUTION_RECORDED, project="DEMO", at=at,
        subject=f"ex_f{i:07d}",
        data={"executionId": f"ex_f{i:07d}", "runId": f"build-f{i // 100}",
              "scenarioId": scenario, "testCaseId": f"TC-{i % 50}", "module": "checkout",
              "status": "failed", "durationMs": 100 + i % 900, "requirements": ["REQ-1"],
              "ticketId": f"tf_{i}"},
    )  # fmt: skip
    if new_draft:
        ticket = ChangeEvent(
            id=f"tf_{i}#1", kind=ChangeKind.TICKET_OPENED, project="DEMO", at=at,
            subject=f"tf_{i}",
            data={"ticketId": f"tf_{i}", "scenarioId": scenario, "module": "checkout",
                  "to": "draft", "occurrences": 1, "requirements": ["REQ-1"]},
        )  # fmt: skip
    else:
        ticket = ChangeEvent(
            id=f"tf_0#occ{i}", kind=ChangeKind.TICKET_OCCURRENCES, project="DEMO", at=at,
            subject="tf_0", data={"ticketId": "tf_0", "occurrences": i + 1},
        )  # fmt: skip
    return [execution, ticket]


def bench_consumer(container: Any) -> None:
    feed = container.changes
    counter = CallCounter().attach(*container.clients.every())
    events = [e for i in range(STREAM_EVENTS // 2) for e in _failure_events(i, i % 4 == 0)]
    with counter.counting() as tally, quiet():
        started = time.perf_counter()
        for event in events:  # one stream record's events at a time, as handle_changes
            feed.deliver([event])
        seconds = time.perf_counter() - started
    print(
        f"  change-stream consumer (every reader): {len(events):,} events in {seconds:.1f} s = "
        f"{len(events) / seconds:.0f} events/s; {tally.total / len(events):.1f} AWS calls per "
        f"event ({tally.by_operation()})"
    )
    readers = {r.name: r for r in feed.readers if getattr(r, "name", "") in ("metrics", "exports")}
    for label, new_draft in (("a new draft", True), ("one more occurrence", False)):
        for name, reader in readers.items():
            calls = []
            for i in range(1000, 1020):
                with counter.counting() as tally, quiet():
                    for event in _failure_events(i if new_draft else i + 100, new_draft):
                        reader.apply([event])
                calls.append(tally.total)
            print(
                f"  per reported failure ({label}), the {name} reader adds "
                f"{median([float(c) for c in calls]):.0f} AWS calls ({tally.by_operation()})"
            )


def main() -> None:
    from chalicelib import bootstrap

    with local_stack() as info, _restored_environ():
        print(f"  the local stack started in {info['_startSeconds']} s ({info['aws']})")
        container = _container(info)
        try:
            bench_endpoint(info, container)
            bench_consumer(container)
        finally:
            bootstrap.reset()
            print_stack_errors(info)


if __name__ == "__main__":
    main()
