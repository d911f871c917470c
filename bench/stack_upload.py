"""(issue 9) A 10,000-case JUnit report uploaded to `make run`'s stack as a user would: POST
/uploads, the presigned S3 POST of the file, then GET the upload's progress until it is done; then
one POST /results of 1,000 failures over 10 scenarios on the same stack. Printed: cases, seconds
from the S3 POST to `completed`, cases/s, the whole stack's memory (the RSS of `python -m devstack`
and every process under it, sampled every 0.2 s: idle, peak and at the end), and the POST's
response time. The issue's target: under 60 s and under 1 GiB; the POST in seconds. The stack is
killed past 4 GiB (MEMORY_CAP). Slow, so a bench, not a CI test."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from bench._support import local_stack, print_stack_errors
from bench.junit_bulk import junit_xml
from bench.ticket_scale import FAILURES as POST_FAILURES
from bench.ticket_scale import SCENARIOS as POST_SCENARIOS
from bench.ticket_scale import _failures_body

SCENARIOS = 100
CASES = 100
FAILURES = 10
TIMEOUT = 600.0
MEMORY_CAP = 4 * 2**30  # the stack is killed past this


def _tree_rss(root: int) -> int:
    """Bytes resident in `root` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            fields = text[text.rindex(")") + 2 :].split()
            pid = int(stat.parent.name)
        except (OSError, ValueError):
            continue
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * 4096
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


class _Sampler(threading.Thread):
    """Samples the stack's memory every 0.2 s; kills the stack (SIGKILL) past `cap` bytes, so a
    runaway stack cannot take the machine with it."""

    def __init__(self, root: int, cap: int = MEMORY_CAP) -> None:
        super().__init__(daemon=True)
        self.root, self.cap, self.peak, self.last = root, cap, 0, 0
        self.killed = False
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.last = _tree_rss(self.root)
            self.peak = max(self.peak, self.last)
            if self.last > self.cap and not self.killed:
                self.killed = True
                print(f"  the stack passed {self.cap / 2**20:.0f} MiB: killed", flush=True)
                os.kill(self.root, signal.SIGKILL)
            time.sleep(0.2)


def run(info: dict[str, Any], scenarios: int = SCENARIOS, cases: int = CASES) -> dict[str, Any]:
    api, project, keys = info["api"], info["project"], info["keys"]
    headers = {"Authorization": f"Bearer {keys['ci']}"}
    uid = uuid.uuid4().hex[:6]
    body = junit_xml(uid, scenarios, cases, FAILURES)
    total = scenarios * cases
    sampler = _Sampler(info["_pid"])
    sampler.start()
    idle = _tree_rss(info["_pid"])
    upload = requests.post(
        f"{api}/v1/projects/{project}/uploads",
        json={"run": {"id": f"stack-{uid}"}, "format": "junit"},
        headers=headers,
        timeout=30,
    ).json()
    started = time.perf_counter()
    requests.post(
        upload["url"], data=upload["fields"], files={"file": ("r.xml", body)}, timeout=60
    ).raise_for_status()
    progress: dict[str, Any] = {}
    while time.perf_counter() - started < TIMEOUT and not sampler.killed:
        try:
            progress = requests.get(
                f"{api}/v1/projects/{project}/uploads/{upload['uploadId']}",
                headers=headers,
                timeout=60,
            ).json()
        except requests.RequestException as exc:  # a busy stack answers late: ask again
            progress = {"status": f"unanswered ({type(exc).__name__})"}
            continue
        if progress.get("status") in {"completed", "failed"}:
            break
        time.sleep(0.5)
    took = time.perf_counter() - started
    print(
        f"the local stack, a {total:,}-case JUnit upload ({len(body) / 1e6:.1f} MB, "
        f"{scenarios * FAILURES:,} failures over {scenarios} scenarios):"
    )
    print(
        f"  {progress.get('status')} {progress.get('processed')}/{progress.get('total')} in "
        f"{took:.1f} s ({total / took:,.0f} cases/s), drafts={progress.get('drafts')}; "
        f"target < 60 s"
    )
    print(
        f"  stack memory (all processes): idle {idle / 2**20:.0f} MiB, peak "
        f"{sampler.peak / 2**20:.0f} MiB, at the end {sampler.last / 2**20:.0f} MiB; "
        f"target < 1024 MiB"
    )
    upload_peak = sampler.peak
    post_s = None if sampler.killed else _post_failures(api, project, headers, sampler)
    sampler.stopped.set()
    sampler.join()
    print_stack_errors(info)
    return {
        "cases": total,
        "seconds": took,
        "cases_per_s": total / took,
        "peak_mib": upload_peak / 2**20,
        "status": progress.get("status"),
        "post_s": post_s,
    }


def _post_failures(
    api: str, project: str, headers: dict[str, str], sampler: _Sampler
) -> float | None:
    """One POST /results of 1,000 failures over 10 scenarios (bench.ticket_scale's body)."""
    payload = _failures_body(uuid.uuid4().hex[:4])
    sampler.peak = sampler.last
    started = time.perf_counter()
    try:
        response = requests.post(
            f"{api}/v1/projects/{project}/results",
            data=payload,
            headers={**headers, "Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        print(f"  POST /results of {POST_FAILURES:,} failures: {type(exc).__name__}")
        return None
    took = time.perf_counter() - started
    outcomes = response.json().get("results", []) if response.ok else []
    tickets = {(o.get("ticket") or {}).get("id") for o in outcomes if o.get("ticket")}
    print(
        f"  then POST /results, {POST_FAILURES:,} failures over {POST_SCENARIOS} scenarios "
        f"({len(payload) / 1024:.0f} KB): HTTP {response.status_code} in {took:.2f} s, "
        f"{len(tickets)} tickets; stack peak meanwhile {sampler.peak / 2**20:.0f} MiB"
    )
    return took


def main(scenarios: int = SCENARIOS, cases: int = CASES) -> dict[str, Any]:
    with local_stack() as info:
        return run(info, scenarios, cases)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.stack_upload", description=__doc__)
    parser.add_argument("--scenarios", type=int, default=SCENARIOS)
    parser.add_argument("--cases", type=int, default=CASES, help="per scenario")
    args = parser.parse_args()
    main(args.scenarios, args.cases)
