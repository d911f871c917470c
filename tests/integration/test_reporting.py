"""Reporting results through the API, against moto in-process: drafts open, merge, stay single."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from tests.integration.conftest import Demo, report, result, start_workflows


def post_results(
    api: Any, demo: Demo, results: list[dict], run_id: str = "build-812", role: str = "ci"
) -> Any:
    return api.post(
        f"/v1/projects/{demo.project}/results",
        headers=demo.auth(role),
        body=report(results, run_id),
    )


def test_a_failure_opens_a_draft_prefilled_from_the_test_case(api: Any, demo: Demo) -> None:
    response = post_results(api, demo, [result()])

    assert response.status_code == 200
    [outcome] = response.json_body["results"]
    assert outcome["executionId"].startswith("ex_")
    assert outcome["ticket"]["status"] == "draft"
    assert outcome["ticket"]["merged"] is False
    ticket = api.get(
        f"/v1/tickets/{outcome['ticket']['id']}", headers=demo.auth("viewer")
    ).json_body
    assert ticket["status"] == "draft"
    assert ticket["project"] == "DEMO"
    assert ticket["scenarioId"] == "checkout.pay-by-card"
    assert ticket["testCaseId"] == "TC-PAY-001"
    assert ticket["title"] == "Pay by card"
    assert ticket["module"] == "checkout"
    assert ticket["expected"] == "Order confirmed"
    assert ticket["actual"] == "HTTP 500 on /pay"
    assert ticket["error"]["type"] == "AssertionError"
    assert ticket["reporters"] == ["alice@example.com"]
    assert ticket["occurrences"] == 1
    assert ticket["run"]["ciUrl"] == "https://ci.example.com/812"
    assert ticket["reportUrl"] == "https://ci.example.com/812/report.html"
    assert ticket["scriptUrl"] == "https://git.example.com/tests/test_pay.py#L40"
    assert ticket["requirements"] == ["REQ-PAY-1"]
    assert ticket["jiraTestKey"] == "KP-42"
    assert ticket["environment"] == "staging"
    assert ticket["jira"] is None
    assert ticket["notes"] is None
    assert [h["status"] for h in ticket["history"]] == ["draft"]
    assert [e["executionId"] for e in ticket["executions"]] == [outcome["executionId"]]
    assert "taskToken" not in ticket


def test_failures_of_one_scenario_merge_into_its_draft_keeping_every_occurrence(
    api: Any, demo: Demo
) -> None:
    first = post_results(api, demo, [result()], run_id="build-812").json_body["results"][0]
    second = post_results(
        api,
        demo,
        [result(testCaseId="TC-PAY-002", reporter="bob@example.com", actual="timeout")],
        run_id="build-813",
    ).json_body["results"][0]

    assert second["ticket"] == {"id": first["ticket"]["id"], "status": "draft", "merged": True}
    ticket = api.get(f"/v1/tickets/{first['ticket']['id']}", headers=demo.auth("viewer")).json_body
    assert ticket["occurrences"] == 2
    assert ticket["reporters"] == ["alice@example.com", "bob@example.com"]
    seen = {(e["runId"], e["reporter"], e["testCaseId"]) for e in ticket["executions"]}
    assert seen == {
        ("build-812", "alice@example.com", "TC-PAY-001"),
        ("build-813", "bob@example.com", "TC-PAY-002"),
    }
    drafts = api.get("/v1/projects/DEMO/tickets?status=draft", headers=demo.auth("viewer"))
    assert [t["id"] for t in drafts.json_body["items"]] == [first["ticket"]["id"]]


def test_a_retried_report_records_nothing_twice(api: Any, demo: Demo) -> None:
    batch = [result(), result(testCaseId="TC-PAY-002", reporter="bob@example.com")]
    first = post_results(api, demo, batch).json_body
    again = post_results(api, demo, batch).json_body

    assert again == first
    ticket_id = first["results"][0]["ticket"]["id"]
    ticket = api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).json_body
    assert ticket["occurrences"] == 2
    assert len(ticket["executions"]) == 2


def test_passes_record_executions_and_the_scenario_status(api: Any, demo: Demo) -> None:
    outcome = post_results(api, demo, [result(status="passed", scenarioId="checkout.cart")])
    [passed] = outcome.json_body["results"]
    assert passed["ticket"] is None
    scenario = api.get("/v1/projects/DEMO/scenarios/checkout.cart", headers=demo.auth("viewer"))
    assert scenario.json_body["status"] == "passed"
    assert scenario.json_body["lastExecution"]["executionId"] == passed["executionId"]
    assert scenario.json_body["testCases"] == ["TC-PAY-001"]

    post_results(api, demo, [result(scenarioId="checkout.cart")], run_id="build-900")
    scenario = api.get("/v1/projects/DEMO/scenarios/checkout.cart", headers=demo.auth("viewer"))
    assert scenario.json_body["status"] == "failing"
    assert [t["status"] for t in scenario.json_body["tickets"]] == ["draft"]


def test_a_failure_that_passes_on_retry_in_the_same_run_is_flaky_and_opens_nothing(
    api: Any, demo: Demo
) -> None:
    outcomes = post_results(
        api, demo, [result(attempt=1), result(status="passed", attempt=2)]
    ).json_body["results"]

    assert outcomes[0]["ticket"] is None
    assert outcomes[0]["flaky"] is True
    assert outcomes[1]["ticket"] is None
    listed = api.get("/v1/projects/DEMO/tickets", headers=demo.auth("viewer")).json_body
    assert listed["items"] == []


def test_a_project_can_choose_that_flaky_failures_open_drafts(api: Any, demo: Demo) -> None:
    bootstrap.container().repos.projects.create(
        {"key": "STRICT", "name": "Strict", "flakyOpensDraft": True}
    )
    key = bootstrap.container().access.issue_key(
        "STRICT", __import__("chalicelib.domain.roles", fromlist=["Role"]).Role.CI, None, None
    )["key"]
    response = api.post(
        "/v1/projects/STRICT/results",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        body=report([result(attempt=1), result(status="passed", attempt=2)]),
    )
    assert response.json_body["results"][0]["ticket"]["status"] == "draft"


def test_a_failure_after_the_draft_ended_opens_a_new_draft(api: Any, demo: Demo) -> None:
    first = post_results(api, demo, [result()]).json_body["results"][0]["ticket"]["id"]
    assert bootstrap.container().decisions.expire(first) is True

    second = post_results(api, demo, [result()], run_id="build-813").json_body["results"][0]
    assert second["ticket"]["id"] != first
    assert second["ticket"]["merged"] is False
    expired = api.get(f"/v1/tickets/{first}", headers=demo.auth("viewer")).json_body
    assert expired["status"] == "expired"
    assert [h["status"] for h in expired["history"]] == ["draft", "expired"]
    scenario = api.get(
        "/v1/projects/DEMO/scenarios/checkout.pay-by-card", headers=demo.auth("viewer")
    ).json_body
    assert {t["id"]: t["status"] for t in scenario["tickets"]} == {
        first: "expired",
        second["ticket"]["id"]: "draft",
    }


def test_each_new_draft_starts_its_workflow_which_waits_for_the_lead(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    from chalicelib.handlers import handle_workflow_tasks

    ticket_id = post_results(api, demo, [result()]).json_body["results"][0]["ticket"]["id"]
    assert start_workflows(aws["workflowQueueUrl"]) == 1  # queued by the request path
    sfn = boto3.client("stepfunctions")
    arn = aws["stateMachineArn"].replace(":stateMachine:", ":execution:") + f":{ticket_id}"
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    sqs = boto3.client("sqs")
    messages = []
    for _ in range(20):
        messages = sqs.receive_message(
            QueueUrl=aws["workflowQueueUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if messages:
            break
        __import__("time").sleep(0.2)
    [message] = messages
    task = json.loads(message["Body"])
    assert task["type"] == "await_decision"
    assert task["ticketId"] == ticket_id

    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "body": message["Body"],
                "receiptHandle": message["ReceiptHandle"],
            }
        ]
    }
    assert handle_workflow_tasks(event) == {"batchItemFailures": []}
    stored = bootstrap.container().repos.tickets.get(ticket_id)
    assert stored.task_token == task["taskToken"]
    assert stored.workflow_state == "awaiting_decision"


def test_reporting_needs_a_reporting_key_of_the_project(api: Any, demo: Demo) -> None:
    body = report([result()])
    viewer = api.post("/v1/projects/DEMO/results", headers=demo.auth("viewer"), body=body)
    other = api.post("/v1/projects/DEMO/results", headers=demo.auth("other_ci"), body=body)
    anonymous = api.post(
        "/v1/projects/DEMO/results", headers={"Content-Type": "application/json"}, body=body
    )
    forged = api.post(
        "/v1/projects/DEMO/results",
        headers={"Content-Type": "application/json", "Authorization": "Bearer fbk_not-a-key"},
        body=body,
    )

    assert (viewer.status_code, viewer.json_body["error"]["code"]) == (403, "forbidden")
    assert other.status_code == 403
    assert (anonymous.status_code, anonymous.json_body["error"]["code"]) == (401, "unauthenticated")
    assert forged.status_code == 401
    listed = api.get("/v1/projects/DEMO/tickets", headers=demo.auth("viewer")).json_body
    assert listed["items"] == []


def test_a_ticket_of_another_project_is_not_found(api: Any, demo: Demo) -> None:
    ticket_id = post_results(api, demo, [result()]).json_body["results"][0]["ticket"]["id"]
    other = api.get(
        f"/v1/tickets/{ticket_id}", headers={"Authorization": f"Bearer {demo.keys['other_ci']}"}
    )
    assert other.status_code == 404


BAD_REQUESTS = [
    pytest.param(
        {"Content-Type": None},
        report([result()]),
        415,
        "unsupported_media_type",
        "Content-Type",
        id="missing content type",
    ),
    pytest.param(
        {"Content-Type": "text/plain"},
        report([result()]),
        415,
        "unsupported_media_type",
        None,
        id="wrong content type",
    ),
    pytest.param({}, '{"run": ', 400, "malformed_request", "body", id="malformed json"),
    pytest.param({}, "", 400, "malformed_request", "body", id="empty body"),
    pytest.param(
        {},
        report([result(status="broken")]),
        422,
        "validation_error",
        "results[0].status",
        id="unknown status",
    ),
    pytest.param(
        {},
        report([result(attempt="first")]),
        422,
        "validation_error",
        "results[0].attempt",
        id="mistyped field",
    ),
    pytest.param(
        {}, json.dumps({"results": [result()]}), 422, "validation_error", "run", id="missing run"
    ),
    pytest.param(
        {},
        report([{k: v for k, v in result().items() if k != "testCaseId"}]),
        422,
        "validation_error",
        "results[0].testCaseId",
        id="missing test case id",
    ),
    pytest.param(
        {},
        report([result(reportUrl="javascript:alert(1)")]),
        422,
        "validation_error",
        "results[0].reportUrl",
        id="not a url",
    ),
    pytest.param({}, report([]), 422, "validation_error", "results", id="no results"),
    pytest.param({}, json.dumps([1, 2]), 422, "validation_error", "body", id="not an object"),
    pytest.param(
        {},
        report([result(actual="x" * 1_100_000)]),
        413,
        "payload_too_large",
        "body",
        id="oversized body",
    ),
]


@pytest.mark.parametrize(("headers", "body", "status", "code", "field"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    headers: dict,
    body: str,
    status: int,
    code: str,
    field: str | None,
) -> None:
    table = boto3.client("dynamodb")
    before = table.scan(TableName=aws["table"], Select="COUNT")["Count"]
    sent = {**demo.auth("ci"), **headers}
    response = api.post(
        "/v1/projects/DEMO/results",
        headers={k: v for k, v in sent.items() if v is not None},
        body=body,
    )

    assert response.status_code == status
    error = response.json_body["error"]
    assert error["code"] == code
    assert error["message"]
    if field:
        assert field in [d["field"] for d in error["details"]]
    assert table.scan(TableName=aws["table"], Select="COUNT")["Count"] == before


def test_an_unknown_project_is_refused(api: Any, demo: Demo) -> None:
    response = api.post(
        "/v1/projects/NOPE/results", headers=demo.auth("ci"), body=report([result()])
    )
    assert response.status_code == 403
