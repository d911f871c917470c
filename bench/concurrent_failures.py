"""(d) Concurrent failures of one new scenario, on the local stack (`python -m devstack` as a
subprocess, free ports, a temporary FAILBRIDGE_LOCAL_DIR): 200 POSTs of one failure each (50 at a
time; distinct runs, test cases and reporters) to /v1/projects/DEMO/results with the stack's ci
key. Exactly one draft must open and it must count 200 occurrences. Prints wall time,
requests/s and p50/p95 latency; the stack is stopped with SIGTERM."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench._support import local_stack, median, percentile, print_stack_errors

REQUESTS = 200
WORKERS = 50
TIMEOUT = 60.0


def _failure(scenario: str, uid: str, n: int) -> dict[str, Any]:
    run_id = f"conc-{uid}-{n:03d}"
    return {
        "run": {"id": run_id, "name": "parallel CI", "ciUrl": f"https://ci.example.com/{run_id}"},
        "results": [
            {
                "scenarioId": scenario,
                "testCaseId": f"TC-CONC-{n:03d}",
                "title": "Pay by card",
                "module": "checkout",
                "status": "failed",
                "expected": "Order confirmed",
                "actual": "HTTP 500 on /pay",
                "error": {"type": "AssertionError", "message": "expected 200, got 500"},
                "reporter": f"tester{n:03d}@example.com",
            }
        ],
    }


def run(info: dict[str, Any], requests_n: int = REQUESTS, workers: int = WORKERS) -> dict[str, Any]:
    api, project, keys = info["api"], info["project"], info["keys"]
    uid = uuid.uuid4().hex[:8]
    scenario = f"checkout.concurrent-{uid}"
    url = f"{api}/v1/projects/{project}/results"
    headers = {"Authorization": f"Bearer {keys['ci']}"}
    local = threading.local()

    def post(n: int) -> tuple[float, int, Any]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        start = time.perf_counter()
        try:
            response = session.post(
                url, json=_failure(scenario, uid, n), headers=headers, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            return time.perf_counter() - start, 0, repr(exc)
        took = time.perf_counter() - start
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return took, response.status_code, body

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers = list(pool.map(post, range(requests_n)))
    wall = time.perf_counter() - started

    latencies = [a[0] for a in answers]
    statuses = Counter(a[1] for a in answers)
    tickets = [
        a[2]["results"][0]["ticket"]
        for a in answers
        if a[1] == 200 and isinstance(a[2], dict) and a[2]["results"][0].get("ticket")
    ]
    ticket_ids = Counter(t["id"] for t in tickets)
    opened = sum(1 for t in tickets if not t["merged"])
    viewer = {"Authorization": f"Bearer {keys['viewer']}"}
    view = requests.get(
        f"{api}/v1/projects/{project}/scenarios/{scenario}", headers=viewer, timeout=TIMEOUT
    ).json()
    scenario_tickets = view.get("tickets", [])
    occurrences: Any = None
    executions: Any = None
    if ticket_ids:
        ticket_id = ticket_ids.most_common(1)[0][0]
        ticket = requests.get(f"{api}/v1/tickets/{ticket_id}", headers=viewer, timeout=TIMEOUT)
        occurrences = ticket.json().get("occurrences")
        executions = len(ticket.json().get("executions") or [])

    print(
        f"Concurrent failures of one new scenario: {requests_n} POSTs, {workers} at a time "
        f"(local stack, started in {info.get('_startSeconds')} s)"
    )
    print(f"  responses: {dict(sorted(statuses.items()))}")
    for took, status, body in answers:
        if status != 200:
            print(f"  first non-200 answer ({status}, {took:.2f} s): {str(body)[:600]}")
            break
    print(
        f"  drafts opened: {opened} (must be 1); ticket ids in answers: {len(ticket_ids)}; "
        f"the scenario's tickets: {len(scenario_tickets)}"
    )
    print(
        f"  occurrences recorded: {occurrences} (must be {requests_n}); "
        f"executions listed on the ticket: {executions}"
    )
    print(f"  wall time: {wall:.2f} s, {requests_n / wall:.1f} requests/s")
    print(
        f"  latency: p50 {median(latencies) * 1000:.0f} ms, p95 "
        f"{percentile(latencies, 95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    print_stack_errors(info)
    return {
        "drafts": opened,
        "occurrences": occurrences,
        "wall_s": wall,
        "rps": requests_n / wall,
        "p50_ms": median(latencies) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "statuses": dict(statuses),
    }


def main(requests_n: int = REQUESTS, workers: int = WORKERS) -> dict[str, Any]:
    with local_stack() as info:
        return run(info, requests_n, workers)


if __name__ == "__main__":
    main()
