"""The Jira loop through the running local stack (tests/e2e/conftest.py), over HTTP: a failure is
approved and becomes a Jira issue in the emulator; a person resolves it there (the emulator's REST
API, as the Jira UI would), the signed webhook brings the resolution back, and the next run of the
scenario either verifies the ticket (a pass) or reopens it and the Jira issue (a failure). Unsigned
or wrongly signed webhooks are refused. tests/integration/test_jira.py: the creation in-process."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Api, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TEST_CASE = "TC-PAY-001"
OPEN_TIMEOUT = 20.0  # approval -> workflow -> Jira queue -> issue created and linked
FEEDBACK_TIMEOUT = 15.0  # Jira transition -> webhook -> Jira queue -> ticket


# --- helpers -------------------------------------------------------------------------------------


class Jira:
    """The emulator's REST API with the stack's Jira user, as a person (or a script) uses it."""

    def __init__(self, stack: dict[str, Any]) -> None:
        self.base = str(stack["jira"]).rstrip("/")
        user = stack["jiraUser"]
        self.auth = (str(user["email"]), str(user["token"]))

    def get(self, path: str) -> dict[str, Any]:
        response = requests.get(f"{self.base}/rest/api/2/{path}", auth=self.auth, timeout=30)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return dict(response.json())

    def status(self, key: str) -> str:
        return str(self.get(f"issue/{key}?fields=status")["fields"]["status"]["name"])

    def comments(self, key: str) -> list[str]:
        return [str(c["body"]) for c in self.get(f"issue/{key}/comment")["comments"]]

    def transition_to(self, key: str, status: str) -> None:
        """Move the issue with the transition that leads to `status` (looked up, not assumed)."""
        transitions = self.get(f"issue/{key}/transitions")["transitions"]
        ids = [t["id"] for t in transitions if t["to"]["name"] == status]
        assert ids, f"{key} has no transition to {status}: {transitions}"
        response = requests.post(
            f"{self.base}/rest/api/2/issue/{key}/transitions",
            json={"transition": {"id": ids[0]}},
            auth=self.auth,
            timeout=30,
        )
        assert response.status_code == 204, response.text


@pytest.fixture(scope="module")
def jira(stack: dict[str, Any]) -> Jira:
    return Jira(stack)


def report(api: Api, scenario: str, run_id: str, status: str) -> dict[str, Any]:
    """One result of the scenario's test case in module checkout (no jiraTestKey)."""
    result: dict[str, Any] = {
        "scenarioId": scenario,
        "testCaseId": TEST_CASE,
        "title": "Pay by card",
        "module": "checkout",
        "status": status,
        "reporter": "alice@example.com",
    }
    if status == "failed":
        result.update(
            expected="Order confirmed",
            actual=f"HTTP 500 on /pay ({run_id})",
            error={"type": "AssertionError", "message": "expected 200, got 500"},
            reportUrl=f"https://ci.example.com/{run_id}/report.html",
        )
    body = {
        "run": {
            "id": run_id,
            "name": "nightly regression",
            "branch": "main",
            "ciUrl": f"https://ci.example.com/{run_id}",
            "environment": "staging",
        },
        "results": [result],
    }
    response = api.post(f"/v1/projects/{api.project}/results", json=body, role="ci")
    assert response.status_code == 200, response.text
    return dict(response.json()["results"][0])


