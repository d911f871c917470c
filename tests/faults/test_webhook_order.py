"""Jira's webhooks arrive at least once, late and out of order. With the emulator's real signed
deliveries: the same delivery twice (Jira's retry, and SQS handing the queued change over twice)
changes nothing the second time; a resolve and the reopen after it, delivered in reverse, end
where Jira is (open: the ticket never saw the resolution), and nobody is told of a re-test."""

from __future__ import annotations

from typing import Any

from tests.faults.test_outages import deliver
from tests.integration.conftest import Demo
from tests.integration.test_feedback import open_ticket
from tests.integration.test_jira import ticket_of

RETEST = "Ready for re-test"


def post(api: Any, body: bytes, headers: dict[str, str]) -> None:
    """One delivery, as Jira sends it, to our webhook (verified and queued)."""
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


def caught(jira: Any, queue: Any) -> tuple[bytes, dict[str, str]]:
    """The emulator's next signed delivery (sent once it is idle)."""
    assert jira.wait_webhooks_idle(), "the emulator did not send its webhook"
    return queue.get(timeout=10)  # type: ignore[no-any-return]


def told(slack: Any, words: str) -> int:
    return sum(1 for m in slack.messages if words in (m["body"].get("text") or ""))


def history(api: Any, demo: Demo, ticket_id: str) -> list[str]:
    return [h["status"] for h in ticket_of(api, demo, ticket_id)["history"]]


def test_the_same_signed_webhook_twice_changes_nothing_the_second_time(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, slack: Any, deliveries: Any
) -> None:
    ticket = open_ticket(api, demo, aws)
    jira.transition(ticket["jira"]["key"], "Done", "Done")
    body, headers = caught(jira, deliveries)

    post(api, body, headers)
    deliver(aws["jiraQueueUrl"], _jira_tasks(), twice=True)  # SQS hands the change over twice
    after_first = ticket_of(api, demo, ticket["id"])
    post(api, body, headers)  # Jira's retry of the same delivery
    deliver(aws["jiraQueueUrl"], _jira_tasks(), twice=True)

    after = ticket_of(api, demo, ticket["id"])
    assert after["status"] == "resolved"
    assert after == after_first
    assert history(api, demo, ticket["id"]).count("resolved") == 1
    assert told(slack, RETEST) == 1


def test_a_reopen_delivered_before_the_resolve_it_follows_ends_open(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, slack: Any, deliveries: Any
) -> None:
    ticket = open_ticket(api, demo, aws)
    key = ticket["jira"]["key"]
    jira.transition(key, "Done", "Done")
    resolved = caught(jira, deliveries)
    jira.transition(key, "Reopened")
    reopened = caught(jira, deliveries)

    for body, headers in (reopened, resolved):  # the later change arrives first
        post(api, body, headers)
        deliver(aws["jiraQueueUrl"], _jira_tasks())

    after = ticket_of(api, demo, ticket["id"])
    assert after["status"] == "open"
    assert "resolved" not in history(api, demo, ticket["id"])
    assert told(slack, RETEST) == 0

    # Both again, in order now (Jira's retries): still where Jira is.
    for body, headers in (resolved, reopened):
        post(api, body, headers)
        deliver(aws["jiraQueueUrl"], _jira_tasks())
    assert ticket_of(api, demo, ticket["id"])["status"] == "open"
    assert told(slack, RETEST) == 0


def _jira_tasks() -> Any:
    from chalicelib.handlers import handle_jira_tasks

    return handle_jira_tasks
