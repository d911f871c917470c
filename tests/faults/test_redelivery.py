"""SQS redelivery of every message type the other fault tests do not hand over twice: each message
is produced the way the app produces it (the API, the workflow under moto, the Jira emulator's
webhooks, S3's notification), taken off its queue, and the same message is handed to the app's
handler again (and, where it matters, at once or after a first delivery that stopped midway).
The effect happens once: one comment and one transition in Jira, one history entry, one
knowledge entry, exact upload counts, one built report; nothing fails, nothing is stuck."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.domain.roles import Role
from chalicelib.handlers import handle_jira_tasks, handle_workflow_tasks
from tests.faults.test_outages import nothing_lost
from tests.faults.test_webhook_order import caught, post, told
from tests.integration.conftest import Demo, report, result
from tests.integration.test_feedback import open_ticket, report_result
from tests.integration.test_jira import asked, configure, run_jira, ticket_of

Message = dict[str, Any]
NOT_COME = "the message did not come"
Handler = Callable[[dict[str, Any]], dict[str, Any]]


def take(
    queue_url: str,
    wanted: Callable[[dict[str, Any]], bool],
    handler: Handler | None = None,
    seconds: float = 10.0,
) -> Message:
    """The first message on the queue whose body is `wanted`, taken off the queue unhandled;
    the others on the way are handed to `handler` one at a time, as Lambda would."""
    sqs = boto3.client("sqs")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # One at a time: what is received and put back would count as a receive, and the
        # queue's redrive policy would move it to the DLQ after a few.
        for m in sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            if wanted(json.loads(m["Body"])):
                return dict(m)
            if handler is not None:
                assert not hand_over(handler, m), m["Body"]
        time.sleep(0.1)
    raise AssertionError(NOT_COME)


def settle(queue_url: str, handler: Handler, seconds: float = 1.0) -> None:
    """Whatever is on the queue (or comes within `seconds`) handed to the handler."""
    try:
        take(queue_url, lambda body: False, handler, seconds)
    except AssertionError as exc:
        if str(exc) != NOT_COME:
            raise


def of_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: body.get("type") == kind


def hand_over(handler: Handler, message: Message, receive: int = 1) -> list[str]:
    """The message handed to the handler as Lambda's SQS event (its `receive`th delivery):
    the ids of the failed records."""
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": f"{message['ReceiptHandle']}-{receive}",
                "body": message["Body"],
                "attributes": {
                    **message.get("Attributes", {}),
                    "ApproximateReceiveCount": str(receive),
                },
                "eventSource": "aws:sqs",
            }
        ]
    }
    return [f["itemIdentifier"] for f in handler(event)["batchItemFailures"]]


@pytest.fixture
def one_dynamodb_request_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each request to an item atomically; moto's in-process backend does not
    lock, so requests are taken one at a time here, as the local stack's moto server does."""
    from moto.dynamodb.responses import DynamoHandler

    from devstack.moto_dynamodb import LOCK

    real = DynamoHandler.call_action

    def atomic(self: Any) -> Any:
        with LOCK:
            return real(self)

    monkeypatch.setattr(DynamoHandler, "call_action", atomic)


def twice(handler: Handler, message: Message, *, at_once: bool = False) -> None:
    """The same message delivered twice (one after the other, or both at the same moment):
    neither delivery fails."""
    if at_once:
        with ThreadPoolExecutor(max_workers=2) as pool:
            failed = list(pool.map(lambda n: hand_over(handler, message, n), (1, 2)))
    else:
        failed = [hand_over(handler, message, n) for n in (1, 2)]
    assert failed == [[], []]


def comments(jira: Any, key: str, words: str) -> int:
    found = jira.issue(key)["fields"]["comment"]["comments"]
    return sum(1 for c in found if words in c["body"])


def transitions(jira: Any, key: str) -> int:
    return sum(
        1
        for r in jira.requests
        if r["method"] == "POST" and r["path"].endswith(f"/issue/{key}/transitions")
    )


def statuses_of(api: Any, demo: Demo, ticket_id: str) -> list[str]:
    return [h["status"] for h in ticket_of(api, demo, ticket_id)["history"]]


def resolved_ticket(api: Any, demo: Demo, aws: dict[str, Any], jira: Any, deliveries: Any) -> Any:
    """An open ticket resolved in Jira, the webhook handled (its record_knowledge too)."""
    ticket = open_ticket(api, demo, aws)
    jira.transition(ticket["jira"]["key"], "Done", "Done")
    post(api, *caught(jira, deliveries))
    settle(aws["jiraQueueUrl"], handle_jira_tasks)
    assert ticket_of(api, demo, ticket["id"])["status"] == "resolved"
    return ticket


