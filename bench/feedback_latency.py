"""Issue 5's figure on the local stack: how long a resolution in Jira takes to reach failbridge.

Set-up (not timed): failures of new scenarios, approved by the lead once their Slack message came,
each waited for until `open` with its Jira issue. Then, one ticket at a time, the bench resolves the
issue as a person would, through the emulator's REST API (`POST /rest/api/2/issue/{key}/transitions`
with the id of the transition to Done, read beforehand), and measures from that POST to
GET /v1/projects/{project}/scenarios/{scenarioId} reading `ready_for_retest`. The path in between:
the emulator's signed webhook -> POST /v1/webhooks/jira (verified, queued) -> the Jira queue ->
the pump -> FeedbackService.apply (ticket `resolved`, Slack note).

Also printed, from the same runs: when the webhook was delivered (the emulator's delivery log),
when the ticket's `resolved` entry was stamped (its history's `at`, taken just before the
transaction that writes it and the scenario's pointer), and when the "Ready for re-test" note
reached the Slack outbox. Clocks are the same machine's; the emulator's are whole milliseconds."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from bench._support import ROOT, local_stack, median, percentile, wait_until
from bench.jira_calls import print_errors

TICKETS = 5
READY_TIMEOUT = 15.0
OPEN_TIMEOUT = 30.0
FEEDBACK_TIMEOUT = 20.0


def _epoch(stamp: str | None) -> float | None:
    """`2026-11-22T00:52:19.641Z` or Jira's `2026-11-22T00:52:19.641+0000` -> seconds."""
    if not stamp:
        return None
    text = stamp.replace("Z", "+00:00")
    if text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text).timestamp()


@dataclass
class Sample:
    to_scenario: float | None = None
    to_webhook: float | None = None
    to_resolved: float | None = None
    to_note: float | None = None
    polls: list[float] = field(default_factory=list)
    problem: str | None = None


