"""Reporting results through the public API of the running local stack (tests/e2e/conftest.py):
what a CI job, a test runner and a QA engineer see, end to end, including the asynchronous paths
(S3 upload -> SQS -> handler, draft -> Step Functions -> SQS -> handler, poison message -> DLQ)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Api, assert_error, wait_for

pytestmark = pytest.mark.e2e


# --- helpers -------------------------------------------------------------------------------------


def run_info(run_id: str) -> dict[str, Any]:
    return {
        "id": run_id,
        "name": "nightly regression",
        "build": run_id.rsplit("-", 1)[-1],
        "branch": "main",
        "ciUrl": f"https://ci.example.com/{run_id}",
        "environment": "staging",
    }


def result(scenario: str, test_case: str, status: str, **extra: Any) -> dict[str, Any]:
    body = {
        "scenarioId": scenario,
        "testCaseId": test_case,
        "title": "Pay by card",
        "module": "checkout",
        "status": status,
        "expected": "Order confirmed",
        "reporter": "alice@example.com",
        "durationMs": 5120,
    }
    if status == "failed":
        body.update(
            actual="HTTP 500 on /pay",
            error={"type": "AssertionError", "message": "expected 200, got 500", "trace": "..."},
        )
    body.update(extra)
    return body


def scenario_missing(api: Api, scenario: str) -> bool:
    response = api.get(f"/v1/projects/{api.project}/scenarios/{scenario}")
    return response.status_code == 404


def list_all_tickets(api: Api, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.get(f"/v1/projects/{api.project}/tickets", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page.get("next")
        if not cursor:
            break
    return items


def junit_report(classname: str, *, failing: int = 1, passing: int = 1, pad: int = 0) -> bytes:
    cases = []
    for n in range(failing):
        cases.append(
            f'<testcase classname="{classname}" name="test_fails_{n}" time="0.5">'
            # a declared scenario: every failing test case joins one draft
            f'<properties><property name="test_case_id" value="TC-{classname}-F{n}"/>'
            f'<property name="scenario" value="{classname}"/></properties>'
            f'<failure message="AssertionError: total is 100.00, expected 80.00">'
            f"Traceback ...\nAssertionError</failure></testcase>"
        )
    filler = "x" * pad
    for n in range(passing):
        out = f"<system-out>{filler}</system-out>" if pad else ""
        cases.append(
            f'<testcase classname="{classname}.ok" name="test_ok_{n}" time="0.01">{out}</testcase>'
        )
    suite = (
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="pytest">'
        f'<testsuite name="{classname}" tests="{failing + passing}" failures="{failing}">'
        '<properties><property name="reporter" value="qa-bot@example.com"/></properties>'
        + "".join(cases)
        + "</testsuite></testsuites>"
    )
    return suite.encode()


# --- the walk-through ----------------------------------------------------------------------------


def test_nightly_run_opens_one_draft_with_every_occurrence(api: Api, uid: str) -> None:
    scenario = f"checkout.pay-by-card-{uid}"
    passing = f"checkout.cart-{uid}"
    report = {
        "run": run_info(f"build-{uid}"),
        "results": [
            result(scenario, "TC-PAY-001", "failed", reporter="alice@example.com"),
            result(scenario, "TC-PAY-002", "failed", reporter="bob@example.com"),
            result(passing, "TC-CART-001", "passed"),
        ],
    }
    response = api.post(f"/v1/projects/{api.project}/results", json=report)
    assert response.status_code == 200, response.text
    outcomes = response.json()["results"]
    assert len(outcomes) == 3
    first, second, third = (o["ticket"] for o in outcomes)
    assert first["status"] == "draft" and first["merged"] is False
    assert second == {"id": first["id"], "status": "draft", "merged": True}
    assert third is None
    assert len({o["executionId"] for o in outcomes}) == 3
    ticket_id = first["id"]

    ticket = api.get(f"/v1/tickets/{ticket_id}").json()
    assert ticket["id"] == ticket_id
    assert ticket["project"] == api.project
    assert ticket["status"] == "draft"
    assert ticket["scenarioId"] == scenario
    assert ticket["module"] == "checkout"
    assert ticket["occurrences"] == 2
    assert sorted(ticket["reporters"]) == ["alice@example.com", "bob@example.com"]
    assert sorted(e["testCaseId"] for e in ticket["executions"]) == ["TC-PAY-001", "TC-PAY-002"]
    assert {e["runId"] for e in ticket["executions"]} == {f"build-{uid}"}
    assert [h["status"] for h in ticket["history"]] == ["draft"]
    assert ticket["jira"] is None
    assert "taskToken" not in ticket

    drafts = list_all_tickets(api, status="draft")
    assert ticket_id in {t["id"] for t in drafts}
    assert all(t["status"] == "draft" for t in drafts)
    in_module = list_all_tickets(api, status="draft", module="checkout")
    assert ticket_id in {t["id"] for t in in_module}

    view = api.get(f"/v1/projects/{api.project}/scenarios/{scenario}").json()
    assert view["id"] == scenario
    assert view["status"] == "failing"
    assert [(t["id"], t["status"]) for t in view["tickets"]] == [(ticket_id, "draft")]
    assert set(view["testCases"]) == {"TC-PAY-001", "TC-PAY-002"}
    assert view["lastExecution"]["runId"] == f"build-{uid}"
    passed = api.get(f"/v1/projects/{api.project}/scenarios/{passing}").json()
    assert passed["status"] == "passed" and passed["tickets"] == []

    # The next night the scenario fails again: the same draft gets the occurrence.
    again = {
        "run": run_info(f"build-{uid}-2"),
        "results": [result(scenario, "TC-PAY-001", "failed")],
    }
    response = api.post(f"/v1/projects/{api.project}/results", json=again, role="tester")
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["ticket"] == {
        "id": ticket_id,
        "status": "draft",
        "merged": True,
    }
    assert api.get(f"/v1/tickets/{ticket_id}").json()["occurrences"] == 3

    # A retried request (same run, same test cases) records nothing twice.
    response = api.post(f"/v1/projects/{api.project}/results", json=report)
    assert response.status_code == 200, response.text
    assert [o["ticket"] and o["ticket"]["id"] for o in response.json()["results"]] == [
        ticket_id,
        ticket_id,
        None,
    ]
    assert api.get(f"/v1/tickets/{ticket_id}").json()["occurrences"] == 3


def test_junit_report_files_its_failures(api: Api, uid: str) -> None:
    classname = f"checkout.payments{uid}"
    body = junit_report(classname, failing=1, passing=2)
    response = api.post(
        f"/v1/projects/{api.project}/runs/junit-{uid}/junit",
        params={"name": "nightly junit", "branch": "main"},
        data=body,
        headers={"Content-Type": "application/xml"},
    )
    assert response.status_code == 200, response.text
    outcomes = response.json()["results"]
    assert len(outcomes) == 3
    drafts = [o["ticket"] for o in outcomes if o["ticket"]]
    assert len(drafts) == 1 and drafts[0]["status"] == "draft" and not drafts[0]["merged"]
    ticket = api.get(f"/v1/tickets/{drafts[0]['id']}").json()
    assert ticket["scenarioId"] == classname
    assert ticket["testCaseId"] == f"TC-{classname}-F0"
    assert ticket["reporters"] == ["qa-bot@example.com"]
    assert "80.00" in json.dumps(ticket)


# --- bad input: the contract's error shape, and nothing changes ----------------------------------


def test_bad_reports_are_refused_and_change_nothing(api: Api, uid: str) -> None:
    scenario = f"checkout.refused-{uid}"
    path = f"/v1/projects/{api.project}/results"
    good = {"run": run_info(f"bad-{uid}"), "results": [result(scenario, "TC-1", "failed")]}
    raw = json.dumps(good).encode()

    # no Content-Type
    assert_error(api.post(path, data=raw), 415)
    # a Content-Type that is not JSON
    assert_error(api.post(path, data=raw, headers={"Content-Type": "text/plain"}), 415)
    # malformed JSON
    malformed = api.post(path, data=raw[:-7], headers={"Content-Type": "application/json"})
    assert_error(malformed, 400)
    # an unknown status, next to a valid result: neither is recorded
    invalid = {
        "run": good["run"],
        "results": [result(scenario, "TC-1", "exploded"), result(scenario, "TC-2", "failed")],
    }
    error = assert_error(api.post(path, json=invalid), 422, "validation_error")
    fields = {d["field"]: d["problem"] for d in error["details"]}
    assert "results[0].status" in fields
    assert "passed" in fields["results[0].status"] and "failed" in fields["results[0].status"]
    # a required field missing
    missing = {"run": good["run"], "results": [{"scenarioId": scenario, "status": "failed"}]}
    error = assert_error(api.post(path, json=missing), 422, "validation_error")
    assert "results[0].testCaseId" in {d["field"] for d in error["details"]}
    # a viewer may read but not report
    assert_error(api.post(path, json=good, role="viewer"), 403)
    assert_error(api.post(path, json=good, role="lead"), 403)
    # no key, a bad key
    assert_error(api.post(path, json=good, role=None), 401)
    bad_key = {"Authorization": "Bearer fbk_not-a-key"}
    assert_error(api.post(path, json=good, role=None, headers=bad_key), 401)
    # another project
    other = api.post("/v1/projects/NOPE/results", json=good)
    assert other.status_code in (403, 404), other.text
    assert_error(other, other.status_code)
    # too large (the API takes 1 MB of JSON; larger reports go through uploads)
    big = {**good, "padding": "x" * (1024 * 1024 + 1)}
    assert_error(api.post(path, json=big), 413)

    assert scenario_missing(api, scenario)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<testsuite name="s"><testcase classname="checkout.xxe" name="t">
<failure message="&xxe;">&xxe;</failure></testcase></testsuite>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuite name="s"><testcase classname="checkout.lol" name="t">
<failure message="&lol3;">&lol3;</failure></testcase></testsuite>"""