SYNCS = {
    # kind: (what the report says, the ticket's move, the words of the Jira comment)
    "retest_passed": ("passed", "verified", "passed; the scenario is Passed"),
    "retest_failed": ("failed", "reopened", "the re-test failed; reopening"),
    "regression_reopened": ("failed", "reopened", "the scenario failed again; reopening"),
}


@pytest.mark.parametrize("kind", list(SYNCS))
@pytest.mark.parametrize("at_once", [False, True], ids=["in-turn", "at-once"])
def test_a_retest_or_regression_told_to_jira_twice_comments_and_transitions_once(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    jira: Any,
    slack: Any,
    deliveries: Any,
    one_dynamodb_request_at_a_time: None,
    kind: str,
    at_once: bool,
) -> None:
    ticket = resolved_ticket(api, demo, aws, jira, deliveries)
    key = ticket["jira"]["key"]
    if kind == "regression_reopened":  # verified first, then it fails again
        report_result(api, demo, "passed", "build-900")
        settle(aws["jiraQueueUrl"], handle_jira_tasks)
    verdict, move, words = SYNCS[kind]
    report_result(api, demo, verdict, "build-901")
    message = take(aws["jiraQueueUrl"], of_type(kind))
    before = transitions(jira, key)

    twice(handle_jira_tasks, message, at_once=at_once)

    assert comments(jira, key, words) == 1
    expected = 0 if kind == "retest_passed" else 1  # no closeTransition in the mapping
    assert transitions(jira, key) - before == expected
    assert statuses_of(api, demo, ticket["id"]).count(move) == 1
    if move == "reopened":
        assert jira.issue(key)["fields"]["status"]["name"] == "Reopened"
    nothing_lost(aws)


def test_a_reopen_whose_transition_met_jira_down_is_not_commented_again(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, slack: Any, deliveries: Any
) -> None:
    """The first delivery commented, then Jira went down before the transition: the delivery
    goes on later (a delayed message); it and a redelivery of the first transition once."""
    ticket = resolved_ticket(api, demo, aws, jira, deliveries)
    key = ticket["jira"]["key"]
    report_result(api, demo, "failed", "build-901")
    message = take(aws["jiraQueueUrl"], of_type("retest_failed"))
    jira.add_fault(503, count=-1, match=f"POST /rest/api/2/issue/{key}/transitions")

    assert hand_over(handle_jira_tasks, message) == []  # commented; the rest later
    assert comments(jira, key, "the re-test failed") == 1
    assert jira.issue(key)["fields"]["status"]["name"] != "Reopened"
    jira.clear_faults()
    later = take(aws["jiraQueueUrl"], of_type("retest_failed"), seconds=15.0)
    assert hand_over(handle_jira_tasks, later) == []
    assert hand_over(handle_jira_tasks, message, 2) == []  # and SQS's copy of the first

    assert comments(jira, key, "the re-test failed") == 1
    assert jira.issue(key)["fields"]["status"]["name"] == "Reopened"
    assert statuses_of(api, demo, ticket["id"]).count("reopened") == 1
    nothing_lost(aws)


def test_a_comment_jira_took_but_answered_too_late_is_not_posted_again(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, slack: Any, deliveries: Any
) -> None:
    """Jira took the re-test's comment but answered after the client's timeout (so the delivery
    released its step, as for a comment Jira never got): the retry, and SQS's copy of the
    first delivery, find the comment in Jira instead of posting it again."""
    ticket = resolved_ticket(api, demo, aws, jira, deliveries)
    key = ticket["jira"]["key"]
    report_result(api, demo, "failed", "build-901")
    message = take(aws["jiraQueueUrl"], of_type("retest_failed"))
    jira.add_fault(
        "create_then_timeout", seconds=2.0, match=f"POST /rest/api/2/issue/{key}/comment"
    )

    assert hand_over(handle_jira_tasks, message) == []  # timed out: retried later
    assert comments(jira, key, "the re-test failed") == 1  # Jira has it all the same
    jira.clear_faults()
    later = take(aws["jiraQueueUrl"], of_type("retest_failed"), seconds=15.0)
    assert hand_over(handle_jira_tasks, later) == []
    assert hand_over(handle_jira_tasks, message, 2) == []

    assert comments(jira, key, "the re-test failed") == 1
    assert jira.issue(key)["fields"]["status"]["name"] == "Reopened"
    assert statuses_of(api, demo, ticket["id"]).count("reopened") == 1
    nothing_lost(aws)


