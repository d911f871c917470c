"""The Lambda entry points of app.py, fed the recorded events in events/ the way Lambda feeds
them: API Gateway's proxy event to the API handler, SQS batches to the queue handlers."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.conftest import load_event
from tests.integration.conftest import Demo


class Context:
    function_name = "failbridge-dev"
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:failbridge-dev"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def test_the_api_handler_takes_api_gateways_proxy_event(aws: dict[str, Any], demo: Demo) -> None:
    import app

    event = load_event("api_results_request.json")
    event["headers"]["Authorization"] = f"Bearer {demo.keys['ci']}"
    event["multiValueHeaders"]["Authorization"] = [event["headers"]["Authorization"]]
    response = app.app(event, Context())

    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    [outcome] = [r for r in body["results"] if r["ticket"]]
    assert outcome["ticket"]["status"] == "draft"

    event["headers"]["Authorization"] = "Bearer fbk_EXAMPLE_ci_key_not_real"
    event["multiValueHeaders"]["Authorization"] = [event["headers"]["Authorization"]]
    refused = app.app(event, Context())
    assert refused["statusCode"] == 401
    assert json.loads(refused["body"])["error"]["code"] == "unauthenticated"


def test_the_upload_handler_takes_sqs_batches_of_s3_notifications(
    api: Any, aws: dict[str, Any], demo: Demo
) -> None:
    import app

    upload = api.post(
        "/v1/projects/DEMO/uploads",
        headers=demo.auth("ci"),
        body=json.dumps({"run": {"id": "build-77"}, "format": "junit"}),
    ).json_body
    report = (
        b'<testsuite name="s"><testcase classname="checkout.pay" name="t">'
        b'<failure message="boom"/></testcase></testsuite>'
    )
    boto3.client("s3").put_object(
        Bucket=aws["bucket"],
        Key=upload["fields"]["key"],
        Body=report,
        ContentType="application/xml",
    )
    event = load_event("sqs_s3_upload_notification.json")
    notification = json.loads(event["Records"][0]["body"])
    notification["Records"][0]["s3"]["bucket"]["name"] = aws["bucket"]
    notification["Records"][0]["s3"]["object"]["key"] = upload["fields"]["key"]
    event["Records"][0]["body"] = json.dumps(notification)

    assert app.on_report_uploaded(event, Context()) == {"batchItemFailures": []}
    progress = api.get(
        f"/v1/projects/DEMO/uploads/{upload['uploadId']}", headers=demo.auth("viewer")
    ).json_body
    assert (progress["status"], progress["drafts"]) == ("completed", 1)


def test_a_record_that_fails_is_reported_alone_so_sqs_redelivers_only_it(
    aws: dict[str, Any], demo: Demo
) -> None:
    import app

    event = load_event("sqs_workflow_await_decision.json")  # its ticket does not exist here
    record = event["Records"][0]
    flush = {
        **record,
        "messageId": "flush-1",
        "body": json.dumps({"type": "flush_notifications", "lead": "nobody@example.com"}),
    }
    event["Records"] = [record, flush]
    assert app.on_workflow_task(event, Context()) == {
        "batchItemFailures": [{"itemIdentifier": record["messageId"]}]
    }


def test_a_cold_start_builds_only_the_clients_its_invocation_uses(
    aws: dict[str, Any], demo: Demo
) -> None:
    import app
    from chalicelib import bootstrap

    event = load_event("api_results_request.json")
    event["headers"]["Authorization"] = f"Bearer {demo.keys['ci']}"
    event["multiValueHeaders"]["Authorization"] = [event["headers"]["Authorization"]]

    bootstrap.reset()  # a fresh container, as after a cold start
    response = app.app(event, Context())
    assert response["statusCode"] == 200, response
    # A new draft: DynamoDB, and SQS to queue its workflow's start; no S3, no Step Functions.
    assert bootstrap.container().clients.created() == ["dynamodb", "sqs"]

    bootstrap.reset()
    passed = json.loads(event["body"])
    passed["results"] = [{**r, "status": "passed"} for r in passed["results"]]
    event["body"] = json.dumps(passed)
    assert app.app(event, Context())["statusCode"] == 200
    assert bootstrap.container().clients.created() == ["dynamodb"]