@pytest.mark.parametrize("body", [XXE, BILLION_LAUGHS, b"<testsuite><testcase"], ids=str)
def test_hostile_or_broken_junit_is_refused(api: Api, uid: str, body: bytes) -> None:
    path = f"/v1/projects/{api.project}/runs/evil-{uid}/junit"
    response = api.post(path, data=body, headers={"Content-Type": "application/xml"})
    error = assert_error(response, 400)
    assert "passwd" not in json.dumps(error) and "root:" not in response.text
    assert scenario_missing(api, "checkout.xxe") and scenario_missing(api, "checkout.lol")


def test_junit_needs_xml_content_type(api: Api, uid: str) -> None:
    body = junit_report(f"checkout.ctype{uid}")
    path = f"/v1/projects/{api.project}/runs/ctype-{uid}/junit"
    assert_error(api.post(path, data=body, headers={"Content-Type": "text/plain"}), 415)
    assert_error(api.post(path, data=body, headers={"Content-Type": "application/json"}), 415)
    assert scenario_missing(api, f"checkout.ctype{uid}")


# --- concurrency (before the large upload: its change stream keeps the stack busy for a while) -


def test_concurrent_failures_of_one_scenario_share_one_draft(api: Api, uid: str) -> None:
    scenario = f"checkout.concurrent-{uid}"
    reporters = [f"tester{n}@example.com" for n in range(20)]

    def report(n: int) -> requests.Response:
        body = {
            "run": run_info(f"conc-{uid}-{n}"),
            "results": [result(scenario, "TC-CONC-1", "failed", reporter=reporters[n])],
        }
        # 20 at once on one serialised moto server: generous on a loaded machine
        return api.post(f"/v1/projects/{api.project}/results", json=body, timeout=180)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(report, range(20)))
    for response in responses:
        assert response.status_code == 200, response.text
    tickets = [r.json()["results"][0]["ticket"] for r in responses]
    assert len({t["id"] for t in tickets}) == 1
    assert sum(1 for t in tickets if not t["merged"]) == 1
    ticket_id = tickets[0]["id"]

    ticket = api.get(f"/v1/tickets/{ticket_id}").json()
    assert ticket["occurrences"] == 20
    assert len(ticket["executions"]) == 20
    assert sorted(ticket["reporters"]) == sorted(reporters)
    view = api.get(f"/v1/projects/{api.project}/scenarios/{scenario}").json()
    assert [t["id"] for t in view["tickets"]] == [ticket_id]


