"""Drafts under concurrency, edits by testers, evidence uploads, and large reports."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.dynamo import Repositories
from chalicelib.adapters.workflow import Workflow
from chalicelib.models import ResultIn, RunIn
from chalicelib.services import ingest
from chalicelib.services.ingest import ResultsService
from tests.integration.conftest import Demo, drain, report, result


def s3_notification(bucket: str, key: str, size: int) -> dict[str, Any]:
    """An SQS event whose body is S3's ObjectCreated notification, as Lambda receives it."""
    body = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": size},
                },
            }
        ]
    }
    return {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r-1",
                "body": json.dumps(body),
                "eventSource": "aws:sqs",
            }
        ]
    }


def test_simultaneous_failures_of_one_scenario_make_one_draft_with_every_occurrence(
    aws_server: dict[str, Any],
) -> None:
    """Each thread is its own API instance: its own boto3 client, store and service."""
    aws = aws_server
    n = 24
    bootstrap.container().access.create_project(
        "DEMO", None, False, default_lead="lead@example.com"
    )
    project = bootstrap.container().access.project("DEMO")

    def report_one(i: int) -> dict[str, Any]:
        r = Repositories.over(boto3.client("dynamodb"), aws["table"])
        service = ResultsService(
            ingest.Stores(r.tickets, r.filing, r.scenarios, r.executions, r.projects),
            Workflow(boto3.client("stepfunctions"), aws["stateMachineArn"]),
        )
        failure = ResultIn.model_validate(
            result(testCaseId=f"TC-{i}", reporter=f"tester{i}@example.com")
        )
        return service.record(project, RunIn(id=f"run-{i}"), [failure], reported_by="ci")[0]

    with ThreadPoolExecutor(max_workers=n) as pool:
        outcomes = list(pool.map(report_one, range(n)))

    ticket_ids = {o["ticket"]["id"] for o in outcomes}
    assert len(ticket_ids) == 1
    assert sum(not o["ticket"]["merged"] for o in outcomes) == 1
    repos = bootstrap.container().repos
    ticket = repos.tickets.get(ticket_ids.pop())
    assert ticket.occurrences == n
    assert len(ticket.reporters) == n
    assert len(repos.executions.occurrences(ticket.id)) == n


def test_a_large_report_in_one_request_chunks_its_transactions(api: Any, demo: Demo) -> None:
    failures = [result(testCaseId=f"TC-{i}", reporter="ci") for i in range(250)]
    outcomes = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report(failures)
    ).json_body["results"]
    assert len({o["ticket"]["id"] for o in outcomes}) == 1
    ticket = api.get(
        f"/v1/tickets/{outcomes[0]['ticket']['id']}", headers=demo.auth("viewer")
    ).json_body
    assert ticket["occurrences"] == 250
    # the ticket shows its latest occurrences; the rest are paged, newest first
    assert len(ticket["executions"]) == 20
    seen = [e["executionId"] for e in ticket["executions"]]
    cursor = ticket["moreExecutions"]["cursor"]
    assert ticket["moreExecutions"]["href"].endswith(f"/occurrences?cursor={cursor}")
    pages = 0
    url = f"/v1/tickets/{ticket['id']}/occurrences?limit=100"
    while url:
        page = api.get(url, headers=demo.auth("viewer")).json_body
        seen.extend(e["executionId"] for e in page["items"])
        pages += 1
        url = (
            page["next"]
            and f"/v1/tickets/{ticket['id']}/occurrences?limit=100&cursor={page['next']}"
        )
    assert pages == 3
    assert len(set(seen)) == 250 and set(seen[:20]) <= set(seen[20:])


def test_occurrences_pages_refuse_a_bad_limit_or_cursor(api: Any, demo: Demo) -> None:
    [outcome] = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report([result()])
    ).json_body["results"]
    url = f"/v1/tickets/{outcome['ticket']['id']}/occurrences"
    bad = (("?limit=0", "limit", 422), ("?limit=x", "limit", 422), ("?cursor=%%", "cursor", 400))
    for query, field, status in bad:
        response = api.get(url + query, headers=demo.auth("viewer"))
        assert response.status_code == status
        assert response.json_body["error"]["details"][0]["field"] == field
    page = api.get(url, headers=demo.auth("viewer")).json_body
    assert [e["executionId"] for e in page["items"]] == [outcome["executionId"]]
    assert page["next"] is None


