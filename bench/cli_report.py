"""(issue 15) The CI client end to end: `failbridge report` of a 10,000-case JUnit report (100
scenarios of 100 test cases, 10 failing each) against the local stack (`make run`'s, on free
ports), run as CI runs it, a subprocess, timed from start to exit (the command waits until the
report is processed). Three runs on one stack: the command as it is (over 1,000 tests it takes
the presigned upload, with progress lines, counted here), that step retried (same run: it must
change nothing), and the report sent in the request body instead (`--upload-over-cases`
raised; the server records it before it answers, which is why the client does not by
default). Printed: seconds, cases/s, the command's last line and the runs' summaries. Fails on
nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from bench._support import local_stack, print_stack_errors
from bench.junit_bulk import junit_xml

SCENARIOS = 100
CASES = 100
FAILURES = 10
TIMEOUT = 1200


def _failbridge(info: dict[str, Any], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {
        **os.environ,
        "FAILBRIDGE_URL": info["api"],
        "FAILBRIDGE_API_KEY": info["keys"]["ci"],
        "FAILBRIDGE_PROJECT": info["project"],
        "FAILBRIDGE_CONFIG": "",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "failbridge_client.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return time.perf_counter() - started, done


def _summary(info: dict[str, Any], run: str) -> dict[str, Any]:
    response = requests.get(
        f"{info['api']}/v1/projects/{info['project']}/runs/{run}",
        headers={"Authorization": f"Bearer {info['keys']['viewer']}"},
        timeout=120,
    )
    return dict(response.json()) if response.ok else {"status": response.status_code}


def run(info: dict[str, Any], scenarios: int = SCENARIOS, cases: int = CASES) -> dict[str, Any]:
    uid = uuid.uuid4().hex[:6]
    total = scenarios * cases
    figures: dict[str, Any] = {"cases": total}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        report.write_bytes(junit_xml(uid, scenarios, cases, FAILURES))
        size = report.stat().st_size
        print(
            f"failbridge report of a {total:,}-case JUnit report ({size / 1e6:.2f} MB, "
            f"{scenarios * FAILURES:,} failures over {scenarios} scenarios) on the local stack:"
        )
        steps = [
            ("as is", f"cli-{uid}", []),
            ("retried", f"cli-{uid}", []),
            ("in the body", f"cli-body-{uid}", ["--upload-over-cases", "10000000"]),
        ]
        summaries: dict[str, dict[str, Any]] = {}
        for label, run_id, extra in steps:
            took, done = _failbridge(
                info, "report", str(report), "--run", run_id, "--timeout", "1200", *extra
            )
            lines = done.stdout.strip().splitlines()
            shown = sum(1 for line in lines if "uploading" in line or "processed" in line)
            result = next((x for x in reversed(lines) if x.startswith(str(report))), "")
            result = result.removeprefix(f"{report}: ")
            print(
                f"  {label:<15} exit {done.returncode}, {took:7.1f} s "
                f"({total / took:,.0f} cases/s), {shown} progress lines: {result}"
            )
            if done.returncode != 0:
                print(f"    stderr: {done.stderr.strip()[-500:]}")
            before = summaries.get(run_id)
            summaries[run_id] = _summary(info, run_id)
            if before is not None:
                same = "unchanged" if before == summaries[run_id] else "CHANGED"
                print(f"    the run's summary after the retry: {same}")
            figures[label] = took
        for run_id, s in summaries.items():
            print(
                f"  run {run_id}: {s.get('testCases')} test cases, {s.get('failed')} failed, "
                f"{len(s.get('tickets', []))} tickets"
            )
    print_stack_errors(info)
    return figures


def main(scenarios: int = SCENARIOS, cases: int = CASES) -> dict[str, Any]:
    with local_stack() as info:
        return run(info, scenarios, cases)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.cli_report", description=__doc__)
    parser.add_argument("--scenarios", type=int, default=SCENARIOS)
    parser.add_argument("--cases", type=int, default=CASES, help="per scenario")
    args = parser.parse_args()
    main(args.scenarios, args.cases)
