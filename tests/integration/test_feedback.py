"""Resolution feedback: Jira's signed webhooks (as the emulator sends them) flow back to tickets
and scenarios; re-tests and regressions flow to Jira; nothing loops, repeats or goes backwards."""

from __future__ import annotations

import copy
import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.handlers import handle_jira_tasks, handle_workflow_tasks
from tests.integration.conftest import Demo, drain, report, result
from tests.integration.test_jira import approve, configure, run_jira, ticket_of, until_open

SECRET = "integration-jira-webhook-secret"
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "jira"


@pytest.fixture
def deliveries(jira: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Catches what the emulator delivers, to hand it to the API as Jira would."""
    caught: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()

    class Catch(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            caught.put((body, {k: v for k, v in self.headers.items()}))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Catch)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    jira.set_config(
        webhookUrl=f"http://127.0.0.1:{server.server_address[1]}/hook", webhookSecret=SECRET
    )
    monkeypatch.setenv("FAILBRIDGE_JIRA_WEBHOOK_SECRET", SECRET)
    bootstrap.reset()
    yield caught
    server.shutdown()


def deliver(api: Any, caught: Any, aws: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The next delivery, posted to our webhook and processed off the Jira queue."""
    body, headers = caught.get(timeout=10)
    response = api.post(
        "/v1/webhooks/jira",
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature": headers["X-Hub-Signature"],
            "X-Atlassian-Webhook-Identifier": headers["X-Atlassian-Webhook-Identifier"],
        },
    )
    assert response.status_code == 202, response.json_body
    run_jira(aws, wait=0.5)
    return body, headers


def open_ticket(api: Any, demo: Demo, aws: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    configure(api, demo)
    ticket_id = approve(api, demo, **overrides)
    ticket = until_open(api, demo, aws, ticket_id)  # the workflow hands it over when it runs
    assert ticket["status"] == "open"
    return ticket


def scenario_of(api: Any, demo: Demo, scenario_id: str = "checkout.pay-by-card") -> dict:
    return dict(
        api.get(f"/v1/projects/DEMO/scenarios/{scenario_id}", headers=demo.auth("viewer")).json_body
    )


def report_result(api: Any, demo: Demo, status: str, run: str, **overrides: Any) -> dict:
    return dict(
        api.post(
            "/v1/projects/DEMO/results",
            headers=demo.auth("ci"),
            body=report([result(status=status, **overrides)], run_id=run),
        ).json_body["results"][0]
    )


def test_resolved_in_jira_then_a_passing_retest_marks_the_scenario_passed(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, deliveries: Any, slack: Any
) -> None:
    ticket = open_ticket(api, demo, aws)
    key = ticket["jira"]["key"]
    jira.transition(key, "Done", "Done")
    deliver(api, deliveries, aws)

    assert ticket_of(api, demo, ticket["id"])["status"] == "resolved"
    assert scenario_of(api, demo)["status"] == "ready_for_retest"
    assert any("Ready for re-test" in m["body"]["text"] for m in slack.messages)

    outcome = report_result(api, demo, "passed", "build-900")
    assert outcome["retest"] == {"ticketId": ticket["id"], "outcome": "verified"}
    assert ticket_of(api, demo, ticket["id"])["status"] == "verified"
    scenario = scenario_of(api, demo)
    assert scenario["status"] == "passed"
    assert {t["id"]: t["status"] for t in scenario["tickets"]} == {ticket["id"]: "verified"}
    run_jira(aws, wait=0.5)
    comments = [c["body"] for c in jira.issue(key)["fields"]["comment"]["comments"]]
    assert any("re-test" in c and "passed" in c for c in comments)
    drain(aws["workflowQueueUrl"], handle_workflow_tasks, wait=1.0)
    history = [h["status"] for h in ticket_of(api, demo, ticket["id"])["history"]]
    assert history[-3:] == ["open", "resolved", "verified"]


def test_a_failing_retest_reopens_the_jira_issue_with_the_new_evidence(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, deliveries: Any
) -> None:
    ticket = open_ticket(api, demo, aws)
    key = ticket["jira"]["key"]
    jira.transition(key, "Done", "Done")
    deliver(api, deliveries, aws)

    outcome = report_result(
        api, demo, "failed", "build-901", actual="still HTTP 500", reporter="carol@example.com"
    )
    assert outcome["ticket"] == {"id": ticket["id"], "status": "reopened", "merged": True}
    run_jira(aws, wait=0.5)
    issue = jira.issue(key)["fields"]
    assert issue["status"]["name"] == "Reopened"
    assert any("still HTTP 500" in c["body"] for c in issue["comment"]["comments"])
    reopened = ticket_of(api, demo, ticket["id"])
    assert reopened["status"] == "reopened"
    assert reopened["occurrences"] == 2
    # Our own reopen comes back as a webhook: it changes nothing (no echo loop).
    deliver(api, deliveries, aws)
    assert [h["status"] for h in ticket_of(api, demo, ticket["id"])["history"]].count(
        "reopened"
    ) == 1


@pytest.mark.parametrize(
    ("to", "resolution", "expected"),
    [
        ("Done", "Won't Fix", "closed"),
        ("Done", "Duplicate", "closed"),
        ("Done", "Cannot Reproduce", "closed"),
        ("Deferred", None, "deferred"),
        ("Blocked", None, "blocked"),
    ],
)
def test_jira_statuses_show_on_ticket_and_scenario(
    api: Any,
    demo: Demo,
    aws: dict[str, Any],
    jira: Any,
    deliveries: Any,
    to: str,
    resolution: str | None,
    expected: str,
) -> None:
    ticket = open_ticket(api, demo, aws)
    jira.transition(ticket["jira"]["key"], to, resolution)
    deliver(api, deliveries, aws)
    assert ticket_of(api, demo, ticket["id"])["status"] == expected
    tickets = {t["id"]: t["status"] for t in scenario_of(api, demo)["tickets"]}
    assert tickets[ticket["id"]] == expected
    if expected in ("deferred", "blocked"):
        jira.transition(ticket["jira"]["key"], "In Progress")
        deliver(api, deliveries, aws)
        assert ticket_of(api, demo, ticket["id"])["status"] == "open"


def test_replays_duplicates_and_late_deliveries_change_nothing(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, deliveries: Any
) -> None:
    ticket = open_ticket(api, demo, aws)
    key = ticket["jira"]["key"]
    jira.transition(key, "Blocked")
    blocked_body, blocked_headers = deliver(api, deliveries, aws)
    jira.transition(key, "Done", "Done")
    deliver(api, deliveries, aws)
    assert ticket_of(api, demo, ticket["id"])["status"] == "resolved"

    # The same delivery again (Jira retried it), then the older one arriving late.
    for headers in (
        blocked_headers,
        {**blocked_headers, "X-Atlassian-Webhook-Identifier": "a-late-copy"},
    ):
        response = api.post(
            "/v1/webhooks/jira",
            body=blocked_body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature": headers["X-Hub-Signature"],
                "X-Atlassian-Webhook-Identifier": headers["X-Atlassian-Webhook-Identifier"],
            },
        )
        assert response.status_code == 202
        run_jira(aws, wait=0.5)
    current = ticket_of(api, demo, ticket["id"])
    assert current["status"] == "resolved"
    assert [h["status"] for h in current["history"]].count("blocked") == 1


