"""examples/github-actions.yml and examples/Jenkinsfile: their failbridge commands, exactly as
written, run by a shell against the local stack with the variables the CI would set."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
COMMAND = re.compile(r"(?:\.venv/bin/)?(failbridge (?:report|status|gate)\b[^'\n]*)")
pytestmark = pytest.mark.e2e


def commands(example: str) -> list[str]:
    return COMMAND.findall((ROOT / "examples" / example).read_text())


@pytest.mark.parametrize("example", ["github-actions.yml", "Jenkinsfile"])
def test_the_example_reports_and_gates(
    example: str, stack: dict[str, Any], uid: str, tmp_path: Path
) -> None:
    steps = commands(example)
    assert [s.split()[1] for s in steps] == ["report", "status", "gate"]
    (tmp_path / "test-results").mkdir()
    junit = (FIXTURES / "junit" / "pytest-real.xml").read_text()
    (tmp_path / "test-results" / "junit.xml").write_text(junit.replace("tests.", f"t{uid}."))
    shutil.copy(FIXTURES / "tap" / "node-test.tap", tmp_path / "test-results" / "node.tap")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "FAILBRIDGE_URL": stack["api"],
        "FAILBRIDGE_API_KEY": stack["keys"]["ci"],
        "FAILBRIDGE_PROJECT": stack["project"],
        "FAILBRIDGE_CONFIG": "",
        "RUN_ID": f"{example}-{uid}",
        "BRANCH": "main",
    }
    done = [
        subprocess.run(
            ["bash", "-c", step],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        for step in steps
    ]
    report, status, gate = done
    assert report.returncode == 0, report.stderr
    assert "junit, 10 results" in report.stdout and "tap, 5 results" in report.stdout
    assert status.returncode == 0, status.stderr
    assert "15 test cases" in status.stdout
    # the stack's saved `release` gate: 0 or 1 with its table (a failing gate fails the job)
    assert gate.returncode in (0, 1), gate.stderr
    assert "METRIC" in gate.stdout and "passRate" in gate.stdout
