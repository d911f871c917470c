"""Issue 12: page p95 for a project with 20,000 tickets (printed, not asserted).

In-process moto with the real repositories behind Chalice's test client: 20,000 tickets across
live and ended statuses (a fifth of them look like the same failure), one ticket with 200
occurrences, its scenario's strip, a run of 500 executions and a month of activity. The
dashboard, a ticket page (look-alikes compared against the newest live tickets of its error
type's bucket, as the change stream keeps them), a run page and the drafts page (a page of the
2,500 drafts) are fetched with a session cookie; the figures are moto's time, not DynamoDB's."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._support import CallCounter, median, moto_inprocess, percentile, quiet

PROJECT = "BENCH"
TICKETS = 20_000
OCCURRENCES = 200
RUN_EXECUTIONS = 500
REQUESTS = 20
# a page's calls are sequential; DynamoDB answers a Query of a page of items in single-digit to
# low double-digit milliseconds within a region, so 15 ms a call is a pessimistic estimate
DYNAMODB_MS = 15
STATUSES = ("draft", "open", "reopened", "deferred", "resolved", "verified", "closed", "rejected")


def _seed(c: Any) -> tuple[str, str]:
    from chalicelib.adapters.dynamo.executions import execution_item
    from chalicelib.adapters.dynamo.pages import look_alike_key
    from chalicelib.adapters.dynamo.tickets import ticket_item
    from chalicelib.domain.executions import Execution
    from chalicelib.domain.statuses import is_live
    from chalicelib.domain.tickets import Ticket
    from chalicelib.services.pages import look_alike_entry

    now = datetime.now(UTC)
    tickets = []
    for i in range(TICKETS):
        at = (now - timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
        alike = i % 5 == 0
        tickets.append(
            Ticket(
                id=f"tk_{i:06d}",
                project=PROJECT,
                status=STATUSES[i % len(STATUSES)],
                scenario_id=f"checkout.s{i % 2000}",
                module=("checkout", "search", "cart")[i % 3],
                created_at=at,
                title=f"Scenario {i}",
                actual="HTTP 500 on /pay" if alike else f"element #{i} not found",
                error={
                    "type": "GatewayError" if alike else "TimeoutError",
                    "message": "payment gateway returned 500" if alike else f"waited for #{i}",
                },
                occurrences=OCCURRENCES if i == 0 else 1,
            )
        )
    c.repos.table.batch_put([ticket_item(t) for t in tickets])
    # the look-alike buckets as the change stream's page reader leaves them: live tickets only
    c.repos.table.batch_put(
        [
            {**look_alike_key(entry), **entry}
            for entry in (look_alike_entry(t) for t in tickets if is_live(t.status))
        ]
    )
    target = tickets[0]
    executions = [
        Execution(
            execution_id=f"ex_{n:05d}",
            project=PROJECT,
            run_id=f"run-{n}",
            scenario_id=target.scenario_id,
            test_case_id="TC-1",
            attempt=1,
            status="failed",
            at=(now - timedelta(hours=n)).isoformat().replace("+00:00", "Z"),
            ticket_id=target.id,
            actual="HTTP 500 on /pay",
        )
        for n in range(OCCURRENCES)
    ]
    run = [
        Execution(
            execution_id=f"rx_{n:05d}",
            project=PROJECT,
            run_id="nightly-1",
            scenario_id=f"checkout.s{n}",
            test_case_id=f"TC-{n}",
            attempt=1,
            status="failed" if n % 10 == 0 else "passed",
            at=now.isoformat().replace("+00:00", "Z"),
        )
        for n in range(RUN_EXECUTIONS)
    ]
    c.repos.table.batch_put([execution_item(e) for e in executions + run])
    expires = int(time.time()) + 3600
    c.repos.page_feed.add_results(
        [
            {
                "project": PROJECT,
                "scenarioId": target.scenario_id,
                "executionId": e.execution_id,
                "runId": e.run_id,
                "status": e.status,
                "at": e.at,
            }
            for e in executions
        ],
        expires,
    )
    c.repos.page_feed.add_activity(
        [
            {
                "project": PROJECT,
                "id": f"{t.id}#1",
                "at": t.created_at,
                "ticketId": t.id,
                "to": t.status,
                "module": t.module,
            }
            for t in tickets[:3000]
        ],
        expires,
    )
    return target.id, "nightly-1"


def main() -> None:
    from chalice.test import Client

    import app
    from chalicelib import bootstrap
    from chalicelib.domain.page_links import SESSION_COOKIE, link_url

    with moto_inprocess():
        c = bootstrap.container()
        c.access.create_project(PROJECT, "Benchmark", False, default_lead="lead@example.com")
        ticket_id, run_id = _seed(c)
        print(
            f"  on moto in-process: {TICKETS:,} tickets, one with {OCCURRENCES} occurrences, a "
            f"run of {RUN_EXECUTIONS} executions; Chalice's test client, {REQUESTS} requests each"
        )
        counter = CallCounter().attach(*bootstrap.container().clients.every())
        pages = {
            "dashboard": (f"/dashboard/{PROJECT}", "dashboard", None),
            "ticket": (f"/pages/tickets/{ticket_id}", "ticket", ticket_id),
            "run": (f"/pages/runs/{run_id}?project={PROJECT}", "run", run_id),
            "drafts": (f"/pages/projects/{PROJECT}/drafts", "drafts", None),
        }
        with Client(app.app) as client:
            for label, (path, page, ident) in pages.items():
                url = link_url(
                    c.page_signer,
                    "",
                    project=PROJECT,
                    role="viewer",
                    user="bench",
                    page=page,
                    ident=ident,
                    expires_at=int(time.time()) + 600,
                )
                with quiet():
                    traded = client.http.get(url)
                cookie = traded.headers["Set-Cookie"].split(";", 1)[0]
                assert cookie.startswith(SESSION_COOKIE)
                headers = {"Cookie": cookie}
                times, ours, calls = [], [], []
                for _ in range(REQUESTS):
                    with counter.counting() as tally, quiet():
                        t0 = time.perf_counter()
                        response = client.http.get(path, headers=headers)
                        took = (time.perf_counter() - t0) * 1000
                    times.append(took)
                    ours.append(took - sum(tally.seconds.values()) * 1000)
                    calls.append(tally)
                    assert response.status_code == 200, response.body[:500]
                n = calls[-1].total
                estimate = percentile(ours, 95) + n * DYNAMODB_MS
                print(
                    f"  {label}: {len(response.body):,} bytes, {n} AWS calls "
                    f"({calls[-1].by_operation()}); with moto median {median(times):.0f} ms, "
                    f"p95 {percentile(times, 95):.0f} ms; our code alone median "
                    f"{median(ours):.0f} ms, p95 {percentile(ours, 95):.0f} ms; with DynamoDB "
                    f"at {DYNAMODB_MS} ms a call, about {estimate:.0f}"
                    " ms p95 (estimate)"
                )


if __name__ == "__main__":
    main()