def ticket_of(api: Api, ticket_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def scenario_of(api: Api, scenario: str) -> dict[str, Any]:
    response = api.get(f"/v1/projects/{api.project}/scenarios/{scenario}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def statuses(ticket: dict[str, Any]) -> list[str]:
    return [h["status"] for h in ticket["history"]]


def ticket_reaching(api: Api, ticket_id: str, status: str, timeout: float) -> dict[str, Any]:
    """The ticket once it has `status`; on timeout, fail with its history (where it stopped)."""
    deadline = time.monotonic() + timeout
    ticket = ticket_of(api, ticket_id)
    while ticket["status"] != status and time.monotonic() < deadline:
        time.sleep(0.1)
        ticket = ticket_of(api, ticket_id)
    assert ticket["status"] == status, (
        f"{ticket_id} is {ticket['status']}, not {status}, after {timeout} s; "
        f"history: {ticket['history']}"
    )
    return ticket


def outbox_lines(stack: dict[str, Any]) -> list[str]:
    path = Path(stack["slackOutbox"])
    path = path if path.is_absolute() else ROOT / path
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [line for line in lines if line.strip()]


def outbox_texts(stack: dict[str, Any]) -> list[str]:
    return [str(json.loads(line).get("text") or "") for line in outbox_lines(stack)]


def open_and_resolve(
    api: Api, jira: Jira, stack: dict[str, Any], scenario: str, uid: str
) -> tuple[str, str]:
    """A failure approved by the lead, its Jira issue resolved in Jira; (ticket id, issue key)."""
    first = report(api, scenario, f"jl-{uid}-1", "failed")
    ticket_id = str(first["ticket"]["id"])
    assert (first["ticket"]["status"], first["ticket"]["merged"]) == ("draft", False)
    # The lead decides once the draft's Slack message came (then the workflow waits for the
    # decision). A decision within the moment between the report and the workflow's
    # await_decision task is lost to the workflow: the ticket stays `approved` (reported).
    wait_for(lambda: [line for line in outbox_lines(stack) if f"decide:{ticket_id}" in line])

    decided = api.post(
        f"/v1/tickets/{ticket_id}/decision", json={"decision": "approve"}, role="lead"
    )
    assert decided.status_code == 200, decided.text
    opened = ticket_reaching(api, ticket_id, "open", OPEN_TIMEOUT)
    key = str((opened["jira"] or {}).get("key") or "")
    assert key.startswith("KP-"), opened
    assert statuses(opened) == ["draft", "approved", "jira_pending", "open"], opened["history"]
    assert scenario_of(api, scenario)["status"] == "defect_open"

    jira.transition_to(key, "Done")
    resolved = ticket_reaching(api, ticket_id, "resolved", FEEDBACK_TIMEOUT)
    assert resolved["history"][-1]["by"] == "jira", resolved["history"]
    assert "Done" in str(resolved["history"][-1]["reason"]), resolved["history"]
    wait_for(lambda: scenario_of(api, scenario)["status"] == "ready_for_retest", 5.0, 0.1)
    note = wait_for(
        lambda: [t for t in outbox_texts(stack) if "Ready for re-test" in t and key in t], 5.0
    )
    assert scenario in note[0], note
    return ticket_id, key


# --- the loop ------------------------------------------------------------------------------------


def test_a_resolved_issue_is_verified_by_a_passing_retest(
    api: Api, jira: Jira, stack: dict[str, Any], uid: str
) -> None:
    scenario = f"checkout.jira-verify-{uid}"
    ticket_id, key = open_and_resolve(api, jira, stack, scenario, uid)

    retest = report(api, scenario, f"jl-{uid}-2", "passed")
    assert retest["ticket"] is None, retest
    ticket = ticket_reaching(api, ticket_id, "verified", 5.0)
    assert statuses(ticket) == [
        "draft",
        "approved",
        "jira_pending",
        "open",
        "resolved",
        "verified",
    ], ticket["history"]
    assert ticket["history"][-1]["by"] == "alice@example.com"
    assert scenario_of(api, scenario)["status"] == "passed"

    comments = wait_for(lambda: [c for c in jira.comments(key) if c.startswith("failbridge")])
    assert "passed" in comments[0] and TEST_CASE in comments[0], comments
    assert jira.status(key) == "Done"  # DEMO's mapping has no closeTransition
    time.sleep(0.5)  # nothing Jira sends back moves a verified ticket
    assert ticket_of(api, ticket_id)["status"] == "verified"


def test_a_failing_retest_reopens_the_ticket_and_the_jira_issue(
    api: Api, jira: Jira, stack: dict[str, Any], uid: str
) -> None:
    scenario = f"checkout.jira-reopen-{uid}"
    ticket_id, key = open_and_resolve(api, jira, stack, scenario, uid)

    retest = report(api, scenario, f"jl-{uid}-2", "failed")
    assert retest["ticket"] is not None and retest["ticket"]["id"] == ticket_id, retest
    ticket = ticket_reaching(api, ticket_id, "reopened", 5.0)
    assert statuses(ticket)[-2:] == ["resolved", "reopened"], ticket["history"]
    assert ticket["occurrences"] == 2

    wait_for(lambda: jira.status(key) == "Reopened", 10.0)
    comments = [c for c in jira.comments(key) if c.startswith("failbridge")]
    assert comments and "re-test failed" in comments[0], comments
    assert f"jl-{uid}-2" in comments[0], comments  # the new occurrence is the evidence

    # Jira's own webhook for the reopening (made by failbridge) maps to the status the ticket has.
    time.sleep(1.0)
    after = ticket_of(api, ticket_id)
    assert after["status"] == "reopened" and statuses(after).count("reopened") == 1, after[
        "history"
    ]
    shown = scenario_of(api, scenario)
    assert {t["id"]: t["status"] for t in shown["tickets"]}.get(ticket_id) == "reopened", shown
    assert shown["status"] == "defect_open", shown


# --- the webhook's signature ---------------------------------------------------------------------


def test_webhooks_with_a_bad_signature_are_refused(api: Api, stack: dict[str, Any]) -> None:
    body = json.dumps(
        {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": "jira:issue_updated",
            "issue": {
                "key": "KP-999999",
                "fields": {"status": {"name": "Done", "statusCategory": {"key": "done"}}},
            },
        }
    ).encode()
    secret = str(stack["jiraWebhookSecret"]).encode()
    url = f"{api.base}/v1/webhooks/jira"

    def post(signature: str | None) -> requests.Response:
        headers = {
            "Content-Type": "application/json",
            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
        }
        if signature is not None:
            headers["X-Hub-Signature"] = signature
        return requests.post(url, data=body, headers=headers, timeout=30)

    wrong_secret = hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    refused = {
        "wrong secret": f"sha256={wrong_secret}",
        "md5": "md5=" + hmac.new(secret, body, hashlib.md5).hexdigest(),
        "no method": hmac.new(secret, body, hashlib.sha256).hexdigest(),
        "missing": None,
    }
    for what, signature in refused.items():
        response = post(signature)
        assert response.status_code == 401, (what, response.status_code, response.text)
        assert response.headers["Content-Type"].startswith("application/json"), what
        assert response.json()["error"]["code"] == "unauthenticated", (what, response.text)

    # The same body, rightly signed, is taken (and ignored later: no ticket has that issue).
    good = post("sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest())
    assert good.status_code == 202, good.text
