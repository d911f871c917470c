"""Approved drafts become linked Jira issues exactly once, against the Jira emulator through the
real jira client, with the ticket workflow from infra/ executing under moto."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from chalicelib import bootstrap
from chalicelib.handlers import handle_jira_tasks
from tests.integration.conftest import Demo, drain, report, result

MAPPING = {
    "projectKey": "KP",
    "issueType": "bug",
    "summaryTemplate": "[{module}] {title} ({testCaseId})",
    "labels": ["qa"],
    "priorityMap": {"high": "High"},
    "severityField": "Severity",
    "severityMap": {"critical": "Critical"},
    "testCaseIdField": "Test Case ID",
    "linkTypes": {
        "defectToTestCase": "Test",
        "defectToExecution": "Relates",
        "requirementToTestCase": "tests",
    },
}


def configure(api: Any, demo: Demo, mapping: dict[str, Any] | None = None) -> Any:
    return api.put(
        "/v1/projects/DEMO/jira", headers=demo.auth("admin"), body=json.dumps(mapping or MAPPING)
    )


def jira_issue(jira: Any, summary: str) -> str:
    from jira import JIRA

    client = JIRA(server=jira.url, basic_auth=("bot@example.com", "jira-token"), max_retries=0)
    return str(
        client.create_issue(
            fields={"project": {"key": "KP"}, "issuetype": {"name": "Task"}, "summary": summary},
            prefetch=False,
        ).key
    )


def approve(api: Any, demo: Demo, **overrides: Any) -> str:
    ticket_id = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report([result(**overrides)])
    ).json_body["results"][0]["ticket"]["id"]
    response = api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "approve"}),
    )
    assert response.status_code == 200, response.json_body
    asked()
    return str(ticket_id)


def asked() -> None:
    """The workflow's await_decision reaches the handler, which hands the decision over; the
    execution moves on to Approved and queues the Jira task."""
    from chalicelib.handlers import handle_workflow_tasks

    queue = bootstrap.container().settings.workflow_queue_url
    drain(queue, handle_workflow_tasks, wait=1.0)


def run_jira(aws: dict[str, Any], *, rounds: int = 1, wait: float = 1.5) -> None:
    """Deliver the Jira queue to its handler as Lambda would, honouring the handler's delays."""
    for _ in range(rounds):
        drain(aws["jiraQueueUrl"], handle_jira_tasks, wait=wait, reset_failed=False)


def until_open(
    api: Any, demo: Demo, aws: dict[str, Any], ticket_id: str, seconds: float = 30
) -> dict[str, Any]:
    """Deliver the Jira queue until the ticket is open (or `seconds` pass): the workflow hands
    the approved draft over asynchronously, later on a loaded machine."""
    deadline = time.monotonic() + seconds
    while True:
        run_jira(aws)
        ticket = ticket_of(api, demo, ticket_id)
        if ticket["status"] == "open" or time.monotonic() > deadline:
            return ticket


def ticket_of(api: Any, demo: Demo, ticket_id: str) -> dict[str, Any]:
    return dict(api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).json_body)


def creates(jira: Any) -> list[dict[str, Any]]:
    """failbridge's create-issue requests (not the tests' own set-up issues)."""
    return [
        r
        for r in jira.requests
        if r["method"] == "POST"
        and r["path"] == "/rest/api/2/issue"
        and "failbridge" in ((r.get("json") or {}).get("fields") or {}).get("labels", [])
    ]


def test_the_mapping_is_checked_against_jira_when_saved(
    api: Any, demo: Demo, aws: Any, jira: Any
) -> None:
    saved = configure(api, demo)
    assert saved.status_code == 200, saved.json_body
    assert saved.json_body["issueType"] == "Bug"
    assert saved.json_body["linkTypes"] == {
        "defectToTestCase": "Tests",
        "defectToExecution": "Relates",
        "requirementToTestCase": "Tests",
    }
    assert saved.json_body["testCaseIdFieldId"] == "customfield_10100"

    no_type = configure(api, demo, {**MAPPING, "issueType": "Incident"})
    assert no_type.status_code == 422
    assert [d["field"] for d in no_type.json_body["error"]["details"]] == ["issueType"]
    assert "Bug" in no_type.json_body["error"]["details"][0]["problem"]  # names what exists
    bad = configure(
        api,
        demo,
        {**MAPPING, "severityField": "Sevrity", "linkTypes": {"defectToTestCase": "Verifies"}},
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json_body["error"]["details"]} == {
        "severityField",
        "linkTypes.defectToTestCase",
    }
    assert (
        api.get("/v1/projects/DEMO/jira", headers=demo.auth("viewer")).json_body["issueType"]
        == "Bug"
    )
    assert configure(api, demo, {**MAPPING, "projectKey": "NOPE"}).status_code == 422
    assert (
        api.put(
            "/v1/projects/DEMO/jira", headers=demo.auth("lead"), body=json.dumps(MAPPING)
        ).status_code
        == 403
    )