class Feedback:
    def __init__(self, info: dict[str, Any]) -> None:
        self.api, self.project = str(info["api"]), str(info["project"])
        self.jira = str(info["jira"]).rstrip("/")
        self.jira_auth = (str(info["jiraUser"]["email"]), str(info["jiraUser"]["token"]))
        self.auth = {role: {"Authorization": f"Bearer {k}"} for role, k in info["keys"].items()}
        self.outbox = ROOT / info["slackOutbox"]  # relative paths are the repository's
        self.session = requests.Session()

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        got = self.session.get(
            f"{self.api}/v1/tickets/{ticket_id}", headers=self.auth["viewer"], timeout=30
        )
        got.raise_for_status()
        return dict(got.json())

    def outbox_text(self) -> str:
        return self.outbox.read_text(encoding="utf-8") if self.outbox.exists() else ""

    def notes(self) -> int:
        return self.outbox_text().count("Ready for re-test")

    def prepare(self, uid: str, tickets: int, problems: list[str]) -> list[tuple[str, str, str]]:
        """Open tickets with Jira issues: (ticket id, scenario, issue key)."""
        drafts: list[tuple[str, str]] = []
        for n in range(tickets):
            scenario = f"checkout.feedback-{uid}-{n:02d}"
            body: dict[str, Any] = {
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
            got = self.session.post(
                f"{self.api}/v1/projects/{self.project}/results",
                json=body,
                headers=self.auth["ci"],
                timeout=30,
            )
            got.raise_for_status()
            drafts.append((str(got.json()["results"][0]["ticket"]["id"]), scenario))
        for ticket_id, _ in drafts:
            # A decision made before the workflow's await_decision task ran is lost to the
            # workflow (the ticket stays approved), so the lead decides once the message came.
            marker = f"decide:{ticket_id}"
            if not wait_until(lambda m=marker: m in self.outbox_text(), READY_TIMEOUT):
                problems.append(f"{ticket_id}: no Slack message in {READY_TIMEOUT} s")
            decided = self.session.post(
                f"{self.api}/v1/tickets/{ticket_id}/decision",
                json={"decision": "approve"},
                headers=self.auth["lead"],
                timeout=30,
            )
            if decided.status_code != 200:
                problems.append(f"{ticket_id}: decision {decided.status_code} {decided.text[:300]}")
        opened = []
        for ticket_id, scenario in drafts:
            last = wait_until(lambda t=ticket_id: _if_open(self.ticket(t)), OPEN_TIMEOUT)
            if last:
                opened.append((ticket_id, scenario, str(last["jira"]["key"])))
            else:
                current = self.ticket(ticket_id)
                problems.append(
                    f"{ticket_id}: not open in {OPEN_TIMEOUT} s: {current['status']}, "
                    f"history {current['history']}"
                )
        return opened

    def resolve(self, ticket_id: str, scenario: str, key: str) -> Sample:
        """Resolve the issue in Jira; time its way to the scenario."""
        out = Sample()
        transitions = self.session.get(
            f"{self.jira}/rest/api/2/issue/{key}/transitions", auth=self.jira_auth, timeout=30
        ).json()["transitions"]
        done = next(t["id"] for t in transitions if t["to"]["name"] == "Done")
        notes_before = self.notes()
        wall = time.time()
        started = time.perf_counter()
        moved = self.session.post(
            f"{self.jira}/rest/api/2/issue/{key}/transitions",
            json={"transition": {"id": done}},
            auth=self.jira_auth,
            timeout=30,
        )
        if moved.status_code != 204:
            out.problem = f"{key}: transition {moved.status_code} {moved.text[:300]}"
            return out
        url = f"{self.api}/v1/projects/{self.project}/scenarios/{scenario}"

        def ready() -> bool:
            if out.to_note is None and self.notes() > notes_before:
                out.to_note = time.perf_counter() - started
            asked = time.perf_counter()
            got = self.session.get(url, headers=self.auth["viewer"], timeout=30)
            out.polls.append(time.perf_counter() - asked)
            return got.status_code == 200 and got.json().get("status") == "ready_for_retest"

        if not wait_until(ready, FEEDBACK_TIMEOUT):
            current = self.ticket(ticket_id)
            out.problem = (
                f"{ticket_id} ({key}): scenario not ready_for_retest in {FEEDBACK_TIMEOUT} s; "
                f"ticket {current['status']}, history {current['history'][-2:]}"
            )
            return out
        out.to_scenario = time.perf_counter() - started
        if out.to_note is None and wait_until(lambda: self.notes() > notes_before, 5.0):
            out.to_note = time.perf_counter() - started
        resolved = [h for h in self.ticket(ticket_id)["history"] if h["status"] == "resolved"]
        resolved_at = _epoch(resolved[-1]["at"]) if resolved else None
        if resolved_at is not None:
            out.to_resolved = resolved_at - wall
        deliveries = self.session.get(f"{self.jira}/_emulator/webhooks", timeout=30).json()
        delivered = [
            _epoch(a["at"])
            for d in deliveries
            if d["issueKey"] == key and d["status"] == "delivered"
            for a in d["attempts"]
            if a.get("statusCode") and 200 <= a["statusCode"] < 300
        ]
        if delivered and delivered[-1] is not None:
            out.to_webhook = delivered[-1] - wall
        return out


def _if_open(ticket: dict[str, Any]) -> dict[str, Any] | None:
    return ticket if ticket.get("status") == "open" else None


def run(info: dict[str, Any], tickets: int = TICKETS) -> dict[str, Any]:
    bench = Feedback(info)
    problems: list[str] = []
    opened = bench.prepare(uuid.uuid4().hex[:8], tickets, problems)
    samples = [bench.resolve(*one) for one in opened]
    problems.extend(s.problem for s in samples if s.problem)

    def values(name: str) -> list[float]:
        return [v for s in samples if (v := getattr(s, name)) is not None]

    to_scenario, to_webhook = values("to_scenario"), values("to_webhook")
    to_resolved, to_note = values("to_resolved"), values("to_note")
    polls = [p for s in samples for p in s.polls]

    def line(values: list[float]) -> str:
        return (
            f"median {median(values):5.2f} s (min {min(values, default=float('nan')):.2f}, "
            f"p90 {percentile(values, 90):.2f}, n={len(values)})"
        )

    print(f"Jira resolution -> failbridge on the local stack, {len(opened)} tickets one at a time")
    print(
        f"  transition POST -> scenario ready_for_retest:   {line(to_scenario)}; "
        f"polled by GETs of median {median(polls) * 1000:.0f} ms"
    )
    print(f"    webhook answered by the API (emulator log):   {line(to_webhook)}")
    print(f"    `resolved` entry stamped (ticket history):    {line(to_resolved)}")
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
