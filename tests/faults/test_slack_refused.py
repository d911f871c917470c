"""Slack refusing a message for good (a revoked webhook answers 404, a bad token 403): no retry
can mend it, so the delivery ends at once, on the workflow DLQ with the reason (whose depth alarm
tells an operator), not after days of backoff or maxReceiveCount retries. Once the cause is
mended, the DLQ redriven: the lead gets the digest once, with every draft."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from tests.faults.test_outages import drafts, run
from tests.integration.conftest import Demo
from tests.integration.test_jira import configure


@pytest.mark.parametrize("status", [404, 403])
def test_slack_refusing_for_good_ends_the_delivery_at_once_on_the_dlq(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, slack: Any, status: int
) -> None:
    configure(api, demo)
    slack.add_fault(status, count=10)
    ids = drafts(api, demo, 2)
    sqs = boto3.client("sqs")

    def dead_letters() -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=aws["workflowDlqUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    run(aws, lambda: dead_letters() > 0, 20.0)  # the digest's flush meets the refusal
    run(aws, lambda: False, 2.0)  # many backoffs' worth (0.2 s to 1 s): a retry would come
    [left] = slack.faults
    assert left["count"] == 9  # one try, not one per backoff
    assert slack.messages == []
    dead = sqs.receive_message(QueueUrl=aws["workflowDlqUrl"], MaxNumberOfMessages=10)["Messages"]
    [task] = [json.loads(m["Body"]) for m in dead]
    assert task["type"] == "flush_notifications"
    assert str(status) in task["failure"], task
    for m in dead:  # seen, not taken: visible again for the redrive
        sqs.change_message_visibility(
            QueueUrl=aws["workflowDlqUrl"], ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )

    slack.clear_faults()  # the operator mends the webhook and redrives the DLQ
    c = bootstrap.container()
    moved = c.queues.redrive(aws["workflowDlqUrl"], aws["workflowQueueUrl"])
    assert len(moved) == 1
    run(aws, lambda: bool(slack.messages), 10.0)
    asks = [json.dumps(m["body"]) for m in slack.messages]
    assert len(asks) == 1 and all(t in asks[0] for t in ids), asks
