"""Issue 5's figure on the local stack: how long a resolution in Jira takes to reach failbridge.

Set-up (not timed): failures of new scenarios, approved by the lead once their Slack message came,
each waited for until `open` with its Jira issue. Then, one ticket at a time, the bench resolves the
issue as a person would, through the emulator's REST API (`POST /rest/api/2/issue/{key}/transitions`
with the id of the transition to Done, read beforehand), and measures from that POST to
GET /v1/projects/{project}/scenarios/{scenarioId} reading `ready_for_retest`. The path in between:
the emulator's signed webhook -> POST /v1/webhooks/jira (verified, queued) -> the Jira queue ->
the pump -> FeedbackService.apply (ticket `resolved`, Slack note).

Also printed, from the same runs: when the webhook was delivered (the emulator's delivery log),
when the ticket's `resolved` entry was written (its history), and when the "Ready for re-test" note
reached the Slack outbox. Clocks are the same machine's; the emulator's are whole milliseconds."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import requests

from bench._support import ROOT, local_stack, median, percentile
from bench.jira_calls import print_errors

TICKETS = 5
POLL = 0.02
READY_TIMEOUT = 15.0
OPEN_TIMEOUT = 30.0
FEEDBACK_TIMEOUT = 20.0


def _wait(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(POLL)
    return None


def _epoch(stamp: str | None) -> float | None:
    """`2026-11-22T00:52:19.641Z` or Jira's `2026-11-22T00:52:19.641+0000` -> seconds."""
    if not stamp:
        return None
    text = stamp.replace("Z", "+00:00")
    if text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text).timestamp()


