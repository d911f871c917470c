"""(issue 14) Manual results into one planned run, on the local stack (`python -m devstack`:
moto's server): 2,000 test cases imported, one run planned for 50 testers (each with a tester
key of their own), then the 50 record their 40 results each at once, one PUT per result, 2% of
them failures (each opens a draft through the CI recording path). Prints results/s, latency and
whether the progress counters equal what was recorded (they must), and that the run closed."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench._support import local_stack, median, percentile, print_stack_errors

CASES = 2_000
TESTERS = 50
TIMEOUT = 120.0
STATUSES = ("passed", "passed", "passed", "blocked", "skipped")


def _status(n: int) -> str:
    return "failed" if n % 50 == 7 else STATUSES[n % len(STATUSES)]


def _prepare(api: str, project: str, keys: dict[str, str], uid: str) -> tuple[str, dict]:
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    lead = {"Authorization": f"Bearer {keys['lead']}"}
    cases = [
        {"testCaseId": f"TC-MR-{uid}-{n:04d}", "title": f"Manual check {n}", "module": "checkout"}
        for n in range(CASES)
    ]
    imported = requests.post(
        f"{api}/v1/projects/{project}/test-cases/import",
        json={"testCases": cases},
        headers=lead,
        timeout=600,
    )
    imported.raise_for_status()
    testers = {}
    for t in range(TESTERS):
        user = f"tester{t:02d}-{uid}@example.com"
        issued = requests.post(
            f"{api}/v1/projects/{project}/keys",
            json={"role": "tester", "user": user},
            headers=admin,
            timeout=TIMEOUT,
        )
        issued.raise_for_status()
        testers[user] = issued.json()["key"]
    run_id = f"manual-bench-{uid}"
    created = requests.post(
        f"{api}/v1/projects/{project}/runs",
        json={
            "id": run_id,
            "name": "release 2.4 manual regression",
            "environment": "staging-eu",
            "testCases": [c["testCaseId"] for c in cases],
            "assignees": sorted(testers),
        },
        headers=lead,
        timeout=TIMEOUT,
    )
    created.raise_for_status()
    return run_id, testers


def run(info: dict[str, Any]) -> dict[str, Any]:
    api, project, keys = info["api"], info["project"], info["keys"]
    uid = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    run_id, testers = _prepare(api, project, keys, uid)
    prepared = time.perf_counter() - started
    viewer = {"Authorization": f"Bearer {keys['viewer']}"}
    base = f"{api}/v1/projects/{project}/runs/{run_id}"
    jobs: list[tuple[str, str, str]] = []
    for user in testers:
        mine = requests.get(f"{base}/cases?assignee={user}", headers=viewer, timeout=TIMEOUT)
        jobs += [(user, c["testCaseId"], "") for c in mine.json()["items"]]
    jobs = [(user, tc, _status(n)) for n, (user, tc, _) in enumerate(jobs)]
    local = threading.local()

    def put(job: tuple[str, str, str]) -> tuple[float, int, str]:
        user, tc, status = job
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        begin = time.perf_counter()
        try:
            answer = session.put(
                f"{base}/results",
                json={"results": [{"testCaseId": tc, "status": status}]},
                headers={"Authorization": f"Bearer {testers[user]}"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            return time.perf_counter() - begin, 0, repr(exc)
        return time.perf_counter() - begin, answer.status_code, answer.text[:300]

    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=TESTERS) as pool:
        answers = list(pool.map(put, jobs))
    wall = time.perf_counter() - begin
    final = requests.get(base, headers=viewer, timeout=TIMEOUT).json()
    sent = Counter(status for (_, _, status), a in zip(jobs, answers, strict=True) if a[1] == 200)
    got = final["progress"]
    exact = all(got[s] == sent.get(s, 0) for s in ("passed", "failed", "blocked", "skipped"))
    latencies = [a[0] for a in answers]
    codes = Counter(a[1] for a in answers)
    print(
        f"Manual results into one run: {len(jobs)} PUTs by {TESTERS} testers at once "
        f"(local stack, started in {info.get('_startSeconds')} s; import, keys and run "
        f"planned in {prepared:.1f} s)"
    )
    print(f"  responses: {dict(sorted(codes.items()))}")
    for took, code, body in answers:
        if code != 200:
            print(f"  first non-200 answer ({code}, {took:.2f} s): {body}")
            break
    print(f"  wall time: {wall:.1f} s, {len(jobs) / wall:.1f} results/s")
    print(
        f"  latency: p50 {median(latencies) * 1000:.0f} ms, p95 "
        f"{percentile(latencies, 95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    print(f"  recorded (200s): {dict(sorted(sent.items()))}")
    figures = {k: got[k] for k in ("total", "executed", "passed", "failed", "blocked", "skipped")}
    print(f"  progress: {figures}, remaining {got['remaining']}, {got['percent']}%")
    closed_by = final.get("closedBy")
    print(f"  progress exact: {exact}; run status: {final['status']} (closedBy {closed_by})")
    print_stack_errors(info)
    return {"wall_s": wall, "rps": len(jobs) / wall, "exact": exact, "status": final["status"]}


def main() -> dict[str, Any]:
    with local_stack() as info:
        return run(info)


if __name__ == "__main__":
    main()
