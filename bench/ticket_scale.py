"""(issue 9) Bounded responses and per-request work at scale, through the API (Chalice's test
client) on moto in-process with the local stack's moto patches (`lean_moto_transactions`):

- `GET /v1/tickets/{id}` of a ticket with 10,000 occurrences: body size and median time, and the
  first page of its occurrences;
- 5,000 drafts of one project and lead: the draft list walked page by page (`?status=draft`) and
  the whole list (no status: the status partitions read in turn), pages and seconds;
- one `POST /results` of 1,000 failures over 10 scenarios (a ~300 KB body): seconds, drafts.

Figures are moto's time on this machine, not DynamoDB's. Printed, never asserted."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._support import CallCounter, lean_moto_transactions, median, moto_inprocess, quiet

PROJECT = "SCALE"
OCCURRENCES = 10_000
DRAFTS = 5_000
FAILURES = 1_000
SCENARIOS = 10
REQUESTS = 10
# as bench/pages.py: a request's calls are sequential; DynamoDB answers a GetItem or a Query of a
# page in single-digit to low double-digit milliseconds, so 15 ms a call is pessimistic
DYNAMODB_MS = 15


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _seed_ticket(c: Any) -> str:
    from chalicelib.adapters.dynamo.executions import execution_item
    from chalicelib.adapters.dynamo.tickets import ticket_item
    from chalicelib.domain.executions import Execution
    from chalicelib.domain.tickets import Ticket

    now = datetime.now(UTC)
    ticket = Ticket(
        id="tk_hot",
        project=PROJECT,
        status="open",
        scenario_id="checkout.hot",
        module="checkout",
        created_at=_iso(now - timedelta(days=30)),
        title="A scenario that fails in every run",
        actual="HTTP 500 on /pay",
        occurrences=OCCURRENCES,
    )
    c.repos.table.batch_put([ticket_item(ticket)])
    c.repos.table.batch_put(
        [
            execution_item(
                Execution(
                    execution_id=f"ex_{n:05d}",
                    project=PROJECT,
                    run_id=f"run-{n}",
                    scenario_id=ticket.scenario_id,
                    test_case_id="TC-1",
                    attempt=1,
                    status="failed",
                    at=_iso(now - timedelta(minutes=n)),
                    ticket_id=ticket.id,
                    actual="HTTP 500 on /pay",
                    error={"type": "AssertionError", "message": "expected 200, got 500"},
                )
            )
            for n in range(OCCURRENCES)
        ]
    )
    return ticket.id


def _seed_drafts(c: Any) -> None:
    from chalicelib.adapters.dynamo.tickets import ticket_item
    from chalicelib.domain.tickets import Ticket

    now = datetime.now(UTC)
    c.repos.table.batch_put(
        [
            ticket_item(
                Ticket(
                    id=f"tk_d{i:05d}",
                    project=PROJECT,
                    status="draft",
                    scenario_id=f"checkout.d{i}",
                    module="checkout",
                    created_at=_iso(now - timedelta(seconds=i)),
                    title=f"Draft {i}",
                    occurrences=1,
                )
            )
            for i in range(DRAFTS)
        ]
    )


def _timed(get: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    with quiet():
        out = get()
    return out, time.perf_counter() - start


def _walk(http: Any, headers: dict[str, str], query: str) -> tuple[int, int, float]:
    """Every page of the ticket list: (tickets, pages, seconds)."""
    seen, pages, cursor, start = 0, 0, "", time.perf_counter()
    while True:
        sep = "&" if query else ""
        with quiet():
            page = json.loads(
                http.get(
                    f"/v1/projects/{PROJECT}/tickets?{query}"
                    + (f"{sep}cursor={cursor}" if cursor else ""),
                    headers=headers,
                ).body
            )
        seen, pages = seen + len(page["items"]), pages + 1
        cursor = page["next"]
        if not cursor:
            return seen, pages, time.perf_counter() - start


def _digest(c: Any) -> None:
    """The 5,000 drafts waiting in their lead's outbox, then one flush: messages sent (Slack's
    sender counted, not called) and what is left."""
    items = [
        {**k, "ticketId": f"tk_d{i:05d}", "lead": "lead@example.com", "at": k["sk"][:20]}
        for i in range(DRAFTS)
        for k in [{"pk": "OUTBOX#lead@example.com", "sk": f"2026-01-01T00:00:00Z#tk_d{i:05d}"}]
    ]
    c.repos.table.batch_put(items)
    decisions = c.decisions
    sent: list[Any] = []
    decisions._notifier.send = lambda message, channel=None: sent.append(message)
    _, took = _timed(lambda: decisions.flush("lead@example.com"))
    left = len(c.repos.outbox.pending("lead@example.com"))
    size = len(json.dumps(sent[0], default=str)) / 1024 if sent else 0
    print(
        f"  one flush of the lead's {DRAFTS:,} waiting drafts: {len(sent)} message(s) "
        f"(~{size:.0f} KB), {left} left in the outbox, {took:.2f} s"
    )


def _failures_body(uid: str) -> str:
    results = [
        {
            "scenarioId": f"checkout.f{uid}{n % SCENARIOS}",
            "testCaseId": f"TC-{uid}-{n}",
            "title": f"Pay by card {n}",
            "module": "checkout",
            "status": "failed",
            "expected": "Order confirmed",
            "actual": "HTTP 500 on /pay",
            "error": {"type": "AssertionError", "message": "expected 200, got 500"},
        }
        for n in range(FAILURES)
    ]
    return json.dumps({"run": {"id": f"big-{uid}", "name": "nightly"}, "results": results})


def main() -> dict[str, Any]:
    from chalice.test import Client

    from chalicelib import bootstrap
    from chalicelib.domain.roles import Role

    figures: dict[str, Any] = {}
    with moto_inprocess(), lean_moto_transactions():
        import app

        c = bootstrap.container()
        c.access.create_project(PROJECT, "Scale", False, default_lead="lead@example.com")
        c.access.put_module(PROJECT, "checkout", "lead@example.com", None)
        viewer = c.access.issue_key(PROJECT, Role.VIEWER, None, "v@example.com")["key"]
        ci = c.access.issue_key(PROJECT, Role.CI, None, None)["key"]
        read = {"Authorization": f"Bearer {viewer}"}
        ticket_id = _seed_ticket(c)
        _seed_drafts(c)
        with Client(app.app) as client:
            http = client.http
            counter = CallCounter().attach(*c.clients.every())
            first = _timed(lambda: http.get(f"/v1/tickets/{ticket_id}", headers=read))
            runs, ours, tallies = [], [], []
            for _ in range(REQUESTS):
                with counter.counting() as tally:
                    run = _timed(lambda: http.get(f"/v1/tickets/{ticket_id}", headers=read))
                runs.append(run)
                ours.append(run[1] - sum(tally.seconds.values()))
                tallies.append(tally)
            body = runs[-1][0].body
            figures["ticket_kb"] = len(body) / 1024
            figures["ticket_ms"] = median([t for _, t in runs]) * 1000
            figures["ticket_ours_ms"] = median(ours) * 1000
            calls = tallies[-1]
            occ, occ_s = _timed(
                lambda: http.get(f"/v1/tickets/{ticket_id}/occurrences", headers=read)
            )
            print(f"ticket with {OCCURRENCES:,} occurrences (moto in-process, through the API):")
            print(
                f"  GET /v1/tickets/{{id}}: {figures['ticket_kb']:.1f} KB, median "
                f"{figures['ticket_ms']:.0f} ms of {REQUESTS} with moto (first "
                f"{first[1] * 1000:.0f} ms); our code alone median "
                f"{figures['ticket_ours_ms']:.0f} ms; {calls.total} AWS calls "
                f"({calls.by_operation(with_seconds=True)}); with DynamoDB at {DYNAMODB_MS} ms a "
                f"call, about {figures['ticket_ours_ms'] + calls.total * DYNAMODB_MS:.0f} ms "
                f"(estimate); first occurrences page {len(occ.body) / 1024:.1f} KB, "
                f"{occ_s * 1000:.0f} ms"
            )
            drafts, pages, took = _walk(http, read, "status=draft")
            print(f"{DRAFTS:,} drafts of one lead:")
            print(f"  ?status=draft walked: {drafts:,} tickets, {pages} pages, {took:.2f} s")
            every, pages, took = _walk(http, read, "")
            print(
                f"  whole list (status partitions in turn): {every:,}, {pages} pages, {took:.2f} s"
            )
            _digest(c)
            post = {"Authorization": f"Bearer {ci}", "Content-Type": "application/json"}
            payload = _failures_body(uuid.uuid4().hex[:4])
            response, took = _timed(
                lambda: http.post(f"/v1/projects/{PROJECT}/results", headers=post, body=payload)
            )
            outcomes = json.loads(response.body).get("results", [])
            tickets = {(o.get("ticket") or {}).get("id") for o in outcomes if o.get("ticket")}
            figures["post_s"] = took
            print(
                f"POST /results, {FAILURES:,} failures over {SCENARIOS} scenarios "
                f"({len(payload) / 1024:.0f} KB): HTTP {response.status_code} in {took:.2f} s, "
                f"{len(tickets)} tickets"
            )
    return figures


if __name__ == "__main__":
    main()