def run(info: dict[str, Any], tickets: int = TICKETS) -> dict[str, Any]:
    api, project, keys = str(info["api"]), str(info["project"]), info["keys"]
    jira = str(info["jira"]).rstrip("/")
    jira_auth = (str(info["jiraUser"]["email"]), str(info["jiraUser"]["token"]))
    auth = {role: {"Authorization": f"Bearer {keys[role]}"} for role in keys}
    outbox = ROOT / info["slackOutbox"]  # relative paths are the repository's
    session = requests.Session()
    uid = uuid.uuid4().hex[:8]
    problems: list[str] = []

    def ticket(ticket_id: str) -> dict[str, Any]:
        got = session.get(f"{api}/v1/tickets/{ticket_id}", headers=auth["viewer"], timeout=30)
        got.raise_for_status()
        return dict(got.json())

    def outbox_text() -> str:
        return outbox.read_text(encoding="utf-8") if outbox.exists() else ""

    # -- set-up: open tickets with Jira issues ------------------------------------------------
    opened: list[tuple[str, str, str]] = []  # (ticket id, scenario, issue key)
    drafts: list[tuple[str, str]] = []
    for n in range(tickets):
        scenario = f"checkout.feedback-{uid}-{n:02d}"
        body = {
            "run": {"id": f"fb-{uid}-{n:02d}", "name": "nightly"},
            "results": [
                {
                    "scenarioId": scenario,
                    "testCaseId": f"TC-FB-{n:02d}",
                    "title": f"Feedback latency {n}",
                    "module": "checkout",
                    "status": "failed",
                    "actual": "HTTP 500 on /pay",
                    "reporter": "alice@example.com",
                }
            ],
        }
        got = session.post(
            f"{api}/v1/projects/{project}/results", json=body, headers=auth["ci"], timeout=30
        )
        got.raise_for_status()
        drafts.append((str(got.json()["results"][0]["ticket"]["id"]), scenario))
    for ticket_id, scenario in drafts:
        # A decision made before the workflow's await_decision task ran is lost to the workflow
        # (the ticket stays approved), so the lead decides once the message came.
        if not _wait(lambda t=ticket_id: f"decide:{t}" in outbox_text(), READY_TIMEOUT):
            problems.append(f"{ticket_id}: no Slack message in {READY_TIMEOUT} s")
        decided = session.post(
            f"{api}/v1/tickets/{ticket_id}/decision",
            json={"decision": "approve"},
            headers=auth["lead"],
            timeout=30,
        )
        if decided.status_code != 200:
            problems.append(f"{ticket_id}: decision {decided.status_code} {decided.text[:300]}")
    for ticket_id, scenario in drafts:
        last: dict[str, Any] = {}

        def is_open(t: str = ticket_id) -> bool:
            last.clear()
            last.update(ticket(t))
            return last.get("status") == "open"

        if _wait(is_open, OPEN_TIMEOUT):
            opened.append((ticket_id, scenario, str(last["jira"]["key"])))
        else:
            problems.append(
                f"{ticket_id}: not open in {OPEN_TIMEOUT} s: {last.get('status')}, "
                f"history {last.get('history')}"
            )

    # -- the figure: Jira transition -> scenario ready_for_retest ---------------------------
    to_scenario: list[float] = []
    to_webhook: list[float] = []
    to_resolved: list[float] = []
    to_note: list[float] = []
    for ticket_id, scenario, key in opened:
        transitions = session.get(
            f"{jira}/rest/api/2/issue/{key}/transitions", auth=jira_auth, timeout=30
        ).json()["transitions"]
        done = next(t["id"] for t in transitions if t["to"]["name"] == "Done")
        notes_before = outbox_text().count("Ready for re-test")
        wall = time.time()
        started = time.perf_counter()
        moved = session.post(
            f"{jira}/rest/api/2/issue/{key}/transitions",
            json={"transition": {"id": done}},
            auth=jira_auth,
            timeout=30,
        )
        if moved.status_code != 204:
            problems.append(f"{key}: transition {moved.status_code} {moved.text[:300]}")
            continue
        note_at: list[float] = []

        def ready(s: str = scenario) -> bool:
            if not note_at and outbox_text().count("Ready for re-test") > notes_before:
                note_at.append(time.perf_counter() - started)
            got = session.get(
                f"{api}/v1/projects/{project}/scenarios/{s}", headers=auth["viewer"], timeout=30
            )
            return got.status_code == 200 and got.json().get("status") == "ready_for_retest"

        if not _wait(ready, FEEDBACK_TIMEOUT):
            current = ticket(ticket_id)
            problems.append(
                f"{ticket_id} ({key}): scenario not ready_for_retest in {FEEDBACK_TIMEOUT} s; "
                f"ticket {current['status']}, history {current['history'][-2:]}"
            )
            continue
        to_scenario.append(time.perf_counter() - started)
        if not note_at:
            _wait(lambda: outbox_text().count("Ready for re-test") > notes_before, 5.0)
            note_at.append(time.perf_counter() - started)
        to_note.append(note_at[0])
        resolved = [h for h in ticket(ticket_id)["history"] if h["status"] == "resolved"]
        resolved_at = _epoch(resolved[-1]["at"]) if resolved else None
        if resolved_at is not None:
            to_resolved.append(resolved_at - wall)
        deliveries = session.get(f"{jira}/_emulator/webhooks", timeout=30).json()
        delivered = [
            _epoch(a["at"])
            for d in deliveries
            if d["issueKey"] == key and d["status"] == "delivered"
            for a in d["attempts"]
            if a.get("statusCode") and 200 <= a["statusCode"] < 300
        ]
        if delivered and delivered[-1] is not None:
            to_webhook.append(delivered[-1] - wall)

    def line(values: list[float]) -> str:
        return (
            f"median {median(values):5.2f} s (min {min(values, default=float('nan')):.2f}, "
            f"p90 {percentile(values, 90):.2f}, n={len(values)})"
        )

    print(f"Jira resolution -> failbridge on the local stack, {len(opened)} tickets one at a time")
    print(f"  transition POST -> scenario ready_for_retest:   {line(to_scenario)}")
    print(f"    webhook answered by the API (emulator log):   {line(to_webhook)}")
    print(f"    ticket `resolved` written (ticket history):   {line(to_resolved)}")
    print(f"    'Ready for re-test' note in the Slack outbox: {line(to_note)}")
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    print_errors(info)
    return {
        "transition_to_ready_median_s": median(to_scenario),
        "transition_to_resolved_median_s": median(to_resolved),
        "problems": problems,
    }


def main(tickets: int = TICKETS) -> dict[str, Any]:
    with local_stack() as info:
        return run(info, tickets)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.feedback_latency")
    parser.add_argument("--tickets", type=int, default=TICKETS)
    args = parser.parse_args()
    main(args.tickets)
