"""Validly signed payloads of an unexpected shape: 400 naming the field, nothing queued or
changed (Jira retries 5xx deliveries; a malformed one would be retried for nothing). The Jira
queue's consumer drops a malformed change instead of failing on it."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from chalicelib.handlers import handle_jira_tasks
from tests.integration.conftest import Demo, drain
from tests.integration.test_decisions import report_failure, slack_signed, ticket_of

JIRA_SECRET = "integration-jira-webhook-secret"


@pytest.fixture
def jira_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import bootstrap

    monkeypatch.setenv("FAILBRIDGE_JIRA_WEBHOOK_SECRET", JIRA_SECRET)
    bootstrap.reset()


def queued(queue_url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@pytest.mark.parametrize(
    ("payload", "field", "problem"),
    [
        ([1, 2], "payload", "must be an object"),
        ({"actions": "x", "user": {"id": "U0LEAD"}}, "payload.actions", "must be a list"),
        ({"actions": [{"action_id": "approve"}], "user": "U0LEAD"}, "payload.user", "object"),
        ({"actions": ["approve"], "user": {"id": "U0LEAD"}}, "payload.actions[0]", "object"),
        ({"actions": [{"action_id": "approve", "value": 7}]}, "payload.actions[0].value", "string"),
    ],
    ids=["list", "actions-string", "user-string", "action-string", "value-number"],
)
def test_slack_interactions_of_an_odd_shape_are_400(
    api: Any, demo: Demo, aws: dict[str, Any], payload: Any, field: str, problem: str
) -> None:
    ticket_id = report_failure(api, demo)
    body = urlencode({"payload": json.dumps(payload)})
    response = api.post("/v1/slack/interactions", headers=slack_signed(body), body=body)
    assert response.status_code == 400, response.json_body
    error = response.json_body["error"]
    assert error["code"] == "malformed_request"
    assert error["details"][0]["field"] == field
    assert problem in error["details"][0]["problem"]
    assert ticket_of(api, demo, ticket_id)["status"] == "draft"


def jira_post(api: Any, payload: Any) -> Any:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(JIRA_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return api.post(
        "/v1/webhooks/jira",
        body=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature": signature},
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"issue": "KP-2"}, "issue"),
        ({"issue": {"key": "KP-2", "fields": "x"}}, "issue.fields"),
        ({"issue": {"key": "KP-2", "fields": {"status": "Done"}}}, "issue.fields.status"),
        (
            {"issue": {"key": "KP-2", "fields": {"status": {"statusCategory": "done"}}}},
            "issue.fields.status.statusCategory",
        ),
        ({"issue": {"key": ["KP-2"]}}, "issue.key"),
        ({"issue": {"key": "KP-2", "fields": {"resolution": "Fixed"}}}, "issue.fields.resolution"),
        ({"issue": {"key": "KP-2", "fields": {"updated": 5}}}, "issue.fields.updated"),
        ([{"issue": {"key": "KP-2"}}], "body"),
    ],
)
def test_jira_webhooks_of_an_odd_shape_are_400_and_not_queued(
    api: Any, demo: Demo, aws: dict[str, Any], jira_secret: None, payload: Any, field: str
) -> None:
    response = jira_post(api, payload)
    assert response.status_code == 400, response.json_body
    error = response.json_body["error"]
    assert error["code"] == "malformed_request"
    assert [d["field"] for d in error["details"]] == [field]
    assert queued(aws["jiraQueueUrl"]) == 0


def test_jira_webhooks_that_omit_or_null_what_we_read_are_still_accepted(
    api: Any, demo: Demo, aws: dict[str, Any], jira_secret: None
) -> None:
    for payload in (
        {"webhookEvent": "jira:issue_updated", "issue": {"key": "KP-1"}},
        {"issue": {"key": "KP-1", "fields": {"status": None, "resolution": None}}},
        {"issue": None},
        # a real status-change delivery carries its timestamp as text
        {"timestamp": "2019-1-30 15:51:34,870", "issue": {"key": "KP-1"}},
    ):
        assert jira_post(api, payload).status_code == 202


def test_the_jira_consumer_drops_a_malformed_change_and_goes_on(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    sqs = boto3.client("sqs")
    for body in (
        {"type": "jira_event", "key": {"nested": True}},
        {"type": "jira_event", "status": "Done"},
        {"type": "jira_event", "key": "KP-404", "updatedAt": "yesterday"},
        {"type": "jira_event", "key": "KP-404", "status": "Done", "category": "done"},
    ):
        sqs.send_message(QueueUrl=aws["jiraQueueUrl"], MessageBody=json.dumps(body))
    assert drain(aws["jiraQueueUrl"], handle_jira_tasks, wait=0.5) == 4
    assert queued(aws["jiraQueueUrl"]) == 0