def test_a_required_field_the_mapping_does_not_fill_is_reported_at_save_time(
    api: Any, demo: Demo, aws: Any, jira: Any
) -> None:
    jira.set_config(requiredFields=["customfield_10101", "environment"])
    response = configure(api, demo, {**MAPPING, "severityField": None})
    assert response.status_code == 422
    assert {d["field"] for d in response.json_body["error"]["details"]} == {
        "extraFields.customfield_10101",
        "extraFields.environment",
    }
    assert all("required" in d["problem"] for d in response.json_body["error"]["details"])
    filled = configure(api, demo, {**MAPPING, "extraFields": {"environment": "staging"}})
    assert filled.status_code == 200, filled.json_body


def test_an_approved_draft_becomes_a_linked_jira_issue_with_its_evidence(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any
) -> None:
    configure(api, demo)
    test_case = jira_issue(jira, "Test: pay by card")
    requirement = jira_issue(jira, "Requirement: card payments")
    ticket_id = api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report([result(jiraTestKey=test_case, requirements=[requirement, "REQ-NOT-A-KEY"])]),
    ).json_body["results"][0]["ticket"]["id"]
    api.patch(
        f"/v1/tickets/{ticket_id}",
        headers=demo.auth("tester"),
        body=json.dumps({"severity": "critical", "priority": "high"}),
    )
    announced = api.post(
        f"/v1/tickets/{ticket_id}/attachments",
        headers=demo.auth("tester"),
        body=json.dumps({"fileName": "screen.png", "contentType": "image/png", "size": 100}),
    ).json_body
    boto3.client("s3").put_object(
        Bucket=aws["bucket"],
        Key=announced["fields"]["key"],
        Body=b"\x89PNG-evidence",
        ContentType="image/png",
    )
    bootstrap.container().tickets.settle_evidence(announced["fields"]["key"])
    api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "approve"}),
    )
    asked()
    run_jira(aws)

    ticket = ticket_of(api, demo, ticket_id)
    assert ticket["status"] == "open", ticket["history"]
    assert [h["status"] for h in ticket["history"]] == [
        "draft",
        "draft",
        "approved",
        "jira_pending",
        "open",
    ]
    key = ticket["jira"]["key"]
    assert ticket["jira"]["url"] == f"{jira.url}/browse/{key}"
    issue = jira.issue(key)["fields"]
    assert issue["summary"] == "[checkout] Pay by card (TC-PAY-001)"
    assert issue["issuetype"]["name"] == "Bug"
    assert issue["priority"]["name"] == "High"
    assert issue["customfield_10100"] == "TC-PAY-001"
    assert issue["customfield_10101"]["value"] == "Critical"
    assert set(issue["labels"]) == {"qa", "failbridge", f"failbridge-{ticket_id}"}
    for text in (
        "Order confirmed",
        "HTTP 500 on /pay",
        "staging",
        "AssertionError",
        "alice@example.com",
        "build-812",
    ):
        assert text in issue["description"]
    linked = {
        (link["type"]["name"], (link.get("inwardIssue") or link.get("outwardIssue"))["key"])
        for link in issue["issuelinks"]
    }
    assert ("Tests", test_case) in linked
    assert [a["filename"] for a in issue["attachment"]] == ["screen.png"]
    remote = [
        r
        for r in jira.requests
        if r["path"].endswith(f"{key}/remotelink") and r["method"] == "POST"
    ]
    assert {r["json"]["globalId"] for r in remote} == {
        f"failbridge:{ticket_id}:{name}" for name in ("run", "report", "script", "ticket")
    }
    requirement_links = [
        r
        for r in jira.requests
        if r["path"] == "/rest/api/2/issueLink" and r["json"]["inwardIssue"]["key"] == requirement
    ]
    assert [r["json"]["outwardIssue"]["key"] for r in requirement_links] == [test_case]
    assert len(creates(jira)) == 1

    sfn = boto3.client("stepfunctions")
    arn = aws["stateMachineArn"].replace(":stateMachine:", ":execution:") + f":{ticket_id}"
    entered: list[str] = []
    for _ in range(50):  # the execution moves on: it now waits for what Jira does
        history = sfn.get_execution_history(executionArn=arn)["events"]
        entered = [
            e["stateEnteredEventDetails"]["name"]
            for e in history
            if "stateEnteredEventDetails" in e
        ]
        if entered[-1] == "AwaitFeedback":
            break
        time.sleep(0.1)
    assert entered[-3:] == ["Decided", "Approved", "AwaitFeedback"]


