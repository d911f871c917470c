"""Issue 3's figures on the local stack (started with FAILBRIDGE_DIGEST_SECONDS=1):

- report -> Slack: from POSTing a failure of a new scenario to its message appearing in the stack's
  Slack outbox (stack.json `slackOutbox`, one JSON object a line). It includes the digest window
  (1 s here; 60 s by default) and the trip through Step Functions and the workflow queue.
- approve -> approved: from POSTing the message's approval link (`open_approve` button, form
  `decision=approve`) to GET /v1/tickets/{id} showing the ticket approved (or past approved:
  jira_pending, open, ... once the Jira step has run).

One draft at a time (distinct scenarios), each waiting for its own message: drafts arriving in one
window would share a digest. Before each next draft the bench waits for the wall clock to pass the
whole second in which the last message arrived: a draft queued in the last second of a window whose
digest has already been sent opens no window of its own (`closesAt < now` in whole seconds) and
waits for the next draft's digest (a bug, reported with these benchmarks). `--no-gap` skips that
wait and shows the stranded drafts."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import requests

from bench._support import (
    ROOT,
    local_stack,
    median,
    percentile,
    print_stack_errors,
    wait_until,
)

DRAFTS = 10
DIGEST_SECONDS = "1"
MESSAGE_TIMEOUT = 10.0
APPROVAL_TIMEOUT = 20.0
APPROVED_OR_LATER = {
    "approved",
    "jira_pending",
    "jira_failed",
    "open",
    "deferred",
    "blocked",
    "resolved",
    "reopened",
}


class Outbox:
    """Reads the Slack outbox as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.messages: list[dict[str, Any]] = []

    def read(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            if line.strip():
                self.messages.append(json.loads(line))

    def approve_url(self, ticket_id: str) -> tuple[str, int] | None:
        """The ticket's approval link, and how many drafts the message carrying it lists."""
        for message in self.messages:
            blocks = message.get("blocks") or []
            drafts = sum(1 for b in blocks if b.get("type") == "actions")
            for block in blocks:
                if block.get("type") != "actions" or block.get("block_id") != f"decide:{ticket_id}":
                    continue
                for element in block.get("elements", []):
                    if element.get("action_id") == "open_approve":
                        return str(element["url"]), drafts
        return None


def run(info: dict[str, Any], drafts: int = DRAFTS, *, gap: bool = True) -> dict[str, Any]:
    api, project, keys = info["api"], info["project"], info["keys"]
    ci = {"Authorization": f"Bearer {keys['ci']}"}
    viewer = {"Authorization": f"Bearer {keys['viewer']}"}
    outbox = Outbox(ROOT / info["slackOutbox"])  # relative paths are the repository's
    uid = uuid.uuid4().hex[:8]
    to_slack: list[float] = []
    to_approved: list[float] = []
    approve_posts: list[float] = []
    shared: list[int] = []
    statuses: Counter[str] = Counter()
    problems: list[str] = []
    stranded = 0
    last_message_at = 0.0  # wall clock
    session = requests.Session()
    for n in range(drafts):
        if gap:
            time.sleep(max(0.0, math.floor(last_message_at) + 1.05 - time.time()))
        scenario = f"checkout.approval-{uid}-{n:02d}"
        body: dict[str, Any] = {
            "run": {"id": f"appr-{uid}-{n:02d}", "name": "nightly"},
            "results": [
                {
                    "scenarioId": scenario,
                    "testCaseId": f"TC-APPR-{n:02d}",
                    "title": f"Approval latency {n}",
                    "module": "checkout",
                    "status": "failed",
                    "actual": "HTTP 500 on /pay",
                    "reporter": "alice@example.com",
                }
            ],
        }
        reported = time.perf_counter()
        response = session.post(
            f"{api}/v1/projects/{project}/results", json=body, headers=ci, timeout=30
        )
        if response.status_code != 200:
            problems.append(f"draft {n}: POST results {response.status_code} {response.text[:300]}")
            continue
        ticket = response.json()["results"][0]["ticket"]
        ticket_id = ticket["id"]

        def message(ticket_id: str = ticket_id) -> tuple[str, int] | None:
            outbox.read()
            return outbox.approve_url(ticket_id)

        found = wait_until(message, MESSAGE_TIMEOUT)
        if not found:
            stranded += 1
            problems.append(f"draft {n} ({ticket_id}): no Slack message in {MESSAGE_TIMEOUT} s")
            continue
        to_slack.append(time.perf_counter() - reported)
        last_message_at = time.time()
        url, listed = found
        shared.append(listed)

        posted = time.perf_counter()
        answer = session.post(url, data={"decision": "approve"}, timeout=30)
        approve_posts.append(time.perf_counter() - posted)
        if answer.status_code != 200:
            problems.append(
                f"draft {n} ({ticket_id}): POST {url} -> {answer.status_code} {answer.text[:300]}"
            )
            continue

        def approved(ticket_id: str = ticket_id) -> str | None:
            got = session.get(f"{api}/v1/tickets/{ticket_id}", headers=viewer, timeout=30)
            status = got.json().get("status") if got.status_code == 200 else None
            return status if status in APPROVED_OR_LATER else None

        status = wait_until(approved, APPROVAL_TIMEOUT)
        if not status:
            problems.append(f"draft {n} ({ticket_id}): not approved in {APPROVAL_TIMEOUT} s")
            continue
        to_approved.append(time.perf_counter() - posted)
        statuses[status] += 1

    print(
        f"Approval latency on the local stack (FAILBRIDGE_DIGEST_SECONDS={DIGEST_SECONDS}), "
        f"{drafts} drafts one at a time"
    )
    print(
        f"  report -> Slack message:    median {median(to_slack):6.2f} s  "
        f"(min {min(to_slack, default=float('nan')):.2f}, "
        f"p90 {percentile(to_slack, 90):.2f}, n={len(to_slack)}); "
        f"includes the {DIGEST_SECONDS} s digest window"
    )
    print(
        f"  approve POST -> approved:   median {median(to_approved):6.2f} s  "
        f"(max {max(to_approved, default=float('nan')):.2f}, n={len(to_approved)}); "
        f"the POST itself: median {median(approve_posts) * 1000:.0f} ms; "
        f"status first seen: {dict(statuses)}"
    )
    if shared and max(shared) > 1:
        print(f"  note: some messages listed more than one draft (up to {max(shared)})")
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    if stranded:
        print(
            f"  {stranded} draft(s) got no message of their own: queued in the last second of a "
            "window whose digest had gone out, they wait for the next draft's digest"
        )
    print_stack_errors(info)
    return {
        "report_to_slack_median_s": median(to_slack),
        "approve_to_approved_median_s": median(to_approved),
        "stranded": stranded,
        "problems": problems,
    }


def main(drafts: int = DRAFTS, *, gap: bool = True) -> dict[str, Any]:
    with local_stack({"FAILBRIDGE_DIGEST_SECONDS": DIGEST_SECONDS}) as info:
        return run(info, drafts, gap=gap)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.approval_latency")
    parser.add_argument("--drafts", type=int, default=DRAFTS)
    parser.add_argument(
        "--no-gap", action="store_true", help="report the next draft at once (shows the bug)"
    )
    args = parser.parse_args()
    main(args.drafts, gap=not args.no_gap)