def test_a_long_trace_lives_in_s3_with_a_preview_and_a_link(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    trace = "Traceback (most recent call last):\n" + "  frame\n" * 3000  # ~24 KB
    failure = result(error={"type": "AssertionError", "message": "boom", "trace": trace})
    [outcome] = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report([failure])
    ).json_body["results"]
    ticket = api.get(f"/v1/tickets/{outcome['ticket']['id']}", headers=demo.auth("viewer"))
    [shown] = ticket.json_body["executions"]
    for error in (shown["error"], ticket.json_body["error"]):
        assert len(error["trace"]) == 2000 and trace.startswith(error["trace"])
        assert error["traceBytes"] == len(trace) and "traceKey" not in error
        assert "traces/DEMO/" in error["traceUrl"]
    key = f"traces/DEMO/{outcome['executionId']}.txt"
    stored = boto3.client("s3").get_object(Bucket=aws["bucket"], Key=key)["Body"].read()
    assert stored.decode() == trace


def open_draft(api: Any, demo: Demo) -> str:
    response = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report([result()])
    )
    return str(response.json_body["results"][0]["ticket"]["id"])


def test_a_tester_fills_in_a_draft(api: Any, demo: Demo) -> None:
    ticket_id = open_draft(api, demo)
    response = api.patch(
        f"/v1/tickets/{ticket_id}",
        headers=demo.auth("tester"),
        body=json.dumps(
            {
                "actual": "Card declined page, then HTTP 500",
                "notes": "Only with Visa",
                "severity": "critical",
                "priority": "high",
            }
        ),
    )

    assert response.status_code == 200
    ticket = api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).json_body
    assert (ticket["actual"], ticket["notes"], ticket["severity"], ticket["priority"]) == (
        "Card declined page, then HTTP 500",
        "Only with Visa",
        "critical",
        "high",
    )
    assert ticket["history"][-1]["by"] == "tester@example.com"
    assert ticket["status"] == "draft"


@pytest.mark.parametrize(
    ("role", "body", "status", "field"),
    [
        ("tester", {"severity": "apocalyptic"}, 422, "severity"),
        ("tester", {"status": "approved"}, 422, "status"),
        ("tester", {}, 422, "body"),
        ("viewer", {"notes": "x"}, 403, None),
        ("ci", {"notes": "x"}, 403, None),
    ],
)
def test_bad_edits_change_nothing(
    api: Any, demo: Demo, role: str, body: dict, status: int, field: str | None
) -> None:
    ticket_id = open_draft(api, demo)
    before = api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).json_body
    response = api.patch(f"/v1/tickets/{ticket_id}", headers=demo.auth(role), body=json.dumps(body))
    assert response.status_code == status
    if field:
        assert field in [d["field"] for d in response.json_body["error"]["details"]]
    assert api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).json_body == before


def test_only_a_draft_can_be_edited(api: Any, demo: Demo) -> None:
    ticket_id = open_draft(api, demo)
    bootstrap.container().decisions.expire(ticket_id)
    response = api.patch(
        f"/v1/tickets/{ticket_id}", headers=demo.auth("tester"), body=json.dumps({"notes": "late"})
    )
    assert (response.status_code, response.json_body["error"]["code"]) == (409, "conflict")
    missing = api.patch(
        "/v1/tickets/tk_nope", headers=demo.auth("tester"), body=json.dumps({"notes": "x"})
    )
    assert missing.status_code == 404


def test_evidence_is_uploaded_presigned_and_kept_only_if_it_is_what_was_announced(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    from chalicelib.handlers import handle_upload_events

    ticket_id = open_draft(api, demo)
    s3 = boto3.client("s3")

    def announce(name: str, content_type: str, size: int) -> dict[str, Any]:
        response = api.post(
            f"/v1/tickets/{ticket_id}/attachments",
            headers=demo.auth("tester"),
            body=json.dumps(
                {"fileName": name, "contentType": content_type, "size": size, "kind": "screenshot"}
            ),
        )
        assert response.status_code == 201, response.json_body
        return dict(response.json_body)

    good = announce("screen.png", "image/png", 1000)
    assert good["fields"]["Content-Type"] == "image/png"
    policy = json.loads(__import__("base64").b64decode(good["fields"]["policy"]))
    assert ["content-length-range", 1, 1000] in policy["conditions"]
    s3.put_object(
        Bucket=aws["bucket"],
        Key=good["fields"]["key"],
        Body=b"\x89PNG" + b"0" * 500,
        ContentType="image/png",
    )
    bigger = announce("log.txt", "text/plain", 10)
    s3.put_object(
        Bucket=aws["bucket"],
        Key=bigger["fields"]["key"],
        Body=b"x" * 5000,
        ContentType="text/plain",
    )

    for upload in (good, bigger):
        event = s3_notification(aws["bucket"], upload["fields"]["key"], 0)
        assert handle_upload_events(event) == {"batchItemFailures": []}
        assert handle_upload_events(event) == {"batchItemFailures": []}  # redelivered

    ticket = api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).json_body
    by_id = {a["attachmentId"]: a for a in ticket["attachments"]}
    assert by_id[good["attachmentId"]]["status"] == "stored"
    assert by_id[good["attachmentId"]]["size"] == 504
    assert by_id[good["attachmentId"]]["url"].startswith("https://")
    assert by_id[bigger["attachmentId"]]["status"] == "rejected"
    objects = s3.list_objects_v2(Bucket=aws["bucket"], Prefix="evidence/").get("Contents", [])
    assert [o["Key"] for o in objects] == [good["fields"]["key"]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (
            {"fileName": "a.exe", "contentType": "application/x-msdownload", "size": 10},
            422,
            "contentType",
        ),
        ({"fileName": "huge.mp4", "contentType": "video/mp4", "size": 10**9}, 413, "size"),
        (
            {"fileName": "../../etc/passwd", "contentType": "text/plain", "size": 10},
            422,
            "fileName",
        ),
        ({"fileName": "a.txt", "contentType": "text/plain", "size": 0}, 422, "size"),
    ],
)
def test_evidence_outside_the_limits_is_refused(
    api: Any, demo: Demo, body: dict, status: int, field: str
) -> None:
    ticket_id = open_draft(api, demo)
    response = api.post(
        f"/v1/tickets/{ticket_id}/attachments", headers=demo.auth("tester"), body=json.dumps(body)
    )
    assert response.status_code == status
    assert field in [d["field"] for d in response.json_body["error"]["details"]]
    ticket = api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).json_body
    assert ticket["attachments"] == []


