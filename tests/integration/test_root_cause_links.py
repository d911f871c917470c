"""A root cause decided as a whole from its Slack links, in-process on moto through the app's
routes: the cluster's page decides nothing, its form decides once (CSRF, single use), a split
keeps the link; approved as one, the one Jira issue (the emulator, through the real jira client)
links every affected test case, those registered by import on merged drafts included."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlencode

from chalicelib import bootstrap
from chalicelib.domain.testcases import TestCase
from tests.integration.conftest import Demo, report, result
from tests.integration.test_jira import asked, configure, jira_issue, run_jira, ticket_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/ci/tests/test_{n}.py", line 3, in test_{n}\n'
    '  File "/ci/shop/payments.py", line 88, in charge\n'
    "ConnectionError: could not reach payments-db at 10.0.0.{n}:5432 after {n}00 ms"
)


def outage(api: Any, demo: Demo, scenarios: int, run_id: str = "rl-1") -> list[str]:
    """One outage failing `scenarios` scenarios; their test cases name no Jira issue in the
    report (a registered test case may)."""
    results = [
        result(
            scenarioId=f"checkout.flow-{n}",
            testCaseId=f"TC-FLOW-{n}",
            jiraTestKey=None,
            error={"type": "ConnectionError", "trace": TRACE.format(n=n)},
        )
        for n in range(scenarios)
    ]
    response = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report(results, run_id)
    )
    assert response.status_code in (200, 201), response.body
    return [o["ticket"]["id"] for o in response.json_body["results"]]


def link(cluster_id: str, lead: str = "lead@example.com") -> str:
    token, _ = bootstrap.container().signer.issue(
        cluster_id, lead, int(time.time()) + 3600, cluster_of="DEMO"
    )
    return f"/v1/cluster-approvals/{token}"


def csrf_of(page: bytes) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.decode())
    assert found, page[:300]
    return found.group(1)


def post(api: Any, path: str, fields: list[tuple[str, str]]) -> Any:
    return api.post(path, headers=FORM, body=urlencode(fields))


def statuses(api: Any, demo: Demo, tickets: list[str]) -> list[str]:
    return [ticket_of(api, demo, t)["status"] for t in tickets]


def test_a_cluster_page_decides_nothing_and_its_form_decides_once(api: Any, demo: Demo) -> None:
    tickets = outage(api, demo, 3)
    cluster_id = bootstrap.container().repos.tickets.get(tickets[0]).cluster_id
    path = link(cluster_id)
    for _ in range(2):  # Slack's and mail scanners' fetches change nothing
        page = api.get(path + "?decision=approve-one", headers={"Accept": "text/html"})
        assert page.status_code == 200, page.body
    html = page.body.decode()
    assert "1 root cause, 3 scenarios: ConnectionError" in html
    assert "checkout.flow-2" in html and "shop.payments:charge" in html
    assert "similar message and frames" in html or "shared signature" in html
    assert 'value="approve-one" checked' in html
    assert page.headers["Content-Type"].startswith("text/html")
    assert statuses(api, demo, tickets) == ["draft"] * 3
    csrf = csrf_of(page.body)

    assert post(api, path, [("decision", "reject")]).status_code == 403  # no CSRF token
    assert api.get(link(cluster_id, "search-lead@example.com")).status_code == 403  # not lead
    assert api.get(path.replace("cluster-approvals", "approvals")).status_code == 403
    bad = post(api, path, [("csrf", csrf), ("decision", "maybe")])
    assert bad.status_code == 422 and "decision must be one of" in bad.body.decode()
    assert statuses(api, demo, tickets) == ["draft"] * 3

    split = post(
        api, path, [("csrf", csrf), ("decision", "split"), ("scenarioIds", "checkout.flow-0")]
    )
    assert split.status_code == 200, split.body
    assert "1 drafts split off" in split.body.decode()
    assert "checkout.flow-0" not in split.body.decode()  # the link still serves the rest

    decided = post(api, path, [("csrf", csrf), ("decision", "reject")])
    assert decided.status_code == 200, decided.body
    assert "The root cause is now decided: reject" in decided.body.decode()
    assert statuses(api, demo, tickets) == ["draft", "rejected", "rejected"]
    again = post(api, path, [("csrf", csrf), ("decision", "reject")])
    assert again.status_code == 409 and "Already decided" in again.body.decode()
    view = api.get(f"/v1/projects/DEMO/clusters/{cluster_id}", headers=demo.auth("viewer"))
    assert view.json_body["decision"]["by"] == "lead@example.com"


def test_approved_as_one_from_the_link_the_jira_issue_links_every_test_case(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any
) -> None:
    configure(api, demo)
    keys = [jira_issue(jira, f"Test: checkout flow {n}") for n in range(3)]
    repos = bootstrap.container().repos
    for n, key in enumerate(keys):  # imported test cases name their Jira issues
        repos.test_cases.create(
            TestCase(project="DEMO", test_case_id=f"TC-FLOW-{n}", title="flow", jira_test_key=key)
        )
    tickets = outage(api, demo, 3, "rl-2")
    cluster_id = repos.tickets.get(tickets[0]).cluster_id
    path = link(cluster_id)
    csrf = csrf_of(api.get(path).body)
    decided = post(api, path, [("csrf", csrf), ("decision", "approve-one")])
    assert decided.status_code == 200, decided.body
    [primary] = [t for t in tickets if ticket_of(api, demo, t)["status"] != "merged"]
    asked()
    deadline = time.monotonic() + 30
    while ticket_of(api, demo, primary)["status"] != "open" and time.monotonic() < deadline:
        run_jira(aws)
    ticket = ticket_of(api, demo, primary)
    assert ticket["status"] == "open", ticket["history"]
    issue = jira.issue(ticket["jira"]["key"])["fields"]
    linked = {
        (link["type"]["name"], (link.get("inwardIssue") or link.get("outwardIssue"))["key"])
        for link in issue["issuelinks"]
    }
    assert {("Tests", key) for key in keys} <= linked  # the merged drafts' test cases too
    creates = [
        r for r in jira.requests if r["method"] == "POST" and r["path"] == "/rest/api/2/issue"
    ]
    assert len(creates) == 3 + 1  # the tests' three test issues, and one defect
