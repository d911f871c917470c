"""The CI client (`client/`) as a CI job runs it: `failbridge report` and `failbridge status` as
subprocesses against the local stack, the same commands the examples in examples/ run. Reports in
several formats, one through the presigned upload, retried steps that change nothing, the gate's
0 and 1, and `pytest --failbridge` (markers, a rerun that passes, an attachment) run for real."""

from __future__ import annotations

import json
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


def ci_env(stack: dict[str, Any]) -> dict[str, str]:
    env = {
        **os.environ,
        "FAILBRIDGE_URL": stack["api"],
        "FAILBRIDGE_API_KEY": stack["keys"]["ci"],
        "FAILBRIDGE_PROJECT": stack["project"],
        "FAILBRIDGE_CONFIG": "",
    }
    for name in ("GITHUB_RUN_ID", "BUILD_TAG", "CI_PIPELINE_ID", "BUILD_ID", "FAILBRIDGE_RUN"):
        env.pop(name, None)
    return env


def failbridge(stack: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "failbridge_client.cli", *args],
        env=ci_env(stack),
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

    # the CI step retried: a second upload of the same report changes nothing
    again = failbridge(stack, "report", str(report), "--run", run, "--upload-over", "1000")
    assert again.returncode == 0, again.stderr
    assert "uploading 100%" in again.stdout
    assert api.get(f"/v1/projects/{api.project}/runs/{run}").json() == summary


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


def test_the_gate_exits_0_when_it_passes_and_1_when_it_fails(
    stack: dict[str, Any], uid: str, tmp_path: Path
) -> None:
    """A run of 3 test cases, 2 passed: its pass rate (66.67) passes `gte 50` and fails `gte 90`."""
    report = tmp_path / "results.tap"
    report.write_text(f"TAP version 13\nok 1 - a{uid}\nok 2 - b{uid}\nnot ok 3 - c{uid}\n1..3\n")
    run = f"gate-{uid}"
    assert failbridge(stack, "report", str(report), "--run", run).returncode == 0
    passed = failbridge(stack, "gate", "--check", "passRate:gte:50", "--run", run)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "66.67" in passed.stdout and "gate passed" in passed.stdout
    failed = failbridge(stack, "gate", "--check", "passRate:gte:90", "--run", run)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    row = next(line for line in failed.stdout.splitlines() if line.startswith("passRate"))
    assert row.split() == ["passRate", "66.67", "gte", "90", "FAIL"]
    assert "gate FAILED" in failed.stdout


PLUGIN_TESTS = """
import pytest

calls = []


@pytest.mark.failbridge(test_case="TC-PAY-{uid}", scenario="checkout.pay.{uid}", module="checkout")
def test_pay(failbridge_attach):
    failbridge_attach("screenshot", "https://ci.example.com/{uid}/shot.png")
    assert "declined" == "accepted"


@pytest.mark.flaky(reruns=2)
def test_gateway():
    calls.append(1)
    assert len(calls) > 1, "the gateway timed out"


def test_cart():
    pass
"""


def test_the_pytest_plugin_reports_a_session(
    stack: dict[str, Any], api: Api, uid: str, tmp_path: Path
) -> None:
    """`pytest --failbridge` for real: the marker's ids, the node ids, a rerun that passed
    recorded as flaky and opening nothing, the failure's draft with the attached link; the same
    session reported again, streamed in batches of 1, changes nothing."""
    (tmp_path / f"test_plugin_{uid}.py").write_text(PLUGIN_TESTS.replace("{uid}", uid))
    run = f"pytest-{uid}"

    def session(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "rerunfailures"),
                *("--failbridge", "--failbridge-run", run, *extra),
            ],
            cwd=tmp_path,
            env=ci_env(stack),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    done = session()
    assert done.returncode == 1, done.stdout  # test_pay fails
    assert f"failbridge: reported 4 results to run {run}" in done.stdout, done.stdout
    assert stack["keys"]["ci"] not in done.stdout + done.stderr
    summary = api.get(f"/v1/projects/{api.project}/runs/{run}").json()
    assert (summary["testCases"], summary["passed"], summary["failed"]) == (3, 2, 1), summary
    assert summary["flaky"] == [f"test_plugin_{uid}.py::test_gateway"], summary
    [ticket] = summary["tickets"]  # the flaky test opened nothing
    assert ticket["scenarioId"] == f"checkout.pay.{uid}"
    body = api.get(f"/v1/tickets/{ticket['ticketId']}").json()
    assert f"https://ci.example.com/{uid}/shot.png" in json.dumps(body)

    again = session("--failbridge-batch", "1")
    assert "failbridge: reported 4 results" in again.stdout, again.stdout
    assert api.get(f"/v1/projects/{api.project}/runs/{run}").json() == summary