def test_the_same_message_delivered_twice_makes_one_issue_and_one_set_of_links(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any
) -> None:
    configure(api, demo)
    test_case = jira_issue(jira, "Test")
    ticket_id = approve(api, demo, jiraTestKey=test_case)
    sqs = boto3.client("sqs")
    [message] = sqs.receive_message(
        QueueUrl=aws["jiraQueueUrl"], WaitTimeSeconds=1, MaxNumberOfMessages=10
    )["Messages"]
    record = {
        "messageId": "m1",
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1"},
    }
    assert handle_jira_tasks({"Records": [record]}) == {"batchItemFailures": []}
    assert handle_jira_tasks({"Records": [{**record, "messageId": "m2"}]}) == {
        "batchItemFailures": []
    }
    assert len(creates(jira)) == 1
    links = [r for r in jira.requests if r["path"] == "/rest/api/2/issueLink"]
    assert len(links) == 1
    assert ticket_of(api, demo, ticket_id)["status"] == "open"


def test_jira_down_for_a_while_delays_issues_and_creates_each_once(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any
) -> None:
    configure(api, demo)
    jira.add_fault(503, count=-1, match="POST /rest/api/2/issue")
    tickets = [
        approve(api, demo, scenarioId=f"checkout.s{i}", testCaseId=f"TC-{i}") for i in range(3)
    ]
    run_jira(aws, wait=0.5)
    assert {ticket_of(api, demo, t)["status"] for t in tickets} == {"jira_pending"}
    jira.clear_faults()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run_jira(aws, wait=0.5)
        if {ticket_of(api, demo, t)["status"] for t in tickets} == {"open"}:
            break
    assert {ticket_of(api, demo, t)["status"] for t in tickets} == {"open"}
    made = [r for r in creates(jira) if r["status"] == 201]
    assert len(made) == 3
    assert len({ticket_of(api, demo, t)["jira"]["key"] for t in tickets}) == 3


def test_a_create_that_times_out_after_creating_is_found_not_duplicated(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any
) -> None:
    configure(api, demo)
    jira.add_fault("create_then_timeout", seconds=2.5, count=1)
    ticket_id = approve(api, demo)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and ticket_of(api, demo, ticket_id)["status"] != "open":
        run_jira(aws, wait=0.5)
    ticket = ticket_of(api, demo, ticket_id)
    assert ticket["status"] == "open"
    import requests

    labelled = [
        i
        for i in requests.get(f"{jira.url}/_emulator/issues", timeout=5).json()
        if f"failbridge-{ticket_id}" in i["fields"]["labels"]
    ]
    assert [i["key"] for i in labelled] == [ticket["jira"]["key"]]  # one issue, the one it found
    searched = [r for r in jira.requests if "search" in r["path"]]
    assert searched, "the retry looked for the issue before creating again"


def test_a_429_is_respected_with_its_retry_after(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any
) -> None:
    configure(api, demo)
    jira.add_fault(429, count=2, retry_after=2, match="POST /rest/api/2/issue")
    ticket_id = approve(api, demo)
    started = time.monotonic()
    run_jira(aws, wait=0.3)
    sqs = boto3.client("sqs")
    assert (
        sqs.receive_message(QueueUrl=aws["jiraQueueUrl"], WaitTimeSeconds=0).get("Messages") is None
    ), "the message stays invisible for Retry-After"
    while time.monotonic() - started < 15 and ticket_of(api, demo, ticket_id)["status"] != "open":
        run_jira(aws, wait=0.5)
    assert ticket_of(api, demo, ticket_id)["status"] == "open"
    assert time.monotonic() - started >= 2
    assert len([r for r in creates(jira) if r["status"] == 429]) == 2


