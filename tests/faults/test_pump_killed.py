"""The local pump killed mid-batch and restarted: the Lambda process dies after Jira created an
issue for the second message of a batch and before anything was written back or deleted. The
whole batch comes back after the queue's visibility timeout to a new pump (a new process, cold
caches), while Jira's search still lags behind the create. Every approved ticket still ends
`open` with exactly one Jira issue, nothing reaches a DLQ, and the lead hears nothing (no delay
long enough to tell)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

import app as application
from chalicelib import bootstrap
from chalicelib.adapters.jira.client import JiraTracker
from chalicelib.handlers import handle_workflow_tasks
from devstack.pump import SqsPoller, resolve_handler
from tests.faults.test_outages import (
    DELAYED,
    approve_all,
    deliver,
    issues_per_ticket,
    nothing_lost,
    statuses,
    told,
)
from tests.integration.conftest import Demo
from tests.integration.test_jira import configure

SEARCH_LAG = 4.0  # Jira's search shows a new issue this long after its create
# How long the app waits for the search after an uncertain attempt: with a margin over Jira's
# lag (30 s against a few seconds by default), since the create may land a while after the claim.
APP_SEARCH_LAG = 8


class Killed(BaseException):
    """The Lambda process dying (a timeout, an out-of-memory kill): no `except Exception` runs,
    nothing is written back and the batch is not deleted."""


def jira_poller(stop: Any) -> SqsPoller:
    """The local stack's poller for the Jira queue, with the app's own handler."""
    [source] = [s for s in application.app.event_sources if s.name == "on_jira_task"]
    return SqsPoller(
        boto3.client("sqs"),
        source,
        resolve_handler(application.app, source.name, source.handler_string),
        region="us-east-1",
        stop=stop,
        wait_seconds=0,
    )


def test_the_pump_killed_mid_batch_and_restarted_makes_one_issue_per_ticket(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    jira: Any,
    slack: Any,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Any,
) -> None:
    import threading

    monkeypatch.setenv("FAILBRIDGE_JIRA_SEARCH_LAG_SECONDS", str(APP_SEARCH_LAG))
    bootstrap.reset()
    configure(api, demo)
    jira.set_config(searchLagSeconds=SEARCH_LAG)
    sqs = boto3.client("sqs")
    sqs.set_queue_attributes(
        QueueUrl=aws["jiraQueueUrl"], Attributes={"VisibilityTimeout": "1"}
    )  # a killed batch is visible again after a second
    ids = approve_all(api, demo, aws, 3)

    created = 0
    real_create = JiraTracker.create_issue

    def create_then_die(self: JiraTracker, fields: dict[str, Any]) -> str:
        nonlocal created
        key = real_create(self, fields)
        created += 1
        if created == 2:  # the second message of the batch: Jira has it, we die
            raise Killed(f"killed after Jira created {key}")
        return key

    monkeypatch.setattr(JiraTracker, "create_issue", create_then_die)
    stop = threading.Event()
    poller, killed, deadline = jira_poller(stop), False, time.monotonic() + 30
    while not killed and time.monotonic() < deadline:  # SQS may hand over fewer than asked
        try:
            poller.poll_once()
        except Killed:
            killed = True
    monkeypatch.setattr(JiraTracker, "create_issue", real_create)
    assert killed
    left = sqs.get_queue_attributes(QueueUrl=aws["jiraQueueUrl"], AttributeNames=["All"])
    on_queue = sum(
        int(left["Attributes"][f"ApproximateNumberOfMessages{kind}"]) for kind in ("", "NotVisible")
    )
    # two issues in Jira; the killed batch deleted nothing (a batch of one before it may have
    # finished and deleted its own message)
    assert created == 2 and on_queue >= 2

    bootstrap.reset()  # the restarted process: a new container, nothing cached
    restarted = jira_poller(stop)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and statuses(ids) != {"open"}:
        restarted.poll_once()
        deliver(aws["workflowQueueUrl"], handle_workflow_tasks)
        time.sleep(0.2)
    time.sleep(SEARCH_LAG)  # any second issue would be searchable by now
    per_ticket = issues_per_ticket(jira, ids)
    record_property(
        "summary",
        f"pump killed mid-batch: {len(ids)} tickets {statuses(ids)}, issues per ticket "
        f"{per_ticket}, deliveries after the restart {restarted.deleted} "
        f"(failed {restarted.failed}), lead told of a delay {told(slack, DELAYED)} times",
    )
    assert statuses(ids) == {"open"}
    assert set(per_ticket.values()) == {1}, per_ticket
    assert told(slack, DELAYED) == 0
    assert told(slack, "Jira could not take") == 0
    nothing_lost(aws)
