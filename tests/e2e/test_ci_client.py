"""The CI client (`client/`) as a CI job runs it: `failbridge report` and `failbridge status` as
subprocesses against the local stack, the same commands the examples in examples/ run. Reports in
several formats, one through the presigned upload, a retried step that changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Api

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
pytestmark = pytest.mark.e2e


def failbridge(stack: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FAILBRIDGE_URL": stack["api"],
        "FAILBRIDGE_API_KEY": stack["keys"]["ci"],
        "FAILBRIDGE_PROJECT": stack["project"],
        "FAILBRIDGE_CONFIG": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "failbridge_client.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_report_status_and_a_retried_step(
    stack: dict[str, Any], api: Api, uid: str, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    for name in ("ctrf/jest-ctrf.json", "tap/node-test.tap", "nunit3/nunit3-console.xml"):
        shutil.copy(FIXTURES / name, results / Path(name).name)
    # identities unique to this test: the stack is shared
    for file in results.iterdir():
        text = file.read_text().replace("cart", f"cart{uid}").replace("Shop.", f"Shop{uid}.")
        file.write_text(text.replace("TC-PAY-001", f"TC-PAY-{uid}"))
    run = f"gh-{uid}"

    first = failbridge(stack, "report", str(results / "*"), "--run", run, "--branch", "main")
    assert first.returncode == 0, first.stderr
    assert "ctrf, 7 results" in first.stdout
    assert "tap, 5 results" in first.stdout
    assert "nunit3, 5 results" in first.stdout
    assert stack["keys"]["ci"] not in first.stdout + first.stderr

    status = failbridge(stack, "status", "--run", run)
    assert status.returncode == 0, status.stderr
    assert "test cases" in status.stdout and "1 flaky" in status.stdout
    summary = api.get(f"/v1/projects/{api.project}/runs/{run}").json()
    tickets = {t["ticketId"] for t in summary["tickets"]}
    assert summary["failed"] >= 4 and tickets

    # the CI step retried: the same report again changes nothing
    again = failbridge(stack, "report", str(results / "*"), "--run", run, "--branch", "main")
    assert again.returncode == 0, again.stderr
    after = api.get(f"/v1/projects/{api.project}/runs/{run}").json()
    assert after == summary


def test_a_large_report_goes_through_the_upload(
    stack: dict[str, Any], api: Api, uid: str, tmp_path: Path
) -> None:
    report = tmp_path / "playwright.json"
    text = (FIXTURES / "playwright/playwright-json.json").read_text()
    report.write_text(text.replace("checkout", f"checkout{uid}"))
    run = f"pw-{uid}"
    done = failbridge(stack, "report", str(report), "--run", run, "--upload-over", "1000")
    assert done.returncode == 0, done.stderr
    assert "uploading 100%" in done.stdout
    assert "playwright, 7 results" in done.stdout, done.stdout
    summary = api.get(f"/v1/projects/{api.project}/runs/{run}").json()
    assert summary["testCases"] == 5 and len(summary["flaky"]) == 1


def test_a_refused_report_names_the_format_and_the_position(
    stack: dict[str, Any], uid: str, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"results": {"tool": {"name": "jest"}, "tests": [}')
    done = failbridge(stack, "report", str(bad), "--run", f"bad-{uid}")
    assert done.returncode == 1
    assert "CTRF" in done.stderr and "line 1, column" in done.stderr


def test_the_gate_command_says_what_failbridge_answered(stack: dict[str, Any]) -> None:
    """The stack's saved `release` gate, asked by name: the table, and 0 or 1 as it says."""
    done = failbridge(stack, "gate", "--gate", "release")
    assert done.returncode in (0, 1), done.stderr
    assert "METRIC" in done.stdout and "passRate" in done.stdout
    assert ("gate passed" in done.stdout) == (done.returncode == 0)