def test_when_the_budget_is_spent_the_ticket_is_jira_failed_and_a_redrive_finishes_it(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    jira: Any,
    slack: Any,
    capsys: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("FAILBRIDGE_JIRA_RETRY_BUDGET_SECONDS", "1")
    bootstrap.reset()
    configure(api, demo)
    jira.add_fault(503, count=-1, match="POST /rest/api/2/issue")
    ticket_id = approve(api, demo)
    sqs = boto3.client("sqs")
    [message] = sqs.receive_message(QueueUrl=aws["jiraQueueUrl"], WaitTimeSeconds=1)["Messages"]
    record = {
        "messageId": "m1",
        "receiptHandle": message["ReceiptHandle"],
        "body": json.dumps({**json.loads(message["Body"]), "failingSince": time.time() - 2}),
        "attributes": {"ApproximateReceiveCount": "1"},
    }
    assert handle_jira_tasks({"Records": [record]}) == {"batchItemFailures": []}
    ticket = ticket_of(api, demo, ticket_id)
    assert ticket["status"] == "jira_failed"
    assert "503" in ticket["jiraFailure"]
    asked()  # the lead's notice travels through the workflow queue
    assert [m for m in slack.messages if ticket_id in m["body"]["text"]]

    sqs.send_message(QueueUrl=aws["jiraDlqUrl"], MessageBody=message["Body"])  # as an operator
    jira.clear_faults()
    from chalicelib import cli

    capsys.readouterr()
    assert cli.main(["redrive-jira"]) == 0  # the operator's command
    assert ticket_id in json.loads(capsys.readouterr().out)["redriven"]
    assert ticket_of(api, demo, ticket_id)["status"] == "jira_pending"
    run_jira(aws)
    assert ticket_of(api, demo, ticket_id)["status"] == "open"
    assert len([r for r in creates(jira) if r["status"] == 201]) == 1


def test_a_required_field_that_slips_through_fails_with_jiras_reason(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, slack: Any
) -> None:
    """The site made a field required after the mapping was saved."""
    configure(api, demo)
    jira.set_config(requiredFields=["environment"])
    ticket_id = approve(api, demo)
    run_jira(aws)
    ticket = ticket_of(api, demo, ticket_id)
    assert ticket["status"] == "jira_failed"
    assert "environment" in ticket["jiraFailure"]
    assert creates(jira) and all(r["status"] == 400 for r in creates(jira))


def test_a_lead_links_the_draft_to_an_existing_defect_instead(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any
) -> None:
    configure(api, demo)
    existing = jira_issue(jira, "Known bug: card payments fail")
    test_case = jira_issue(jira, "Test")
    ticket_id = api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report([result(jiraTestKey=test_case)]),
    ).json_body["results"][0]["ticket"]["id"]
    no_key = api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "link"}),
    )
    assert (no_key.status_code, no_key.json_body["error"]["details"][0]["field"]) == (
        422,
        "jiraKey",
    )
    linked = api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "link", "jiraKey": existing}),
    )
    assert linked.status_code == 200, linked.json_body
    asked()
    run_jira(aws)
    ticket = ticket_of(api, demo, ticket_id)
    assert (ticket["status"], ticket["jira"]["key"]) == ("open", existing)
    assert creates(jira) == []  # linked, not created
    links = [r["json"] for r in jira.requests if r["path"] == "/rest/api/2/issueLink"]
    assert links == [
        {
            "type": {"name": "Tests"},
            "inwardIssue": {"key": existing},
            "outwardIssue": {"key": test_case},
        }
    ]


def test_two_workers_on_one_message_claim_one_create(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any
) -> None:
    """SQS may hand one message to two Lambdas: each create attempt is claimed once."""
    tickets = bootstrap.container().repos.tickets
    configure(api, demo)
    ticket_id = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report([result()])
    ).json_body["results"][0]["ticket"]["id"]
    assert tickets.claim_create_attempt(ticket_id, 0, 100) is True
    assert tickets.claim_create_attempt(ticket_id, 0, 100) is False  # the other worker
    assert tickets.claim_create_attempt(ticket_id, 1, 200) is True  # the next attempt
    assert tickets.get(ticket_id).jira_create_attempts == 2
