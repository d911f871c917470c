"""The lead's decision: Slack messages with signed links, the confirmation page, the form, Slack
buttons and the API, with the ticket workflow (the state machine file from infra/) executing."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3

from chalicelib import bootstrap
from chalicelib.domain.approval_tokens import ApprovalSigner
from chalicelib.handlers import handle_workflow_tasks
from tests.integration.conftest import (
    APPROVAL_KEYS,
    SLACK_SIGNING_SECRET,
    Demo,
    drain,
    report,
    result,
    start_workflows,
)


def report_failure(api: Any, demo: Demo, **overrides: Any) -> str:
    response = api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report([result(**overrides)], run_id=overrides.pop("run", "b-1")),
    )
    return str(response.json_body["results"][0]["ticket"]["id"])


def notify(aws: dict[str, Any]) -> None:
    """The workflow asks (await_decision), the digest window closes (flush): Slack is sent to."""
    drain(aws["workflowQueueUrl"], handle_workflow_tasks, wait=1.0)
    drain(aws["workflowQueueUrl"], handle_workflow_tasks, wait=1.5)


def links(slack: Any) -> list[dict[str, str]]:
    """Approve/Reject links per draft, in message order, as a lead's Slack shows them."""
    found = []
    for message in slack.messages:
        for block in message["body"]["blocks"]:
            if block["type"] == "actions" and block["block_id"].startswith("decide:"):
                urls = {e["action_id"]: e.get("url") for e in block["elements"]}
                found.append(
                    {
                        "ticket": block["block_id"].split(":", 1)[1],
                        "approve": urls["open_approve"],
                        "reject": urls["open_reject"],
                    }
                )
    return found


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def ticket_of(api: Any, demo: Demo, ticket_id: str) -> dict[str, Any]:
    return dict(api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).json_body)


def execution(
    aws: dict[str, Any], ticket_id: str, until: str = "", timeout: float = 10, reached: str = ""
) -> dict:
    """The ticket's execution: its status and the states it entered, once its status is `until`
    and/or its last state `reached` (or `timeout` passed: the caller's assertion says what)."""
    sfn = boto3.client("stepfunctions")
    arn = aws["stateMachineArn"].replace(":stateMachine:", ":execution:") + f":{ticket_id}"
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        history = sfn.get_execution_history(executionArn=arn)["events"]
        entered = [
            e["stateEnteredEventDetails"]["name"]
            for e in history
            if "stateEnteredEventDetails" in e
        ]
        done = (not until or described["status"] == until) and (
            not reached or entered[-1:] == [reached]
        )
        if done or time.monotonic() > deadline:
            return {"status": described["status"], "states": entered}
        time.sleep(0.1)


def form(decision: str, reason: str = "", link: str = "", **extra: str) -> dict[str, Any]:
    """The approval page's form as a browser posts it, with the CSRF token the page carries
    (bound to the link's token)."""
    import os

    from chalicelib.domain.page_links import PageSigner
    from chalicelib.settings import APPROVAL_KEYS

    token = urlsplit(link).path.rsplit("/", 1)[-1]
    csrf = PageSigner.from_spec(os.environ[APPROVAL_KEYS]).csrf("approval:" + token)
    return {
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "body": urlencode({"decision": decision, "reason": reason, "csrf": csrf, **extra}),
    }


