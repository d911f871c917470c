"""Integration fixtures: moto in-process with Step Functions executing the state machine file from
infra/, the app wired to it through chalicelib.bootstrap, and a demo project with keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.domain.roles import Role

APPROVAL_KEYS = "k1:integration-approval-secret"
SLACK_SIGNING_SECRET = "integration-slack-signing-secret"


@pytest.fixture
def slack(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Slack sink of the local stack, receiving what leads would be sent."""
    from devstack.slack_sink import SlackSink

    sink = SlackSink(outbox_path=tmp_path / "slack.jsonl").start()
    monkeypatch.setenv("FAILBRIDGE_SLACK_WEBHOOK_URL", sink.url)
    yield sink
    sink.stop()


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's own settings: approval keys, Slack, a one-second digest window."""
    monkeypatch.setenv("FAILBRIDGE_APPROVAL_KEYS", APPROVAL_KEYS)
    monkeypatch.setenv("FAILBRIDGE_SLACK_SIGNING_SECRET", SLACK_SIGNING_SECRET)
    monkeypatch.setenv("FAILBRIDGE_DIGEST_SECONDS", "1")
    monkeypatch.setenv("FAILBRIDGE_PUBLIC_URL", "https://failbridge.example.com")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, app_env: None) -> Iterator[dict[str, Any]]:
    from infra.deploy_local import deploy

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        resources = deploy(None, configure=False)  # type: ignore[arg-type]
        for name, value in resources["env"].items():
            monkeypatch.setenv(name, value)
        bootstrap.reset()
        yield resources
        bootstrap.reset()


@dataclass
class Demo:
    project: str
    keys: dict[str, str]

    def auth(self, role: str, content_type: str | None = "application/json") -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        if content_type:
            headers["Content-Type"] = content_type
        return headers


def drain(queue_url: str, handler: Any, *, wait: float = 0.0, reset_failed: bool = True) -> int:
    """Deliver what is on a queue to a handler the way Lambda does (batches of 10, partial batch
    failures stay on the queue). Returns how many messages were handled successfully."""
    import time

    import boto3

    sqs = boto3.client("sqs")
    handled = 0
    deadline = time.monotonic() + wait
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            if time.monotonic() >= deadline:
                return handled
            time.sleep(0.1)
            continue
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "eventSource": "aws:sqs",
                }
                for m in messages
            ]
        }
        failed = {f["itemIdentifier"] for f in handler(event)["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
                handled += 1
            elif reset_failed:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
        if failed:
            return handled


def start_workflows(queue_url: str) -> int:
    """Deliver the queued workflow starts (what the request path sends for a new draft) through
    the workflow queue's handler, as Lambda would; the queue's other tasks stay on it."""
    import boto3

    from chalicelib.handlers import handle_workflow_tasks

    sqs = boto3.client("sqs")
    started, others = 0, []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30
    ).get("Messages", []):
        for m in batch:
            if json.loads(m["Body"]).get("type") != "start_workflow":
                others.append(m["ReceiptHandle"])
                continue
            record = {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"]}
            event = {"Records": [{**record, "body": m["Body"], "eventSource": "aws:sqs"}]}
            assert handle_workflow_tasks(event) == {"batchItemFailures": []}
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            started += 1
    for handle in others:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return started


@pytest.fixture
def demo(aws: dict[str, Any]) -> Demo:
    access = bootstrap.container().access
    access.create_project("DEMO", "Demo shop", False, default_lead="lead@example.com")
    access.put_module("DEMO", "checkout", "lead@example.com", "U0LEAD")
    access.put_module("DEMO", "search", "search-lead@example.com", "U0SEARCH")
    users = {
        "admin": ("admin", "admin@example.com"),
        "ci": ("ci", None),
        "tester": ("tester", "tester@example.com"),
        "lead": ("lead", "lead@example.com"),
        "viewer": ("viewer", "viewer@example.com"),
        "search_lead": ("lead", "search-lead@example.com"),
    }
    keys = {
        name: access.issue_key("DEMO", Role(role), None, user)["key"]
        for name, (role, user) in users.items()
    }
    access.create_project("OTHER", "Another team", False, default_lead="other@example.com")
    keys["other_ci"] = access.issue_key("OTHER", Role.CI, None, None)["key"]
    return Demo("DEMO", keys)


@pytest.fixture
def api(aws: dict[str, Any]) -> Iterator[Any]:
    import app

    with Client(app.app) as client:
        yield client.http


def result(**overrides: Any) -> dict[str, Any]:
    """A failed result as the contract shows it, with overrides."""
    base = {
        "scenarioId": "checkout.pay-by-card",
        "testCaseId": "TC-PAY-001",
        "title": "Pay by card",
        "module": "checkout",
        "status": "failed",
        "expected": "Order confirmed",
        "actual": "HTTP 500 on /pay",
        "error": {"type": "AssertionError", "message": "expected 200, got 500", "trace": "..."},
        "reporter": "alice@example.com",
        "durationMs": 5120,
        "reportUrl": "https://ci.example.com/812/report.html",
        "scriptUrl": "https://git.example.com/tests/test_pay.py#L40",
        "requirements": ["REQ-PAY-1"],
        "jiraTestKey": "KP-42",
        "attempt": 1,
    }
    base.update(overrides)
    return base


def report(results: list[dict[str, Any]], run_id: str = "build-812") -> str:
    return json.dumps(
        {
            "run": {
                "id": run_id,
                "name": "nightly regression",
                "build": "812",
                "branch": "main",
                "ciUrl": "https://ci.example.com/812",
                "environment": "staging",
            },
            "results": results,
        }
    )


@pytest.fixture
def aws_server(monkeypatch: pytest.MonkeyPatch, app_env: None) -> Iterator[dict[str, Any]]:
    """moto as a server, as the local stack runs it (DynamoDB requests one at a time, since moto's
    backend has no locking), deployed from infra/: separate API instances see one DynamoDB."""
    import socket

    from devstack.stack import local_aws_server
    from infra.deploy_local import deploy

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MOTO_PORT", str(port))
    server = local_aws_server("127.0.0.1", port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        resources = deploy(endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        for name, value in resources["env"].items():
            monkeypatch.setenv(name, value)
        bootstrap.reset()
        yield {**resources, "endpoint": endpoint}
    finally:
        bootstrap.reset()
        server.stop()


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Jira Cloud emulator of the local stack, reached through the real jira client."""
    from devstack.jira import JiraEmulator

    emulator = JiraEmulator(email="bot@example.com", api_token="jira-token", projects=("KP",))
    emulator.start()
    monkeypatch.setenv("FAILBRIDGE_JIRA_URL", emulator.url)
    monkeypatch.setenv("FAILBRIDGE_JIRA_EMAIL", "bot@example.com")
    monkeypatch.setenv("FAILBRIDGE_JIRA_TOKEN", "jira-token")
    monkeypatch.setenv("FAILBRIDGE_JIRA_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("FAILBRIDGE_JIRA_SEARCH_LAG_SECONDS", "1")
    monkeypatch.setenv("FAILBRIDGE_BACKOFF_BASE_SECONDS", "0.2")
    monkeypatch.setenv("FAILBRIDGE_BACKOFF_CAP_SECONDS", "1")
    monkeypatch.setenv("FAILBRIDGE_JIRA_PROBE_SECONDS", "0.5")
    bootstrap.reset()
    yield emulator
    emulator.stop()
