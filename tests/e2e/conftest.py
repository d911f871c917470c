"""The local stack (`python -m devstack`) as a session fixture: started once on free random ports
in a temporary directory, driven over HTTP, stopped with SIGTERM at the end (which must work)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The running stack's stack.json (api, aws, jira, keys, ...). Stopping it is part of the
    test: SIGTERM must end it cleanly within 5 s and remove its stack.json.

    One stack per test file: moto keeps every item and every stream record in memory, and with
    the change stream's readers (metrics, exports) one stack serving the whole e2e suite grew
    past 20 GB (measured: the metrics reader alone takes a stack from 339 to 864 MB over two
    files). A file's own stack starts in seconds and bounds that."""
    from devstack.process import StackFailed, StackProcess

    process = StackProcess(tmp_path_factory.mktemp("devstack"))
    try:
        info = process.start()
    except StackFailed as exc:
        pytest.fail(str(exc))
    try:
        yield info
    finally:
        try:
            took = process.stop()
        except StackFailed as exc:
            pytest.fail(str(exc))
        assert not process.stack_file.exists(), "the stopped stack left its stack.json behind"
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


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    """The contract's one error shape, with this status (and code)."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    if code is not None:
        assert error["code"] == code
    return dict(error)


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


@pytest.fixture(scope="module")
def api(stack: dict[str, Any]) -> Api:
    return Api(stack)


@pytest.fixture
def uid() -> str:
    """A suffix that keeps each test's scenarios and runs apart in the shared stack."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
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