JUNIT = b"""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3" failures="1">
<testcase classname="checkout.pay" name="test_card" time="0.5">
  <failure message="assert 500 == 200">trace</failure></testcase>
<testcase classname="checkout.pay" name="test_paypal" time="0.2"/>
<testcase classname="search.query" name="test_empty" time="0.1"><skipped/></testcase>
</testsuite></testsuites>"""


def test_a_large_report_goes_through_a_presigned_upload_and_reports_progress(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    from chalicelib.handlers import handle_upload_events

    response = api.post(
        "/v1/projects/DEMO/uploads",
        headers=demo.auth("ci"),
        body=json.dumps({"run": {"id": "build-900", "name": "nightly"}, "format": "junit"}),
    )
    assert response.status_code == 201
    upload = response.json_body
    progress = api.get(
        f"/v1/projects/DEMO/uploads/{upload['uploadId']}", headers=demo.auth("viewer")
    ).json_body
    assert progress["status"] == "waiting_for_upload"

    boto3.client("s3").put_object(
        Bucket=aws["bucket"], Key=upload["fields"]["key"], Body=JUNIT, ContentType="application/xml"
    )
    event = s3_notification(aws["bucket"], upload["fields"]["key"], len(JUNIT))
    assert handle_upload_events(event) == {"batchItemFailures": []}
    assert handle_upload_events(event) == {"batchItemFailures": []}  # redelivered: no-op

    progress = api.get(
        f"/v1/projects/DEMO/uploads/{upload['uploadId']}", headers=demo.auth("viewer")
    ).json_body
    assert (progress["status"], progress["total"], progress["processed"]) == ("completed", 3, 3)
    assert (progress["drafts"], progress["merged"]) == (1, 0)
    drafts = api.get("/v1/projects/DEMO/tickets?status=draft", headers=demo.auth("viewer"))
    [draft] = drafts.json_body["items"]
    assert draft["scenarioId"] == "checkout.pay::test_card"  # one scenario per test case
    assert draft["occurrences"] == 1


def test_an_uploaded_report_that_is_not_junit_fails_with_a_reason(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    from chalicelib.handlers import handle_upload_events

    upload = api.post(
        "/v1/projects/DEMO/uploads",
        headers=demo.auth("ci"),
        body=json.dumps({"run": {"id": "build-901"}, "format": "junit"}),
    ).json_body
    boto3.client("s3").put_object(
        Bucket=aws["bucket"], Key=upload["fields"]["key"], Body=b"<html>nope</html>"
    )
    handle_upload_events(s3_notification(aws["bucket"], upload["fields"]["key"], 17))
    progress = api.get(
        f"/v1/projects/DEMO/uploads/{upload['uploadId']}", headers=demo.auth("viewer")
    ).json_body
    assert progress["status"] == "failed"
    assert progress["error"]["code"] == "malformed_request"


def test_tickets_list_by_status_and_module_with_a_cursor(api: Any, demo: Demo) -> None:
    results = [result(scenarioId=f"checkout.s{i}", testCaseId=f"TC-{i}") for i in range(5)]
    results.append(result(scenarioId="search.q", module="search", testCaseId="TC-S"))
    api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report(results))

    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = api.get(
            f"/v1/projects/DEMO/tickets?status=draft&module=checkout"
            f"{'&cursor=' + cursor if cursor else ''}",
            headers=demo.auth("viewer"),
        ).json_body
        seen.extend(t["scenarioId"] for t in page["items"])
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(seen) == [f"checkout.s{i}" for i in range(5)]
    bad = api.get("/v1/projects/DEMO/tickets?status=whatever", headers=demo.auth("viewer"))
    assert (bad.status_code, bad.json_body["error"]["details"][0]["field"]) == (422, "status")
    bad_cursor = api.get("/v1/projects/DEMO/tickets?cursor=%%%", headers=demo.auth("viewer"))
    assert bad_cursor.status_code == 400


def test_a_draft_whose_workflow_failed_to_start_is_started_by_the_sweep(
    api: Any, demo: Demo, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step Functions was down while the draft's start message was delivered, until the message
    went to the DLQ: the scheduled sweep starts the draft's workflow later; started ones are
    left alone."""
    from botocore.exceptions import ClientError

    from chalicelib.handlers import handle_workflow_tasks, reconcile

    workflow = bootstrap.container().workflow
    down = ClientError(
        {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "StartExecution"
    )
    response = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report([result()])
    )
    assert response.status_code == 200  # the start is queued, not made on the request path
    with monkeypatch.context() as m:
        m.setattr(workflow, "start", lambda *a, **k: (_ for _ in ()).throw(down))
        assert drain(aws["workflowQueueUrl"], handle_workflow_tasks) == 0  # stays queued
    boto3.client("sqs").purge_queue(QueueUrl=aws["workflowQueueUrl"])  # ... until its DLQ
    [draft] = bootstrap.container().repos.tickets.page(
        "DEMO", status="draft", module=None, limit=10, cursor=None
    )[0]
    sfn = boto3.client("stepfunctions")
    assert sfn.list_executions(stateMachineArn=aws["stateMachineArn"])["executions"] == []

    assert reconcile()["workflowsStarted"] == 0  # too recent: the reporter may still retry
    monkeypatch.setattr("chalicelib.handlers.STALLED_DRAFT_MINUTES", -1)  # minutes later
    assert reconcile()["workflowsStarted"] == 1
    names = [
        e["name"] for e in sfn.list_executions(stateMachineArn=aws["stateMachineArn"])["executions"]
    ]
    assert names == [draft.id]


def _starts(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """The workflow queue's messages (received, so invisible for a while), as Lambda gets them."""
    sqs = boto3.client("sqs")
    records: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=aws["workflowQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", []):
        records += [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
            for m in batch
            if m["MessageId"] not in {r["messageId"] for r in records}
        ]
        if len(records) >= 100:
            break
    return records


def test_a_start_message_delivered_twice_starts_one_execution(
    api: Any, demo: Demo, aws: dict[str, Any], slack: Any
) -> None:
    """The request path queues the start with the execution's name and input fixed; the second
    delivery of that message (SQS is at-least-once) starts nothing new and is not a failure."""
    from chalicelib.handlers import handle_workflow_tasks

    sfn = boto3.client("stepfunctions")
    response = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report([result()])
    )
    draft = response.json_body["results"][0]["ticket"]["id"]
    assert sfn.list_executions(stateMachineArn=aws["stateMachineArn"])["executions"] == []
    [record] = _starts(aws)
    task = json.loads(record["body"])
    assert (task["type"], task["name"], task["input"]["ticketId"]) == (
        "start_workflow",
        draft,
        draft,
    )
    for _ in range(2):
        assert handle_workflow_tasks({"Records": [record]}) == {"batchItemFailures": []}
    [execution] = sfn.list_executions(stateMachineArn=aws["stateMachineArn"])["executions"]
    assert execution["name"] == draft
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == task["input"]  # the input fixed at enqueue time


def test_a_burst_of_new_drafts_queues_its_starts_and_all_start_when_drained(
    api: Any, demo: Demo, aws: dict[str, Any], slack: Any
) -> None:
    """A mass outage: N failures of N scenarios make N drafts; the request path made no
    StartExecution but queued N starts; delivered through the handler, all N executions exist."""
    from chalicelib.handlers import handle_workflow_tasks

    n = 25
    sfn = boto3.client("stepfunctions")
    body = report(
        [result(scenarioId=f"checkout.burst{i}", testCaseId=f"TC-B-{i}") for i in range(n)]
    )
    response = api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=body)
    assert response.status_code == 200, response.body
    drafts = {r["ticket"]["id"] for r in response.json_body["results"]}
    assert len(drafts) == n
    assert sfn.list_executions(stateMachineArn=aws["stateMachineArn"])["executions"] == []
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws["workflowQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert int(attributes["ApproximateNumberOfMessages"]) == n

    drain(aws["workflowQueueUrl"], handle_workflow_tasks)
    executions = sfn.list_executions(stateMachineArn=aws["stateMachineArn"])["executions"]
    assert sorted(e["name"] for e in executions) == sorted(drafts)