def test_a_lead_approves_from_the_slack_link_after_seeing_what_is_decided(
    api: Any, demo: Demo, aws: dict[str, Any], slack: Any
) -> None:
    ticket_id = report_failure(api, demo)
    notify(aws)
    [message] = slack.messages
    text = json.dumps(message["body"])
    for expected in (
        "Pay by card",
        "checkout.pay-by-card",
        "TC-PAY-001",
        "Order confirmed",
        "HTTP 500 on /pay",
        "alice@example.com",
        "https://ci.example.com/812",
    ):
        assert expected in text
    [link] = links(slack)
    assert link["ticket"] == ticket_id
    assert "taskToken" not in text and "AAAA" not in link["approve"]

    for agent in ("Mozilla/5.0", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"):
        page = api.get(path(link["approve"]), headers={"User-Agent": agent})
        assert page.status_code == 200
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "HTTP 500 on /pay" in page.body.decode()
        assert ticket_of(api, demo, ticket_id)["status"] == "draft"

    decided = api.post(path(link["approve"]), **form("approve", link=link["approve"]))
    assert decided.status_code == 200
    assert "approved" in decided.body.decode()
    ticket = ticket_of(api, demo, ticket_id)
    assert ticket["status"] == "approved"
    assert ticket["history"][-1] | {"at": None} == {
        "at": None,
        "status": "approved",
        "by": "lead@example.com",
        "reason": None,
        "cause": "approve",
    }
    approved = execution(aws, ticket_id, reached="Approved")
    assert (approved["status"], approved["states"][-1]) == ("RUNNING", "Approved")  # Jira next


def test_a_used_expired_forged_or_foreign_link_changes_nothing(
    api: Any, demo: Demo, aws: dict[str, Any], slack: Any
) -> None:
    ticket_id = report_failure(api, demo)
    notify(aws)
    [link] = links(slack)
    token = path(link["approve"]).split("/")[-1].split("?")[0]
    signer = ApprovalSigner.from_spec(APPROVAL_KEYS)
    expired, _ = signer.issue(ticket_id, "lead@example.com", int(time.time()) - 5)
    foreign, _ = signer.issue(ticket_id, "someone-else@example.com", int(time.time()) + 600)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    other_key, _ = ApprovalSigner.from_spec("k1:guessed").issue(
        ticket_id, "lead@example.com", int(time.time()) + 600
    )

    for bad, status in ((expired, 410), (foreign, 403), (forged, 403), (other_key, 403)):
        for response in (
            api.get(f"/v1/approvals/{bad}"),
            api.post(f"/v1/approvals/{bad}", **form("approve")),
        ):
            assert response.status_code == status
            assert "Nothing was changed" in response.body.decode()
    assert ticket_of(api, demo, ticket_id)["status"] == "draft"

    assert (
        api.post(path(link["reject"]), **form("reject", link=link["reject"])).status_code == 422
    )  # no reason
    assert ticket_of(api, demo, ticket_id)["status"] == "draft"
    assert (
        api.post(
            path(link["reject"]), **form("reject", "staging was down", link=link["reject"])
        ).status_code
        == 200
    )
    replay = api.post(path(link["reject"]), **form("reject", "again", link=link["reject"]))
    other = api.post(path(link["approve"]), **form("approve", link=link["approve"]))
    assert (replay.status_code, other.status_code) == (409, 409)
    assert api.get(path(link["approve"])).status_code == 409
    ticket = ticket_of(api, demo, ticket_id)
    assert ticket["status"] == "rejected"
    assert ticket["falsePositive"] is True
    assert [h["status"] for h in ticket["history"]] == ["draft", "rejected"]
    assert ticket["history"][-1]["reason"] == "staging was down"
    assert execution(aws, ticket_id, until="SUCCEEDED")["states"][-1] == "Rejected"


def test_drafts_of_one_lead_from_a_regression_run_arrive_as_one_digest(
    api: Any, demo: Demo, aws: dict[str, Any], slack: Any
) -> None:
    # three root causes: drafts of one root cause would share one digest line (test_root_causes)
    errors = ["the cart is empty", "the price is wrong", "card declined by the bank"]
    failures = [
        result(
            scenarioId=f"checkout.s{i}",
            testCaseId=f"TC-{i}",
            error={"type": "AssertionError", "message": errors[i]},
        )
        for i in range(3)
    ]
    failures.append(result(scenarioId="search.q", module="search", testCaseId="TC-S"))
    api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report(failures))
    notify(aws)

    assert len(slack.messages) == 2
    by_lead = {
        len(links_in): links_in
        for links_in in ([link for link in links_of_message(m)] for m in slack.messages)
    }
    assert sorted(by_lead) == [1, 3]
    assert (
        "3 new draft defects"
        in slack.messages[[len(list(links_of_message(m))) for m in slack.messages].index(3)][
            "body"
        ]["text"]
    )
    tickets = {link["ticket"] for link in by_lead[3]}
    assert len(tickets) == 3
    for link in by_lead[3]:
        assert (
            api.post(path(link["approve"]), **form("approve", link=link["approve"])).status_code
            == 200
        )
    assert {ticket_of(api, demo, t)["status"] for t in tickets} == {"approved"}


