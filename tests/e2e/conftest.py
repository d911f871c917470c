"""The local stack (`python -m devstack`) as a session fixture: started once on free random ports
in a temporary directory, driven over HTTP, stopped with SIGTERM at the end (which must work)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
STOP_TIMEOUT = 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _output(log_path: Path, limit: int = 20_000) -> str:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return text[-limit:]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The running stack's stack.json (api, aws, jira, keys, ...)."""
    local_dir = tmp_path_factory.mktemp("devstack")
    log_path = local_dir / "stack.log"
    env = {
        **os.environ,
        "FAILBRIDGE_API_PORT": str(_free_port()),
        "FAILBRIDGE_JIRA_PORT": str(_free_port()),
        "FAILBRIDGE_AWS_PORT": str(_free_port()),
        "FAILBRIDGE_LOCAL_DIR": str(local_dir),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack_file = local_dir / "stack.json"
    try:
        while not stack_file.exists():
            if proc.poll() is not None:
                pytest.fail(
                    f"the stack exited with {proc.returncode} while starting:\n{_output(log_path)}"
                )
            if time.monotonic() - started > START_TIMEOUT:
                pytest.fail(f"the stack did not start in {START_TIMEOUT} s:\n{_output(log_path)}")
            time.sleep(0.2)
        info: dict[str, Any] = json.loads(stack_file.read_text())
        info["_log"] = str(log_path)
        info["_localDir"] = str(local_dir)
        info["_startSeconds"] = round(time.monotonic() - started, 2)
        yield info
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            try:
                code = proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGUSR1)  # devstack dumps every thread's stack
                time.sleep(0.5)
                proc.kill()
                proc.wait()
                pytest.fail(
                    f"the stack did not stop within {STOP_TIMEOUT} s of SIGTERM; its threads:\n"
                    + _output(log_path, 40_000)
                )
            took = time.monotonic() - stopping
            assert code == 0, f"the stack exited with {code} on SIGTERM:\n{_output(log_path)}"
            assert not stack_file.exists(), "the stopped stack left its stack.json behind"
            print(f"\ndevstack: started in {info['_startSeconds']} s, stopped in {took:.1f} s")


class Api:
    """The failbridge API as a client sees it: `api.post("/v1/...", role="ci", json=...)`."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.base = info["api"]
        self.keys: dict[str, str] = info["keys"]
        self.project: str = info["project"]

    def request(
        self, method: str, path: str, *, role: str | None = "ci", **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if role is not None:
            headers.setdefault("Authorization", f"Bearer {self.keys[role]}")
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.base + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("role", "viewer")
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)


def wait_for(check: Any, timeout: float = 15.0, every: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy; fail with its last value on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"not within {timeout} s; last: {last!r}")


@pytest.fixture(scope="session")
def api(stack: dict[str, Any]) -> Api:
    return Api(stack)


@pytest.fixture
def uid() -> str:
    """A suffix that keeps each test's scenarios and runs apart in the shared stack."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def aws(stack: dict[str, Any]) -> Any:
    """boto3 clients for the stack's moto server: `aws("sqs")`."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=stack.get("region", "us-east-1"),
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=stack["aws"])

    return client
