"""Issue 4's figures on the local stack: the Jira HTTP calls failbridge makes per approved ticket,
against the minimum, and the time from the approval to the ticket's Jira key.

Each ticket is a failure of a new scenario whose test case is a Jira issue (`jiraTestKey`, created
in the emulator's project KP through its REST API first), with CI run, report and script URLs and
one evidence file (POST /v1/tickets/{id}/attachments, then the presigned S3 POST; the bench waits
until the upload handler has stored it). The lead approves once the draft's Slack message came.

The calls are read from the emulator's request log (`GET /_emulator/requests`), cleared before each
approval (`DELETE`), and grouped by method and path (issue keys and ids replaced by placeholders).
The minimum for one ticket is what it must tell Jira, one request each: create the issue, link it
to the test case, the remote links (CI run, report, script, and the link back to the failbridge
ticket), upload the attachment: 1 + 1 + 4 + 1 = 7. The ratio is calls / minimum (target <= 1.2).

Tickets go one at a time so each one's calls are its own. The first ticket is shown apart: a
cold Lambda builds the jira client first (one more call, GET serverInfo). On the local stack the
client was already built when the stack saved DEMO's Jira mapping, so the first is warm too.

Times: from the approval POST to GET /v1/tickets/{id} showing `jira.key` (failbridge records the key
right after the create, before links and attachments), and to the ticket being `open`."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from bench._support import ROOT, local_stack, median, stack_errors, wait_until

TICKETS = 5
READY_TIMEOUT = 15.0
OPEN_TIMEOUT = 30.0
EVIDENCE = b"\x89PNG\r\n\x1a\n" + b"evidence " * 100
# (what, how many) for one ticket with a jiraTestKey, three URLs and one stored attachment
MINIMUM = (("create issue", 1), ("issue link", 1), ("remote links", 4), ("attachment", 1))
TARGET = 1.2

_API = re.compile(r"^/rest/api/(?:\d+|latest)")
_KEY = re.compile(r"/[A-Z][A-Z0-9]+-\d+(?=/|$)")
_ID = re.compile(r"/\d+(?=/|$)")
# moto's Step Functions logs an ERROR for the workflow's `IsPresent` test of a missing `$.resume`
# (infra/ticket-workflow.asl.json, state Resume), which is how that test is meant to go.
MOTO_NOISE = "'$.resume'"


def normalized(method: str, path: str) -> str:
    """`POST /rest/api/2/issue/{key}/remotelink`: keys and ids replaced (not the API version)."""
    match = _API.match(path)
    prefix = match.group(0) if match else ""
    rest = path[len(prefix) :]
    return f"{method} {prefix}" + _ID.sub("/{id}", _KEY.sub("/{key}", rest))


def print_errors(info: dict[str, Any]) -> None:
    """The stack's error lines (bench._support.stack_errors) but moto's `$.resume` noise."""
    errors = [e for e in stack_errors(info) if MOTO_NOISE not in e]
    if errors:
        print(f"  the stack logged {len(errors)} error line(s); the first: {errors[0][:500]}")
    else:
        print("  the stack logged no errors (moto's `$.resume` IsPresent lines aside)")


class Bench:
    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.api = str(info["api"])
        self.jira = str(info["jira"]).rstrip("/")
        self.project = str(info["project"])
        keys = info["keys"]
        self.auth = {role: {"Authorization": f"Bearer {keys[role]}"} for role in keys}
        user = info["jiraUser"]
        self.jira_auth = (str(user["email"]), str(user["token"]))
        self.session = requests.Session()
        self.outbox = ROOT / info["slackOutbox"]  # relative paths are the repository's

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        response = self.session.get(
            f"{self.api}/v1/tickets/{ticket_id}", headers=self.auth["viewer"], timeout=30
        )
        response.raise_for_status()
        return dict(response.json())

    def test_case_issue(self, summary: str) -> str:
        response = self.session.post(
            f"{self.jira}/rest/api/2/issue",
            json={
                "fields": {
                    "project": {"key": "KP"},
                    "issuetype": {"name": "Test"},
                    "summary": summary,
                }
            },
            auth=self.jira_auth,
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["key"])

    def draft(self, uid: str, n: int, test_key: str) -> str:
        run_id = f"jc-{uid}-{n:02d}"
        body: dict[str, Any] = {
            "run": {
                "id": run_id,
                "name": "nightly",
                "ciUrl": f"https://ci.example.com/{run_id}",
            },
            "results": [
                {
                    "scenarioId": f"checkout.jira-calls-{uid}-{n:02d}",
                    "testCaseId": f"TC-JC-{n:02d}",
                    "title": f"Jira calls {n}",
                    "module": "checkout",
                    "status": "failed",
                    "actual": "HTTP 500 on /pay",
                    "reporter": "alice@example.com",
                    "reportUrl": f"https://ci.example.com/{run_id}/report.html",
                    "scriptUrl": "https://git.example.com/tests/test_pay.py#L40",
                    "jiraTestKey": test_key,
                }
            ],
        }
        response = self.session.post(
            f"{self.api}/v1/projects/{self.project}/results",
            json=body,
            headers=self.auth["ci"],
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["results"][0]["ticket"]["id"])

    def attach(self, ticket_id: str) -> str:
        announced = self.session.post(
            f"{self.api}/v1/tickets/{ticket_id}/attachments",
            json={"fileName": "screen.png", "contentType": "image/png", "size": len(EVIDENCE)},
            headers=self.auth["tester"],
            timeout=30,
        )
        if announced.status_code != 201:
            raise RuntimeError(f"attachment: {announced.status_code} {announced.text[:300]}")
        post = announced.json()
        uploaded = requests.post(
            post["url"],
            data=post["fields"],
            files={"file": ("screen.png", EVIDENCE, "image/png")},
            timeout=30,
        )
        if uploaded.status_code >= 300:
            raise RuntimeError(f"upload: {uploaded.status_code} {uploaded.text[:300]}")
        return str(post["attachmentId"])

    def stored(self, ticket_id: str, attachment_id: str) -> str | None:
        for attachment in self.ticket(ticket_id).get("attachments") or []:
            if attachment.get("attachmentId") == attachment_id:
                status = str(attachment.get("status"))
                return status if status != "pending" else None
        return None

    def messaged(self, ticket_id: str) -> bool:
        text = self.outbox.read_text(encoding="utf-8") if self.outbox.exists() else ""
        return f"decide:{ticket_id}" in text

    def issue_outcome(self, key: str) -> dict[str, Any]:
        """What the issue ended up with: linked issues, attachments, remote links."""
        issue = self.session.get(
            f"{self.jira}/rest/api/2/issue/{key}", auth=self.jira_auth, timeout=30
        ).json()["fields"]
        remote = self.session.get(
            f"{self.jira}/rest/api/2/issue/{key}/remotelink", auth=self.jira_auth, timeout=30
        ).json()
        return {
            "links": sorted(
                (link.get("inwardIssue") or link.get("outwardIssue") or {}).get("key", "?")
                for link in issue.get("issuelinks") or []
            ),
            "attachments": len(issue.get("attachment") or []),
            "remoteLinks": len(remote),
        }

    def jira_requests(self) -> list[dict[str, Any]]:
        response = self.session.get(f"{self.jira}/_emulator/requests", timeout=30)
        response.raise_for_status()
        return list(response.json())

    def clear_jira_requests(self) -> None:
        self.session.delete(f"{self.jira}/_emulator/requests", timeout=30).raise_for_status()


@dataclass
class Measured:
    calls: Counter[str] = field(default_factory=Counter)
    to_key: float | None = None
    to_open: float | None = None
    problems: list[str] = field(default_factory=list)


def one_ticket(bench: Bench, uid: str, n: int) -> Measured:
    """Prepare one ticket, approve it, and measure its Jira calls and times."""
    out = Measured()
    test_key = bench.test_case_issue(f"Test case TC-JC-{n:02d} ({uid})")
    ticket_id = bench.draft(uid, n, test_key)
    label = f"ticket {n} ({ticket_id})"
    attachment_id = bench.attach(ticket_id)
    settled = wait_until(lambda: bench.stored(ticket_id, attachment_id), READY_TIMEOUT)
    if settled != "stored":
        out.problems.append(f"{label}: evidence {settled or 'still pending'}")
    # The lead decides once the draft's message came: a decision made before the workflow's
    # await_decision task ran is lost to the workflow (the ticket stays approved).
    if not wait_until(lambda: bench.messaged(ticket_id), READY_TIMEOUT):
        out.problems.append(f"{label}: no Slack message in {READY_TIMEOUT} s")
    bench.clear_jira_requests()

    posted = time.perf_counter()
    decided = bench.session.post(
        f"{bench.api}/v1/tickets/{ticket_id}/decision",
        json={"decision": "approve"},
        headers=bench.auth["lead"],
        timeout=30,
    )
    if decided.status_code != 200:
        out.problems.append(f"{label}: decision {decided.status_code} {decided.text[:300]}")
        return out
    last: dict[str, Any] = {}

    def keyed() -> bool:
        last.update(bench.ticket(ticket_id))
        return bool((last.get("jira") or {}).get("key"))

    if not wait_until(keyed, OPEN_TIMEOUT):
        out.problems.append(
            f"{label}: no Jira key in {OPEN_TIMEOUT} s; "
            f"status {last.get('status')}, history {last.get('history')}"
        )
        return out
    out.to_key = time.perf_counter() - posted
    if not wait_until(lambda: bench.ticket(ticket_id)["status"] == "open", OPEN_TIMEOUT):
        out.problems.append(f"{label}: has a key but is not open")
        return out
    out.to_open = time.perf_counter() - posted
    time.sleep(0.3)  # anything failbridge still sends after `open` counts too
    out.calls = Counter(normalized(r["method"], r["path"]) for r in bench.jira_requests())
    ticket = bench.ticket(ticket_id)
    warnings = ticket.get("jiraWarnings") or ticket.get("warnings")
    if warnings:
        out.problems.append(f"{label}: Jira warnings {warnings}")
    made = bench.issue_outcome(str(ticket["jira"]["key"]))
    if made != {"links": [test_key], "attachments": 1, "remoteLinks": 4}:
        out.problems.append(f"{label}: the issue has {made}")
    return out


def run(info: dict[str, Any], tickets: int = TICKETS) -> dict[str, Any]:
    bench = Bench(info)
    uid = uuid.uuid4().hex[:8]
    minimum = sum(n for _, n in MINIMUM)
    per_ticket: list[Counter[str]] = []
    to_key: list[float] = []
    to_open: list[float] = []
    problems: list[str] = []
    for n in range(tickets):
        measured = one_ticket(bench, uid, n)
        problems.extend(measured.problems)
        if measured.to_key is not None:
            to_key.append(measured.to_key)
        if measured.to_open is not None:
            to_open.append(measured.to_open)
            per_ticket.append(measured.calls)

    print(
        f"Jira calls per approved ticket on the local stack, {tickets} tickets one at a time "
        "(each with a jiraTestKey, 3 URLs, 1 evidence file)"
    )
    print(
        "  minimum per ticket: "
        + " + ".join(f"{what} {n}" for what, n in MINIMUM)
        + f" = {minimum}"
    )
    if per_ticket:
        warm = per_ticket[1:] or per_ticket
        totals = [sum(c.values()) for c in per_ticket]
        print(f"  calls per ticket, in order: {totals}")
        print("  by method and path (first ticket / each later one, mean):")
        names = sorted(set().union(*per_ticket), key=lambda k: (k.split()[1], k.split()[0]))
        for name in names:
            later = sum(c[name] for c in warm) / len(warm)
            print(f"    {per_ticket[0][name]:3d} / {later:4.1f}  {name}")
        warm_mean = sum(sum(c.values()) for c in warm) / len(warm)
        print(
            f"  ratio calls / minimum: warm {warm_mean / minimum:.2f} "
            f"({warm_mean:.1f} / {minimum}), first ticket {totals[0] / minimum:.2f} "
            f"({totals[0]} / {minimum}); target <= {TARGET}"
        )
    print(
        f"  approval POST -> Jira key on the ticket: median {median(to_key):.2f} s "
        f"(min {min(to_key, default=float('nan')):.2f}, max {max(to_key, default=float('nan')):.2f}"
        f", n={len(to_key)}); -> open: median {median(to_open):.2f} s"
    )
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    print_errors(info)
    warm = per_ticket[1:] or per_ticket
    warm_calls = sum(sum(c.values()) for c in warm) / len(warm) if warm else float("nan")
    return {
        "calls_per_ticket": [sum(c.values()) for c in per_ticket],
        "ratio_warm": warm_calls / minimum,
        "approve_to_key_median_s": median(to_key),
        "approve_to_open_median_s": median(to_open),
        "problems": problems,
    }


def main(tickets: int = TICKETS) -> dict[str, Any]:
    with local_stack() as info:
        return run(info, tickets)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.jira_calls")
    parser.add_argument("--tickets", type=int, default=TICKETS)
    args = parser.parse_args()
    main(args.tickets)