def test_a_knowledge_entry_recorded_twice_is_one_entry(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    jira: Any,
    slack: Any,
    deliveries: Any,
    one_dynamodb_request_at_a_time: None,
) -> None:
    configure(api, demo)
    failures = [result(testCaseId=f"TC-{i}", reporter=f"t{i}@example.com") for i in range(5)]
    ticket_id = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report(failures)
    ).json_body["results"][0]["ticket"]["id"]
    decided = api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "approve"}),
    )
    assert decided.status_code == 200, decided.json_body
    asked()
    run_jira(aws)
    key = ticket_of(api, demo, ticket_id)["jira"]["key"]
    jira.transition(key, "Done", "Done")
    post(api, *caught(jira, deliveries))
    message = take(aws["jiraQueueUrl"], of_type("record_knowledge"), handle_jira_tasks)

    twice(handle_jira_tasks, message, at_once=True)
    assert hand_over(handle_jira_tasks, message, 3) == []

    entries = bootstrap.container().repos.projects.knowledge("DEMO", "checkout.pay-by-card")
    assert [(e["ticketId"], e["jiraKey"]) for e in entries] == [(ticket_id, key)]
    assert told(slack, "Ready for re-test") == 1
    nothing_lost(aws)


def execution_of(aws: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = f"{aws['stateMachineArn'].replace(':stateMachine:', ':execution:')}:{ticket_id}"
    return dict(sfn.describe_execution(executionArn=arn))


def test_await_feedback_delivered_twice_waits_once_and_the_next_change_reaches_the_workflow(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    jira: Any,
    slack: Any,
    deliveries: Any,
) -> None:
    ticket = open_ticket(api, demo, aws)
    message = take(aws["workflowQueueUrl"], of_type("await_feedback"), handle_workflow_tasks)
    twice(handle_workflow_tasks, message)
    token = json.loads(message["Body"])["taskToken"]
    assert bootstrap.container().repos.tickets.get(ticket["id"]).feedback_token == token

    jira.transition(ticket["jira"]["key"], "Done", "Done")  # the next change answers the token
    post(api, *caught(jira, deliveries))
    settle(aws["jiraQueueUrl"], handle_jira_tasks)
    fresh = take(aws["workflowQueueUrl"], of_type("await_feedback"), handle_workflow_tasks)
    assert hand_over(handle_workflow_tasks, fresh) == []
    assert hand_over(handle_workflow_tasks, message, 3) == []  # the first one, very late

    report_result(api, demo, "passed", "build-900")  # verified: the workflow ends
    settle(aws["jiraQueueUrl"], handle_jira_tasks)
    deadline = time.monotonic() + 10
    while execution_of(aws, ticket["id"])["status"] == "RUNNING" and time.monotonic() < deadline:
        settle(aws["workflowQueueUrl"], handle_workflow_tasks, seconds=0.3)
    assert execution_of(aws, ticket["id"])["status"] == "SUCCEEDED"
    assert statuses_of(api, demo, ticket["id"]).count("verified") == 1
    nothing_lost(aws)


@pytest.mark.parametrize("at_once", [False, True], ids=["in-turn", "at-once"])
def test_expire_draft_delivered_twice_expires_once(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    slack: Any,
    one_dynamodb_request_at_a_time: None,
    at_once: bool,
) -> None:
    c = bootstrap.container()
    c.repos.projects.create(
        {
            "key": "FAST",
            "name": "Fast",
            "flakyOpensDraft": False,
            "decisionReminderSeconds": 1,
            "decisionRounds": 1,
        }
    )
    c.access.put_module("FAST", "checkout", "lead@example.com", "U0LEAD")
    ci = c.access.issue_key("FAST", Role.CI, None, None)["key"]
    ticket_id = api.post(
        "/v1/projects/FAST/results",
        headers={"Authorization": f"Bearer {ci}", "Content-Type": "application/json"},
        body=report([result()]),
    ).json_body["results"][0]["ticket"]["id"]
    message = take(
        aws["workflowQueueUrl"], of_type("expire_draft"), handle_workflow_tasks, seconds=20.0
    )

    twice(handle_workflow_tasks, message, at_once=at_once)
    assert hand_over(handle_workflow_tasks, message, 3) == []

    ticket = c.repos.tickets.get(ticket_id)
    assert ticket.status == "expired"
    assert [h.status for h in ticket.history].count("expired") == 1
    nothing_lost(aws)


def test_an_upload_notification_and_its_chunks_delivered_twice_count_once(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    one_dynamodb_request_at_a_time: None,
) -> None:
    from chalicelib.handlers import handle_upload_events
    from chalicelib.services import uploads as uploads_module
    from tests.integration.test_upload_chunks import (
        CASES,
        CHUNK,
        FAILING,
        ROUNDS,
        SCENARIOS,
        spread_junit,
    )

    monkeypatch.setattr(uploads_module, "CHUNK", CHUNK)
    upload = api.post(
        "/v1/projects/DEMO/uploads",
        headers=demo.auth("ci"),
        body=json.dumps({"run": {"id": "build-twice"}, "format": "junit"}),
    ).json_body
    key = upload["fields"]["key"]
    boto3.client("s3").put_object(
        Bucket=aws["bucket"], Key=key, Body=spread_junit(), ContentType="application/xml"
    )
    landed = take(
        aws["reportsQueueUrl"],
        # (event keys are URL-encoded; moto also encodes "/")
        lambda body: any(
            unquote_plus(r["s3"]["object"]["key"]) == key for r in body.get("Records", [])
        ),
    )

    twice(handle_upload_events, landed, at_once=True)  # S3's notification, twice at once
    assert hand_over(handle_upload_events, landed, 3) == []
    results = SCENARIOS * ROUNDS * CASES
    # Two notifications at once may both hand a chunk out (noted every QUEUE_NOTE sends): a
    # chunk message is one more redelivery, which its handler counts once.
    chunks: list[Message] = []
    while True:
        try:
            chunks.append(take(aws["reportsQueueUrl"], of_type("upload_chunk"), seconds=1.0))
        except AssertionError:
            break
    assert {json.loads(m["Body"])["chunk"] for m in chunks} == set(range(results // CHUNK))
    for n, message in enumerate(chunks):
        twice(handle_upload_events, message, at_once=n % 2 == 0)

    progress = api.get(
        f"/v1/projects/DEMO/uploads/{upload['uploadId']}", headers=demo.auth("viewer")
    ).json_body
    failures = SCENARIOS * ROUNDS * FAILING
    assert progress["status"] == "completed"
    assert (progress["processed"], progress["total"]) == (results, results)
    assert (progress["drafts"], progress["merged"]) == (SCENARIOS, failures - SCENARIOS)
    tickets = bootstrap.container().repos.tickets
    for s in range(SCENARIOS):
        [draft] = tickets.of_scenario("DEMO", f"checkout.spread.s{s}")
        assert draft.occurrences == ROUNDS * FAILING
    nothing_lost(aws)
    assert not boto3.client("sqs").receive_message(QueueUrl=aws["reportsDlqUrl"]).get("Messages")


def test_a_report_request_delivered_twice_builds_one_report(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    one_dynamodb_request_at_a_time: None,
) -> None:
    from chalicelib.handlers import handle_report_requests

    asked_for = api.post(
        "/v1/projects/DEMO/reports",
        headers=demo.auth("viewer"),
        body=json.dumps({"type": "executive-summary", "format": "csv"}),
    )
    assert asked_for.status_code in (200, 201, 202), asked_for.json_body
    report_id = asked_for.json_body["reportId"]
    queue = bootstrap.container().settings.build_queue_url
    message = take(queue, lambda body: body.get("reportId") == report_id)

    def view() -> dict[str, Any]:
        seen = api.get(f"/v1/projects/DEMO/reports/{report_id}", headers=demo.auth("viewer"))
        return {k: v for k, v in seen.json_body.items() if k != "downloadUrl"}

    assert hand_over(handle_report_requests, message) == []
    built = view()
    assert built["status"] == "done", built
    twice(handle_report_requests, message)  # and again, twice at once: nothing rebuilt
    twice(handle_report_requests, message, at_once=True)

    assert view() == built  # built once: the same file, the same builtAt
    stored = boto3.client("s3").list_object_versions(
        Bucket=aws["bucket"], Prefix=f"reports/DEMO/{report_id}"
    )
    assert len(stored.get("Versions", [])) == 1, stored.get("Versions")
    nothing_lost(aws)
