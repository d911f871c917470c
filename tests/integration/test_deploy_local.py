"""infra.deploy_local against a real moto server: the template's resources, and the ticket
workflow executing (moto's Step Functions interpreter calls back into the server)."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib import settings
from infra.deploy_local import deploy

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    mp = pytest.MonkeyPatch()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        mp.setenv(name, value)
    port = _free_port()
    mp.setenv("MOTO_PORT", str(port))  # the Step Functions interpreter calls back on this port
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        request = urllib.request.Request(
            url + "/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 201)
        yield url
    finally:
        server.stop()
        mp.undo()


@pytest.fixture(scope="module")
def stack(endpoint: str) -> dict[str, Any]:
    return deploy(endpoint, REGION)


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def _wait(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_returns_resources_and_env(stack: dict[str, Any]) -> None:
    env = stack["env"]
    assert env[settings.TABLE_NAME] == stack["table"]
    assert env[settings.BUCKET_NAME] == stack["bucket"]
    assert env[settings.REPORTS_QUEUE_URL] == stack["reportsQueueUrl"]
    assert env[settings.WORKFLOW_QUEUE_URL] == stack["workflowQueueUrl"]
    assert env[settings.STATE_MACHINE_ARN] == stack["stateMachineArn"]
    assert stack["bucket"] == "failbridge-123456789012-us-east-1"
    assert stack["reportsQueueUrl"].endswith("/" + settings.REPORTS_QUEUE_NAME)
    assert stack["workflowQueueUrl"].endswith("/" + settings.WORKFLOW_QUEUE_NAME)


def test_deploy_is_idempotent(endpoint: str, stack: dict[str, Any]) -> None:
    assert deploy(endpoint, REGION) == stack
    sfn = _client(endpoint, "stepfunctions")
    names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert names.count("failbridge-ticket-workflow") == 1


def test_table_has_gsis_ttl_and_pitr(endpoint: str, stack: dict[str, Any]) -> None:
    ddb = _client(endpoint, "dynamodb")
    table = ddb.describe_table(TableName=stack["table"])["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"gsi1", "gsi2"}
    for name, index in indexes.items():
        assert {k["AttributeName"] for k in index["KeySchema"]} == {name + "pk", name + "sk"}
        assert index["Projection"]["ProjectionType"] == "ALL"
    ttl = ddb.describe_time_to_live(TableName=stack["table"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
    backups = ddb.describe_continuous_backups(TableName=stack["table"])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_queues_redrive_to_their_dlqs(endpoint: str, stack: dict[str, Any]) -> None:
    sqs = _client(endpoint, "sqs")
    for queue, dlq, visibility in [
        (stack["reportsQueueUrl"], stack["reportsDlqUrl"], "5400"),  # 6 x its 900 s function
        (stack["workflowQueueUrl"], stack["workflowDlqUrl"], "720"),
    ]:
        attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq_arn
        assert int(redrive["maxReceiveCount"]) == 5
        assert attrs["VisibilityTimeout"] == visibility
        dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
        assert dlq_attrs["MessageRetentionPeriod"] == "1209600"
    policy = sqs.get_queue_attributes(QueueUrl=stack["reportsQueueUrl"], AttributeNames=["Policy"])
    statement = json.loads(policy["Attributes"]["Policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:s3:::{stack['bucket']}"


def test_bucket_is_versioned_private_and_notifies_reports_queue(
    endpoint: str, stack: dict[str, Any]
) -> None:
    s3 = _client(endpoint, "s3")
    sqs = _client(endpoint, "sqs")
    bucket = stack["bucket"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert {r["ID"] for r in rules} >= {"expire-uploads", "abort-incomplete-multipart-uploads"}
    # The template's deny-non-TLS bucket policy is left out locally (plain HTTP endpoint):
    # moto enforces bucket policies. tests/unit/test_infra.py checks the template has it.

    s3.put_object(Bucket=bucket, Key="uploads/probe.xml", Body=b"<testsuites/>")
    s3.put_object(Bucket=bucket, Key="other/ignored.txt", Body=b"x")

    def uploaded_keys() -> list[str]:
        keys = []
        for message in sqs.receive_message(
            QueueUrl=stack["reportsQueueUrl"], MaxNumberOfMessages=10
        ).get("Messages", []):
            sqs.delete_message(
                QueueUrl=stack["reportsQueueUrl"], ReceiptHandle=message["ReceiptHandle"]
            )
            body = json.loads(message["Body"])
            # Event keys are URL-encoded; moto also encodes "/" (AWS does not): unquote_plus.
            keys += [unquote_plus(r["s3"]["object"]["key"]) for r in body.get("Records", [])]
        return keys

    assert _wait(uploaded_keys) == ["uploads/probe.xml"]


def test_workflow_waits_for_decision_then_succeeds(endpoint: str, stack: dict[str, Any]) -> None:
    sfn = _client(endpoint, "stepfunctions")
    sqs = _client(endpoint, "sqs")
    execution = sfn.start_execution(
        stateMachineArn=stack["stateMachineArn"],
        name="ticket-t1",
        input=json.dumps({"ticketId": "t1", "decisionTimeoutSeconds": 60}),
    )["executionArn"]

    def await_decision_message() -> dict[str, Any] | None:
        for message in sqs.receive_message(
            QueueUrl=stack["workflowQueueUrl"], MaxNumberOfMessages=10
        ).get("Messages", []):
            body = json.loads(message["Body"])
            sqs.delete_message(
                QueueUrl=stack["workflowQueueUrl"], ReceiptHandle=message["ReceiptHandle"]
            )
            if body.get("type") == "await_decision" and body.get("ticketId") == "t1":
                return dict(body)
        return None

    task = _wait(await_decision_message)
    assert task["taskToken"]
    history = sfn.get_execution_history(executionArn=execution)["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    assert entered[-1] == "AwaitDecision"
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"

    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"decision": "approve"}))

    def jira_task() -> dict[str, Any] | None:
        got = sqs.receive_message(QueueUrl=stack["jiraQueueUrl"], WaitTimeSeconds=0)
        return json.loads(got["Messages"][0]["Body"]) if got.get("Messages") else None

    created = _wait(jira_task)  # approved: the execution waits for the Jira issue
    assert created["type"] == "create_defect"
    assert created["ticketId"] == "t1"
    sfn.send_task_success(taskToken=created["taskToken"], output=json.dumps({"key": "KP-1"}))

    def feedback_task() -> dict[str, Any] | None:
        got = sqs.receive_message(QueueUrl=stack["workflowQueueUrl"], WaitTimeSeconds=0)
        for message in got.get("Messages", []):
            body = json.loads(message["Body"])
            if body["type"] == "await_feedback":
                return dict(body)
        return None

    waiting = _wait(feedback_task)  # in Jira: the execution waits for resolution and re-test
    sfn.send_task_success(taskToken=waiting["taskToken"], output=json.dumps({"status": "verified"}))

    def finished() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution)
        return None if described["status"] == "RUNNING" else dict(described)

    described = _wait(finished)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["decision"] == {"decision": "approve"}
    history = sfn.get_execution_history(executionArn=execution)["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    assert entered[-5:] == ["Decided", "Approved", "AwaitFeedback", "Feedback", "Verified"]


def test_workflow_expires_the_draft_on_timeout(endpoint: str, stack: dict[str, Any]) -> None:
    sfn = _client(endpoint, "stepfunctions")
    sqs = _client(endpoint, "sqs")
    execution = sfn.start_execution(
        stateMachineArn=stack["stateMachineArn"],
        name="ticket-t2",
        input=json.dumps({"ticketId": "t2", "decisionTimeoutSeconds": 1}),
    )["executionArn"]
    seen: list[dict[str, Any]] = []

    def expired() -> bool:
        for message in sqs.receive_message(
            QueueUrl=stack["workflowQueueUrl"], MaxNumberOfMessages=10
        ).get("Messages", []):
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(
                QueueUrl=stack["workflowQueueUrl"], ReceiptHandle=message["ReceiptHandle"]
            )
        return sfn.describe_execution(executionArn=execution)["status"] != "RUNNING" and any(
            m.get("type") == "expire_draft" for m in seen
        )

    _wait(expired)
    assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    assert {"type": "expire_draft", "ticketId": "t2"} in seen
    asks = [m for m in seen if m["type"] == "await_decision" and m["ticketId"] == "t2"]
    assert [(m["round"], m["deadline"]) for m in asks] == [(0, 0)]


def test_workflow_reminds_then_expires(endpoint: str, stack: dict[str, Any]) -> None:
    """The app's input: each round re-enters AwaitDecision (fresh token), then the draft expires."""
    sfn = _client(endpoint, "stepfunctions")
    sqs = _client(endpoint, "sqs")
    execution = sfn.start_execution(
        stateMachineArn=stack["stateMachineArn"],
        name="ticket-t3",
        input=json.dumps(
            {"ticketId": "t3", "round": 0, "maxRounds": 2, "reminderSeconds": 1, "deadline": 99}
        ),
    )["executionArn"]
    seen: list[dict[str, Any]] = []

    def finished() -> bool:
        for message in sqs.receive_message(
            QueueUrl=stack["workflowQueueUrl"], MaxNumberOfMessages=10
        ).get("Messages", []):
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(
                QueueUrl=stack["workflowQueueUrl"], ReceiptHandle=message["ReceiptHandle"]
            )
        return sfn.describe_execution(executionArn=execution)["status"] != "RUNNING" and any(
            m.get("type") == "expire_draft" for m in seen
        )

    _wait(finished)
    asks = [m for m in seen if m["type"] == "await_decision" and m["ticketId"] == "t3"]
    assert [(m["round"], m["deadline"]) for m in asks] == [(0, 99), (1, 99)]
    assert asks[0]["taskToken"] != asks[1]["taskToken"]
    history = sfn.get_execution_history(executionArn=execution)["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    assert entered.count("AwaitDecision") == 2
    assert entered[-1] == "Expired"
    assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
