"""The client as a user installs it: `pip install ./client` into a fresh virtual environment (no
failbridge, no chalicelib, nothing but what the package asks for) gives a working `failbridge`
command whose only dependency is requests; and no module of the package imports chalicelib or
anything outside the standard library, requests and pytest (the plugin)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from failbridge_stub import Stub

CLIENT = Path(__file__).resolve().parents[1]
ALLOWED = {"failbridge_client", "requests", "pytest"}
# requests and what requests itself depends on; pip's own
EXPECTED = {"failbridge-client", "requests", "certifi", "charset-normalizer", "idna", "urllib3"}
TOOLING = {"pip", "setuptools", "wheel"}


def test_the_package_imports_only_the_standard_library_requests_and_pytest() -> None:
    for source in (CLIENT / "src" / "failbridge_client").rglob("*.py"):
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED or top in sys.stdlib_module_names, (source.name, name)


def test_pip_install_into_a_fresh_venv_gives_a_working_command(tmp_path: Path, stub: Stub) -> None:
    """Needs the package index (requests and the build backend come from it), as a user's
    `pip install ./client` does."""
    source = tmp_path / "client"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, clear=True)
    python = env_dir / "bin" / "python"
    installed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)} - TOOLING
    assert names == EXPECTED

    stub.answer(
        "GET",
        "/v1/projects/DEMO/runs/77",
        (200, {"testCases": 2, "passed": 1, "failed": 1, "flaky": [], "tickets": []}),
    )
    clean_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "FAILBRIDGE_URL": stub.url,
        "FAILBRIDGE_API_KEY": "sekret-key-123",
    }
    done = subprocess.run(
        [str(env_dir / "bin" / "failbridge"), "status", "--project", "DEMO", "--run", "77"],
        env=clean_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "run 77: 2 test cases, 1 passed, 1 failed" in done.stdout
    assert "sekret" not in done.stdout + done.stderr
    probe = (
        "import sys, failbridge_client.cli, failbridge_client.api, failbridge_client.config, "
        "failbridge_client.formats; print(sorted(m for m in sys.modules if m.startswith("
        "('chalicelib', 'boto3', 'pydantic'))))"
    )
    loaded = subprocess.run(
        [str(python), "-I", "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
    assert not (env_dir / "bin" / "pytest").exists()  # pytest is not pulled in


@pytest.mark.parametrize("argv", [["--help"], ["report", "--help"], ["gate", "--help"]])
def test_help_runs(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "failbridge_client.cli", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "failbridge" in done.stdout