def links_of_message(message: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "ticket": b["block_id"].split(":", 1)[1],
            "approve": next(e["url"] for e in b["elements"] if e["action_id"] == "open_approve"),
        }
        for b in message["body"]["blocks"]
        if b["type"] == "actions"
    ]


def test_only_the_modules_lead_or_an_admin_decides_through_the_api(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    ticket_id = report_failure(api, demo)
    body = json.dumps({"decision": "approve"})
    for role in ("tester", "ci", "viewer"):
        assert (
            api.post(
                f"/v1/tickets/{ticket_id}/decision", headers=demo.auth(role), body=body
            ).status_code
            == 403
        )
    wrong_lead = api.post(
        f"/v1/tickets/{ticket_id}/decision", headers=demo.auth("search_lead"), body=body
    )
    assert wrong_lead.status_code == 403
    assert ticket_of(api, demo, ticket_id)["status"] == "draft"
    no_reason = api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "reject"}),
    )
    assert (no_reason.status_code, no_reason.json_body["error"]["details"][0]["field"]) == (
        422,
        "reason",
    )

    approved = api.post(f"/v1/tickets/{ticket_id}/decision", headers=demo.auth("lead"), body=body)
    assert (approved.status_code, approved.json_body["status"]) == (200, "approved")
    again = api.post(f"/v1/tickets/{ticket_id}/decision", headers=demo.auth("admin"), body=body)
    assert again.status_code == 409


def test_a_decision_made_before_the_workflow_asked_is_handed_over_when_it_asks(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    """The await_decision message is late (or redelivered): the recorded decision answers it."""
    ticket_id = report_failure(api, demo)
    api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "approve"}),
    )
    start_workflows(aws["workflowQueueUrl"])  # the queued start, not its await_decision yet
    assert execution(aws, ticket_id)["status"] == "RUNNING"
    drain(aws["workflowQueueUrl"], handle_workflow_tasks, wait=1.0)
    approved = execution(aws, ticket_id, reached="Approved")
    assert (approved["status"], approved["states"][-1]) == ("RUNNING", "Approved")  # Jira next
    assert ticket_of(api, demo, ticket_id)["status"] == "approved"