def test_webhooks_are_verified(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, deliveries: Any
) -> None:
    import hashlib
    import hmac

    body = b'{"webhookEvent": "jira:issue_updated", "issue": {"key": "KP-1"}}'
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    for signature in (None, "sha256=00", good.replace("sha256", "md5"), "garbage", good[:-2]):
        headers = {"Content-Type": "application/json"}
        if signature:
            headers["X-Hub-Signature"] = signature
        response = api.post("/v1/webhooks/jira", body=body, headers=headers)
        assert (response.status_code, response.json_body["error"]["code"]) == (
            401,
            "unauthenticated",
        ), signature
    for signature in (good, sha1):
        assert (
            api.post(
                "/v1/webhooks/jira",
                body=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature": signature},
            ).status_code
            == 202
        )


@pytest.mark.parametrize(
    "sample", ["issue_updated_status_changed.json", "issue_updated_doc_example.json"]
)
def test_real_jira_payloads_are_accepted_and_ignored_when_not_ours(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, deliveries: Any, sample: str
) -> None:
    import hashlib
    import hmac

    body = (SAMPLES / sample).read_bytes()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = api.post(
        "/v1/webhooks/jira",
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature": signature,
            "X-Atlassian-Webhook-Identifier": f"sample-{sample}",
        },
    )
    assert response.status_code == 202
    assert drain(aws["jiraQueueUrl"], handle_jira_tasks, wait=0.5) == 1