# --- large reports: presigned upload -> S3 -> SQS -> handler -------------------------------------


def test_large_report_goes_through_an_upload(api: Api, uid: str) -> None:
    classname = f"checkout.bulk{uid}"
    # Over the synchronous endpoint's 5 MB limit: refused there, accepted as an upload.
    body = junit_report(classname, failing=3, passing=600, pad=9_000)
    assert len(body) > 5 * 1024 * 1024
    sync = api.post(
        f"/v1/projects/{api.project}/runs/bulk-{uid}/junit",
        data=body,
        headers={"Content-Type": "application/xml"},
    )
    assert_error(sync, 413)
    assert scenario_missing(api, classname)

    response = api.post(
        f"/v1/projects/{api.project}/uploads",
        json={"run": run_info(f"bulk-{uid}"), "format": "junit", "size": len(body)},
    )
    assert response.status_code == 201, response.text
    upload = response.json()
    assert set(upload) >= {"uploadId", "url", "fields"}
    progress_path = f"/v1/projects/{api.project}/uploads/{upload['uploadId']}"
    assert api.get(progress_path).json()["status"] == "waiting_for_upload"

    stored = requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("report.xml", body, "application/xml")},
        timeout=60,
    )
    assert stored.status_code in (200, 201, 204), stored.text

    def completed() -> dict[str, Any] | None:
        progress = api.get(progress_path).json()
        assert progress["status"] != "failed", progress
        return progress if progress["status"] == "completed" else None

    # correctness, not speed (bench.junit_upload times it): generous on a loaded 2-core machine
    progress = wait_for(completed, timeout=180)
    assert progress["total"] == 603 and progress["processed"] == 603
    assert progress["drafts"] == 1 and progress["merged"] == 2
    scenario = api.get(f"/v1/projects/{api.project}/scenarios/{classname}").json()
    assert scenario["status"] == "failing"
    assert len(scenario["tickets"]) == 1 and scenario["tickets"][0]["occurrences"] == 3


