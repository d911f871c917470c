"""(issue 14) Manual results into one planned run on moto's server (the local stack's: DynamoDB
requests one at a time, Step Functions executing the workflow; no stream pump): 2,000 test cases
imported, one run planned for 50 testers, then the 50 record their 40 results each at once, one
result per call of the service behind `PUT .../runs/{runId}/results` (so: the CI recording path),
optionally some failing (each opens a draft and starts its workflow). Prints results/s, latency,
AWS calls per result, and whether the progress counters equal what was recorded (they must) and
the run closed itself."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench._support import INPROCESS_ENV, CallCounter, _restored_environ, median, percentile, quiet

CASES = int(os.environ.get("BENCH_MANUAL_CASES", "2000"))
TESTERS = 50
STATUSES = ("passed", "passed", "passed", "blocked", "skipped")


# One result in FAIL_EVERY fails (0: none, the default); each failure opens a draft and starts
# its workflow, which moto's Step Functions interprets in threads of this process: measured with
# 2% failures, 400 results went from 11.2 to 3.5 results/s and the process from 0.37 to 1.5 GB,
# and 2,000 results passed 13 GB half way (moto's executions, not the recording path).
FAIL_EVERY = int(os.environ.get("BENCH_MANUAL_FAIL_EVERY", "0"))


def _status(n: int) -> str:
    return "failed" if FAIL_EVERY and n % FAIL_EVERY == 7 else STATUSES[n % len(STATUSES)]


@contextlib.contextmanager
def moto_server() -> Iterator[None]:
    """moto's server as the local stack runs it, the infra deployed into it, the app's
    container rebuilt against it (tests/integration/conftest.py's `aws_server`)."""
    from chalicelib import bootstrap
    from devstack.stack import local_aws_server
    from infra.deploy_local import deploy

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with _restored_environ():
        os.environ.update(INPROCESS_ENV)
        os.environ["MOTO_PORT"] = str(port)
        server = local_aws_server("127.0.0.1", port)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        try:
            with quiet():
                resources = deploy(endpoint)
            os.environ["AWS_ENDPOINT_URL"] = endpoint
            os.environ.update({k: str(v) for k, v in resources["env"].items()})
            bootstrap.reset()
            yield
        finally:
            bootstrap.reset()
            server.stop()


def _prepare(c: Any) -> tuple[str, list[tuple[str, str]]]:
    from chalicelib.models_planning import RunCreateIn

    c.access.create_project("DEMO", "Demo", False, default_lead="lead@example.com")
    c.access.put_module("DEMO", "checkout", "lead@example.com", None)
    cases = [
        {"testCaseId": f"TC-MR-{n:04d}", "title": f"Manual check {n}", "module": "checkout"}
        for n in range(CASES)
    ]
    with quiet():
        c.test_cases.import_json("DEMO", {"testCases": cases}, dry_run=False, by="lead")
    testers = [f"tester{t:02d}@example.com" for t in range(TESTERS)]
    body = RunCreateIn.model_validate(
        {
            "id": "manual-bench",
            "environment": "staging-eu",
            "testCases": [c["testCaseId"] for c in cases],
            "assignees": testers,
        }
    )
    c.runs.create("DEMO", body, "lead@example.com")
    items = c.runs.cases("DEMO", "manual-bench", None)["items"]
    return "manual-bench", [(i["assignee"], i["testCaseId"]) for i in items]


def run() -> dict[str, Any]:
    from chalicelib import bootstrap
    from chalicelib.models_planning import ManualResultsIn

    with moto_server():
        c = bootstrap.container()
        started = time.perf_counter()
        run_id, assigned = _prepare(c)
        prepared = time.perf_counter() - started
        project = c.access.project("DEMO")
        jobs = [(who, tc, _status(n)) for n, (who, tc) in enumerate(assigned)]
        counter = CallCounter().attach(c.clients.get("dynamodb"))
        errors: list[str] = []
        lock = threading.Lock()

        def record(job: tuple[str, str, str]) -> float:
            who, tc, status = job
            body = ManualResultsIn.model_validate(
                {"results": [{"testCaseId": tc, "status": status}]}
            )
            begin = time.perf_counter()
            try:
                c.runs.record(project, run_id, body, who)
            except Exception as exc:  # counted and shown; the bench fails on nothing
                with lock:
                    errors.append(repr(exc))
            return time.perf_counter() - begin

        with counter.counting() as tally:
            begin = time.perf_counter()
            with ThreadPoolExecutor(max_workers=TESTERS) as pool:
                latencies = list(pool.map(record, jobs))
            wall = time.perf_counter() - begin
        final = c.runs.get("DEMO", run_id) or {}
        got = final["progress"]
        cases = c.runs.cases("DEMO", run_id, None)["items"]
        stored = Counter(i["status"] for i in cases)
        sent = Counter(status for _, _, status in jobs)
        exact = all(got[s] == stored.get(s, 0) == sent.get(s, 0) for s in sent)
    print(
        f"Manual results into one run on moto's server: {len(jobs)} results by {TESTERS} "
        f"testers at once, one per call ({CASES} test cases imported and the run planned in "
        f"{prepared:.1f} s)"
    )
    print(f"  errors: {len(errors)}" + (f" (first: {errors[0][:300]})" if errors else ""))
    print(f"  wall time: {wall:.1f} s, {len(jobs) / wall:.1f} results/s")
    print(
        f"  latency: p50 {median(latencies) * 1000:.0f} ms, p95 "
        f"{percentile(latencies, 95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    print(f"  DynamoDB calls per result: {tally.total / len(jobs):.1f} ({tally.by_operation()})")
    figures = {k: got[k] for k in ("total", "executed", "passed", "failed", "blocked", "skipped")}
    print(f"  progress: {figures}, remaining {got['remaining']}, {got['percent']}%")
    print(
        f"  recorded: {dict(sorted(sent.items()))}; the cases say: {dict(sorted(stored.items()))}"
    )
    print(f"  progress exact: {exact}; run {final['status']} (closedBy {final.get('closedBy')})")
    return {"wall_s": wall, "rps": len(jobs) / wall, "exact": exact, "status": final["status"]}


def main() -> dict[str, Any]:
    return run()


if __name__ == "__main__":
    main()