def test_a_lead_merges_a_duplicate_draft_into_another_ticket(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    keep = report_failure(api, demo, scenarioId="checkout.pay-by-card")
    dup = report_failure(
        api, demo, scenarioId="checkout.pay-by-visa", testCaseId="TC-V", reporter="bob@example.com"
    )
    merged = api.post(
        f"/v1/tickets/{dup}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "merge", "mergeInto": keep}),
    )
    assert merged.status_code == 200
    assert merged.json_body["status"] == "merged"
    assert merged.json_body["mergedInto"] == keep
    kept = ticket_of(api, demo, keep)
    assert kept["occurrences"] == 2
    assert kept["reporters"] == ["alice@example.com", "bob@example.com"]
    assert kept["mergedFrom"] == [dup]

    later = report_failure(
        api,
        demo,
        scenarioId="checkout.pay-by-visa",
        testCaseId="TC-V",
        reporter="carol@example.com",
        run="b-2",
    )
    assert later == keep
    assert ticket_of(api, demo, keep)["occurrences"] == 3
    bad = api.post(
        f"/v1/tickets/{keep}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "merge", "mergeInto": keep}),
    )
    assert bad.status_code == 422


def test_an_undecided_draft_is_reminded_then_expires(
    api: Any, demo: Demo, aws: dict[str, Any], slack: Any
) -> None:
    tickets = bootstrap.container().repos.tickets
    bootstrap.container().repos.projects.create(
        {
            "key": "FAST",
            "name": "Fast",
            "flakyOpensDraft": False,
            "decisionReminderSeconds": 1,
            "decisionRounds": 2,
        }
    )
    access = bootstrap.container().access
    access.put_module("FAST", "checkout", "lead@example.com", "U0LEAD")
    from chalicelib.domain.roles import Role

    key = access.issue_key("FAST", Role.CI, None, None)["key"]
    ticket_id = api.post(
        "/v1/projects/FAST/results",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        body=report([result()]),
    ).json_body["results"][0]["ticket"]["id"]

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        drain(aws["workflowQueueUrl"], handle_workflow_tasks, wait=0.3)
        if tickets.get(ticket_id).status == "expired":
            break
    ticket = tickets.get(ticket_id)
    assert ticket.status == "expired"
    assert ticket.history[-1].reason == "no decision before the deadline"
    texts = [m["body"]["text"] for m in slack.messages]
    assert any(t.startswith("Reminder") for t in texts)
    states = execution(aws, ticket_id, until="SUCCEEDED")["states"]
    assert states.count("AwaitDecision") == 2
    assert states[-1] == "Expired"


def test_slack_being_down_delays_the_message_and_loses_nothing(
    api: Any, demo: Demo, aws: dict[str, Any], slack: Any
) -> None:
    slack.add_fault(503, count=-1)
    report_failure(api, demo)
    drain(aws["workflowQueueUrl"], handle_workflow_tasks, wait=1.0)
    drain(aws["workflowQueueUrl"], handle_workflow_tasks, wait=1.5)  # flush fails: stays queued
    assert slack.messages == []
    slack.clear_faults()
    deadline = time.monotonic() + 30  # the retry waits out its backoff (with jitter)
    while not links(slack) and time.monotonic() < deadline:
        drain(aws["workflowQueueUrl"], handle_workflow_tasks, wait=1.0)
    assert len(links(slack)) == 1


def slack_signed(
    body: str, secret: str = SLACK_SIGNING_SECRET, timestamp: str | None = None
) -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    signature = (
        "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    )
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def interaction(ticket_id: str, user: str, action: str = "approve") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "lead"},
        "actions": [{"action_id": action, "value": ticket_id, "type": "button"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def test_slack_buttons_are_verified_and_only_the_lead_may_click(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    ticket_id = report_failure(api, demo)
    body = interaction(ticket_id, "U0LEAD")

    bad_timestamp = {**slack_signed(body), "X-Slack-Request-Timestamp": "yesterday"}
    stale = slack_signed(body, timestamp=str(int(time.time()) - 3600))
    wrong = slack_signed(body, secret="not-the-secret")
    for headers in (
        bad_timestamp,
        stale,
        wrong,
        {"Content-Type": "application/x-www-form-urlencoded"},
    ):
        response = api.post("/v1/slack/interactions", headers=headers, body=body)
        assert (response.status_code, response.json_body["error"]["code"]) == (
            401,
            "unauthenticated",
        )
    intruder = interaction(ticket_id, "U0INTRUDER")
    assert (
        api.post(
            "/v1/slack/interactions", headers=slack_signed(intruder), body=intruder
        ).status_code
        == 403
    )
    link_click = interaction(ticket_id, "U0LEAD", action="open_approve")
    assert (
        api.post(
            "/v1/slack/interactions", headers=slack_signed(link_click), body=link_click
        ).json_body["outcome"]
        == "ignored"
    )
    assert ticket_of(api, demo, ticket_id)["status"] == "draft"

    response = api.post("/v1/slack/interactions", headers=slack_signed(body), body=body)
    assert response.status_code == 200
    assert ticket_of(api, demo, ticket_id)["status"] == "approved"
    assert ticket_of(api, demo, ticket_id)["history"][-1]["by"] == "lead@example.com"


def test_slacks_official_signing_example_verifies() -> None:
    """Slack's worked example (tests/fixtures/slack), through the verifier we use."""
    from pathlib import Path

    from slack_sdk.signature import Clock, SignatureVerifier

    sample = Path(__file__).resolve().parents[1] / "fixtures/slack/signing_example_body.txt"

    class At(Clock):
        def now(self) -> float:
            return 1531420618

    verifier = SignatureVerifier("8f742231b10e8888abcd99yyyzzz85a5", clock=At())
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert verifier.is_valid(sample.read_bytes(), "1531420618", expected)
    assert not verifier.is_valid(sample.read_bytes() + b" ", "1531420618", expected)


_ = re