# --- the ticket workflow -------------------------------------------------------------------------


def test_a_new_draft_starts_its_workflow_and_waits_for_the_decision(
    api: Api, uid: str, aws: Any, stack: dict[str, Any]
) -> None:
    scenario = f"checkout.workflow-{uid}"
    report = {"run": run_info(f"wf-{uid}"), "results": [result(scenario, "TC-WF-1", "failed")]}
    response = api.post(f"/v1/projects/{api.project}/results", json=report)
    assert response.status_code == 200, response.text
    ticket_id = response.json()["results"][0]["ticket"]["id"]

    sfn = aws("stepfunctions")
    machine = stack.get("stateMachineArn") or next(
        m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
    )
    execution_arn = machine.replace(":stateMachine:", ":execution:") + f":{ticket_id}"
    execution = wait_for(lambda: _describe(sfn, execution_arn), timeout=5)
    assert execution["name"] == ticket_id
    assert execution["status"] == "RUNNING"
    assert json.loads(execution["input"])["ticketId"] == ticket_id

    # The workflow handed its task token to on_workflow_task through the workflow queue.
    def awaiting() -> dict[str, Any] | None:
        ticket = api.get(f"/v1/tickets/{ticket_id}").json()
        return ticket if ticket.get("workflowState") == "awaiting_decision" else None

    ticket = wait_for(awaiting, timeout=10)
    assert ticket["status"] == "draft"
    assert "taskToken" not in ticket
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"


def _describe(sfn: Any, execution_arn: str) -> dict[str, Any] | None:
    try:
        return dict(sfn.describe_execution(executionArn=execution_arn))
    except sfn.exceptions.ExecutionDoesNotExist:
        return None


# --- a poison message ends in the dead-letter queue ----------------------------------------------


def test_a_message_the_handler_cannot_process_ends_in_the_dlq(
    aws: Any, stack: dict[str, Any], uid: str
) -> None:
    sqs = aws("sqs")
    queue_url = sqs.get_queue_url(QueueName="failbridge-reports")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="failbridge-reports-dlq")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":failbridge-reports-dlq")
    max_receives = int(redrive["maxReceiveCount"])
    # Redeliveries come after the visibility timeout (360 s): shorten it while this test runs.
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "1"})
    try:
        # moto reads the timeout when a ReceiveMessage starts: let the pump's current long poll
        # (1 s) end, or it would take the message with the old timeout.
        time.sleep(1.5)
        body = f"this is not an S3 notification {uid}"
        sent = sqs.send_message(QueueUrl=queue_url, MessageBody=body)

        def in_dlq() -> dict[str, Any] | None:
            got = sqs.receive_message(
                QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            )
            for message in got.get("Messages", []):
                if message["Body"] == body:
                    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                    return dict(message)
            return None

        dead = wait_for(in_dlq, timeout=10 * max_receives + 30, every=0)
    finally:
        # All that was set, Policy included: moto drops a queue's Policy on any attribute change.
        restore = {k: attributes[k] for k in ("VisibilityTimeout", "Policy") if k in attributes}
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=restore)
    assert dead["MessageId"] == sent["MessageId"]
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) >= max_receives
