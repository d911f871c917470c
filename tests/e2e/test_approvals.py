"""The lead's decision through the running local stack (tests/e2e/conftest.py), over HTTP: the
Slack message's signed links (a page that changes nothing, a form that decides once), refused
links, the API decision and Slack's buttons. tests/integration/test_decisions.py has the same
flows in-process."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from chalicelib.domain.approval_tokens import ApprovalSigner
from tests.e2e.conftest import Api, assert_error, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# An approved draft goes on to Jira by itself (approved -> jira_pending -> open, or jira_failed),
# so a read right after the decision may already see a later status.
APPROVED_ONWARD = ("approved", "jira_pending", "open", "jira_failed")


# --- helpers -------------------------------------------------------------------------------------


def report_failure(api: Api, scenario: str, run_id: str) -> str:
    """One failed test case of module checkout; the id of the draft it opened."""
    report = {
        "run": {
            "id": run_id,
            "name": "nightly regression",
            "branch": "main",
            "ciUrl": f"https://ci.example.com/{run_id}",
            "environment": "staging",
        },
        "results": [
            {
                "scenarioId": scenario,
                "testCaseId": "TC-PAY-001",
                "title": "Pay by card",
                "module": "checkout",
                "status": "failed",
                "expected": "Order confirmed",
                "actual": "HTTP 500 on /pay",
                "reporter": "alice@example.com",
                "error": {"type": "AssertionError", "message": "expected 200, got 500"},
            }
        ],
    }
    response = api.post(f"/v1/projects/{api.project}/results", json=report, role="ci")
    assert response.status_code == 200, response.text
    ticket = response.json()["results"][0]["ticket"]
    assert ticket["status"] == "draft" and ticket["merged"] is False
    return str(ticket["id"])


def outbox(stack: dict[str, Any]) -> Path:
    path = Path(stack["slackOutbox"])
    return path if path.is_absolute() else ROOT / path


def slack_links(stack: dict[str, Any], ticket_id: str) -> dict[str, str] | None:
    """The Approve/Reject links of the draft's actions block, once its message was sent (alone
    or in a digest)."""
    path = outbox(stack)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in lines:
        for block in json.loads(line).get("blocks", []):
            if block.get("type") == "actions" and block.get("block_id") == f"decide:{ticket_id}":
                by_action = {e["action_id"]: e for e in block["elements"]}
                return {
                    "approve": by_action["open_approve"]["url"],
                    "reject": by_action["open_reject"]["url"],
                    "button": by_action["approve"]["value"],
                    "message": line,
                }
    return None


def links_for(stack: dict[str, Any], aws: Any, ticket_id: str) -> dict[str, str]:
    """The draft's links from its Slack message; if none came within 15 s, fail saying where
    the draft waits (the lead's digest outbox and window, read from the table)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        links = slack_links(stack, ticket_id)
        if links:
            return links
        time.sleep(0.2)
    lead = stack["modules"]["checkout"]["lead"]
    dynamodb = aws("dynamodb")
    queued = dynamodb.query(
        TableName=stack["table"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{lead}"}},
    )["Items"]
    window = dynamodb.get_item(
        TableName=stack["table"], Key={"pk": {"S": f"DIGEST#{lead}"}, "sk": {"S": "WINDOW"}}
    ).get("Item")
    pytest.fail(
        f"no Slack message for {ticket_id} within 15 s (now {int(time.time())}); "
        f"{lead}'s outbox: {[i['sk']['S'] for i in queued]}; digest window: {window}"
    )


def token_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def approval_url(api: Api, token: str) -> str:
    return f"{api.base}/v1/approvals/{token}"


def ticket_of(api: Api, ticket_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def decide_by_link(url: str, decision: str, reason: str | None = None) -> requests.Response:
    """Post the page's form as a browser would: with the CSRF token the page carries (a link
    that is forged, expired or used has no form: post without one)."""
    import re

    page = requests.get(url, timeout=30).text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    form = {"decision": decision, **({"reason": reason} if reason is not None else {})}
    if found:
        form["csrf"] = found.group(1)
    return requests.post(url, data=form, timeout=30)


def assert_page(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    return response.text


def assert_approved_by_lead(api: Api, ticket_id: str) -> dict[str, Any]:
    """The draft was approved, once, by the module's lead; what followed is Jira's part."""
    ticket = ticket_of(api, ticket_id)
    assert ticket["status"] in APPROVED_ONWARD, ticket["history"]
    decisions = [h for h in ticket["history"] if h["status"] != "draft"]
    assert [h["status"] for h in ticket["history"][:2]] == ["draft", "approved"]
    assert decisions[0]["by"] == "lead@example.com"
    assert [h["status"] for h in decisions].count("approved") == 1
    return ticket


def finished_execution(
    aws: Any, stack: dict[str, Any], ticket_id: str, reached: str = ""
) -> dict[str, Any]:
    """The ticket's Step Functions execution (named after the ticket) once it ended or entered
    the state `reached`, or as it stands after 15 s: its status and the states it entered."""
    sfn = aws("stepfunctions")
    arn = stack["stateMachineArn"].replace(":stateMachine:", ":execution:") + f":{ticket_id}"
    deadline = time.monotonic() + 15
    while True:
        status = str(sfn.describe_execution(executionArn=arn)["status"])
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        entered = [
            e["stateEnteredEventDetails"]["name"]
            for e in history
            if "stateEnteredEventDetails" in e
        ]
        if status != "RUNNING" or (reached and reached in entered) or (time.monotonic() > deadline):
            events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            states = [
                e["stateEnteredEventDetails"]["name"]
                for e in events
                if "stateEnteredEventDetails" in e
            ]
            return {"status": status, "states": states}
        time.sleep(0.2)


def slack_signed(body: str, secret: str, timestamp: str | None = None) -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {**FORM, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def button_click(ticket_id: str, user: str) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "lead"},
        "actions": [
            {
                "block_id": f"decide:{ticket_id}",
                "action_id": "approve",
                "value": ticket_id,
                "type": "button",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


# --- the signed links ----------------------------------------------------------------------------


def test_a_lead_approves_from_the_slack_link_after_seeing_the_draft(
    api: Api, uid: str, aws: Any, stack: dict[str, Any]
) -> None:
    scenario = f"checkout.approve-{uid}"
    ticket_id = report_failure(api, scenario, f"appr-{uid}")
    links = links_for(stack, aws, ticket_id)
    assert links["button"] == ticket_id
    assert scenario in links["message"] and "HTTP 500 on /pay" in links["message"]
    assert urlsplit(links["approve"]).path.startswith("/v1/approvals/")

    # Opening the link (a browser, or Slack's link expander) shows the draft and decides nothing.
    for agent in (BROWSER, SLACKBOT):
        page = requests.get(links["approve"], headers={"User-Agent": agent}, timeout=30)
        html = assert_page(page, 200)
        for shown in (ticket_id, scenario, "TC-PAY-001", "Order confirmed", "HTTP 500 on /pay"):
            assert shown in html
        assert "<form" in html
        assert ticket_of(api, ticket_id)["status"] == "draft"

    decided = decide_by_link(links["approve"], "approve")
    assert "The draft is now approved (by lead@example.com)" in assert_page(decided, 200)
    assert_approved_by_lead(api, ticket_id)
    # Approved, the execution goes on to Jira and then waits for what Jira does with the issue.
    execution = finished_execution(aws, stack, ticket_id, reached="AwaitFeedback")
    assert execution["states"][-3:] == ["Decided", "Approved", "AwaitFeedback"], execution
    assert execution["status"] == "RUNNING"
    assert ticket_of(api, ticket_id)["status"] == "open"


def test_a_rejection_needs_a_reason(api: Api, uid: str, aws: Any, stack: dict[str, Any]) -> None:
    ticket_id = report_failure(api, f"checkout.reject-{uid}", f"rej-{uid}")
    reject = links_for(stack, aws, ticket_id)["reject"]

    for missing in (None, "   "):
        html = assert_page(decide_by_link(reject, "reject", missing), 422)
        assert "reason" in html and "<form" in html  # the page again, saying what is missing
        assert ticket_of(api, ticket_id)["status"] == "draft"

    html = assert_page(decide_by_link(reject, "reject", "staging was down"), 200)
    assert "rejected" in html
    ticket = ticket_of(api, ticket_id)
    assert ticket["status"] == "rejected"
    assert [h["status"] for h in ticket["history"]] == ["draft", "rejected"]
    assert ticket["history"][-1]["reason"] == "staging was down"
    assert ticket["history"][-1]["by"] == "lead@example.com"
    execution = finished_execution(aws, stack, ticket_id)
    assert (execution["status"], execution["states"][-1]) == ("SUCCEEDED", "Rejected"), execution


def test_used_forged_expired_or_foreign_links_change_nothing(
    api: Api, uid: str, aws: Any, stack: dict[str, Any]
) -> None:
    ticket_id = report_failure(api, f"checkout.refused-{uid}", f"ref-{uid}")
    links = links_for(stack, aws, ticket_id)
    lead = stack["modules"]["checkout"]["lead"]
    signer = ApprovalSigner.from_spec(stack["approvalKeys"])
    now = int(time.time())
    expired, _ = signer.issue(ticket_id, lead, now - 5)
    foreign, _ = signer.issue(ticket_id, "someone-else@example.com", now + 600)
    version, kid, payload, signature = token_of(links["approve"]).split(".")
    # The signature's first character: its last one carries bits that decoding ignores.
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    forged = ".".join((version, kid, payload, flipped))
    before = ticket_of(api, ticket_id)
    assert before["status"] == "draft"

    for token, status in ((forged, 403), (expired, 410), (foreign, 403)):
        url = approval_url(api, token)
        assert "Nothing was changed" in assert_page(requests.get(url, timeout=30), status)
        assert "Nothing was changed" in assert_page(decide_by_link(url, "approve"), status)
        after = ticket_of(api, ticket_id)
        assert (after["status"], after["history"]) == ("draft", before["history"]), token

    # Decided (rejected: a final status, so nothing else moves the ticket meanwhile), the same
    # link again and the draft's other link are refused.
    assert_page(decide_by_link(links["reject"], "reject", "not a defect"), 200)
    decided = ticket_of(api, ticket_id)
    assert [h["status"] for h in decided["history"]] == ["draft", "rejected"]

    replay = decide_by_link(links["reject"], "reject", "again")
    other = decide_by_link(links["approve"], "approve")
    for response in (replay, other):
        assert "Nothing was changed" in assert_page(response, 409)
    assert_page(requests.get(links["approve"], timeout=30), 409)
    after = ticket_of(api, ticket_id)
    assert (after["status"], after["history"]) == ("rejected", decided["history"])


# --- the API and Slack's buttons -----------------------------------------------------------------


def test_the_modules_lead_decides_through_the_api_a_tester_may_not(api: Api, uid: str) -> None:
    ticket_id = report_failure(api, f"checkout.api-{uid}", f"api-{uid}")
    path = f"/v1/tickets/{ticket_id}/decision"

    assert_error(api.post(path, json={"decision": "approve"}, role="tester"), 403)
    assert ticket_of(api, ticket_id)["status"] == "draft"

    approved = api.post(path, json={"decision": "approve"}, role="lead")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert_approved_by_lead(api, ticket_id)


def test_slack_buttons_are_verified_and_approve(api: Api, uid: str, stack: dict[str, Any]) -> None:
    ticket_id = report_failure(api, f"checkout.button-{uid}", f"btn-{uid}")
    url = f"{api.base}/v1/slack/interactions"
    secret = stack["slackSigningSecret"]
    lead_user = stack["modules"]["checkout"]["slackUserId"]
    body = button_click(ticket_id, lead_user)

    malformed = {**slack_signed(body, secret), "X-Slack-Request-Timestamp": "soon"}
    wrong = slack_signed(body, "not-the-signing-secret")
    for headers in (malformed, wrong):
        response = requests.post(url, data=body, headers=headers, timeout=30)
        assert_error(response, 401, "unauthenticated")
        assert ticket_of(api, ticket_id)["status"] == "draft"

    response = requests.post(url, data=body, headers=slack_signed(body, secret), timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "approved"
    assert_approved_by_lead(api, ticket_id)


def test_a_decision_right_after_the_report_still_reaches_jira(api: Api, uid: str) -> None:
    """The lead can be faster than the workflow asking (its await_decision message still on
    the queue): the recorded decision is handed over whenever the workflow asks."""
    tickets = [
        report_failure(api, f"checkout.quick-{uid}-{i}", f"quick-{uid}-{i}") for i in range(6)
    ]
    for ticket_id in tickets:
        response = api.post(
            f"/v1/tickets/{ticket_id}/decision",
            headers={"Authorization": f"Bearer {api.keys['lead']}"},
            json={"decision": "approve"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
    for ticket_id in tickets:
        wait_for(lambda t=ticket_id: ticket_of(api, t)["status"] == "open", timeout=30)