def test_a_regression_within_the_window_reopens_the_verified_ticket(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, deliveries: Any
) -> None:
    ticket = open_ticket(api, demo, aws)
    jira.transition(ticket["jira"]["key"], "Done", "Done")
    deliver(api, deliveries, aws)
    report_result(api, demo, "passed", "build-900")
    assert ticket_of(api, demo, ticket["id"])["status"] == "verified"
    run_jira(aws, wait=0.5)

    again = report_result(api, demo, "failed", "build-950", reporter="dave@example.com")
    assert again["ticket"] == {"id": ticket["id"], "status": "reopened", "merged": True}
    assert scenario_of(api, demo)["status"] == "defect_open"
    run_jira(aws, wait=0.5)
    assert jira.issue(ticket["jira"]["key"])["fields"]["status"]["name"] == "Reopened"
    deliver(api, deliveries, aws)  # our own reopen, echoed back: no change
    assert ticket_of(api, demo, ticket["id"])["status"] == "reopened"

    bootstrap.container().repos.projects.set_fields("DEMO", {"regressionWindowDays": 0})
    bootstrap.container().access._projects.drop("DEMO")
    jira.transition(ticket["jira"]["key"], "Done", "Won't Fix")
    deliver(api, deliveries, aws)
    assert ticket_of(api, demo, ticket["id"])["status"] == "closed"
    later = report_result(api, demo, "failed", "build-990")
    assert later["ticket"]["id"] != ticket["id"]
    assert later["ticket"]["status"] == "draft"
    assert ticket_of(api, demo, later["ticket"]["id"])["regressionOf"] == ticket["id"]


def test_reconciliation_repairs_what_a_lost_webhook_missed(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, deliveries: Any
) -> None:
    from chalicelib.handlers import reconcile

    ticket = open_ticket(api, demo, aws)
    jira.set_config(webhookUrl=None)  # the delivery is lost
    jira.transition(ticket["jira"]["key"], "Done", "Done")
    time.sleep(0.05)
    assert ticket_of(api, demo, ticket["id"])["status"] == "open"
    assert reconcile() == {"checked": 1, "repaired": 1, "workflowsStarted": 0}
    assert ticket_of(api, demo, ticket["id"])["status"] == "resolved"
    # resolved is still live: checked again, nothing to repair
    assert reconcile() == {"checked": 1, "repaired": 0, "workflowsStarted": 0}


def test_a_recurring_issue_leaves_a_knowledge_base_entry_later_drafts_show(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, deliveries: Any
) -> None:
    configure(api, demo)
    failures = [result(testCaseId=f"TC-{i}", reporter=f"t{i}@example.com") for i in range(5)]
    ticket_id = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report(failures)
    ).json_body["results"][0]["ticket"]["id"]
    api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "approve"}),
    )
    from tests.integration.test_jira import asked

    asked()
    key = until_open(api, demo, aws, ticket_id)["jira"]["key"]
    from jira import JIRA

    JIRA(server=jira.url, basic_auth=("bot@example.com", "jira-token"), max_retries=0).add_comment(
        key, "Root cause: the card gateway timed out; fixed by raising the pool size."
    )
    jira.transition(key, "Done", "Done")
    deliver(api, deliveries, aws)
    run_jira(aws, wait=0.5)  # record_knowledge

    report_result(api, demo, "passed", "build-900")
    bootstrap.container().repos.projects.set_fields("DEMO", {"regressionWindowDays": 0})
    bootstrap.container().access._projects.drop("DEMO")
    later = report_result(api, demo, "failed", "build-999")
    draft = ticket_of(api, demo, later["ticket"]["id"])
    assert draft["status"] == "draft"
    [entry] = draft["knowledge"]
    assert (entry["ticketId"], entry["jiraKey"], entry["rootCause"]) == (ticket_id, key, "Done")
    assert "pool size" in entry["fix"]


def test_of_two_deliveries_applied_at_once_the_newer_wins(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jira resolves an issue and a second later someone moves it back to In Progress; both
    deliveries reach two workers at the same moment. The newer one moves nothing (the ticket
    is open) but records Jira's time. The worker with the older one read the ticket before
    that and writes after it: its move to resolved must not stand."""
    ticket = open_ticket(api, demo, aws)
    key = ticket["jira"]["key"]
    base = int(time.time() * 1000)

    def change(status: str, category: str, at: int, resolution: str | None = None) -> dict:
        return {
            "delivery": f"race-{status}",
            "key": key,
            "status": status,
            "category": category,
            "resolution": resolution,
            "updatedAt": at,
            "event": "jira:issue_updated",
        }

    resolved = change("Done", "done", base, "Done")
    back = change("In Progress", "indeterminate", base + 1000)
    service = bootstrap.container().feedback
    other_worker = copy.copy(service)
    real = service._tickets

    class NewerLandsAfterTheRead:
        """The real repository; the newer delivery is applied between the older one's read
        and its write, as a second worker would."""

        def __init__(self) -> None:
            self.raced = False

        def get(self, ticket_id: str, consistent: bool = True) -> Any:
            seen = real.get(ticket_id, consistent)
            if not self.raced:
                self.raced = True
                assert other_worker.apply(back) == "no change"
            return seen

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(service, "_tickets", NewerLandsAfterTheRead())
    assert service.apply(resolved) == "stale"
    current = ticket_of(api, demo, ticket["id"])
    assert current["status"] == "open"
    assert current["jiraStatus"] == "In Progress"
    assert [h["status"] for h in current["history"]].count("resolved") == 0
