"""Reports written by real tools (tests/fixtures/junit, see its README) through the running local
stack with no mapping configured: one draft per distinct failing test case, each in a module with
a lead who decides it from the Slack message's link."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.domain.results import flaky_indexes
from chalicelib.domain.statuses import ResultStatus
from chalicelib.junit import parse_junit
from tests.e2e.conftest import Api, wait_for
from tests.e2e.test_approvals import decide_by_link, links_for, outbox, slack_links, ticket_of

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "junit"


def distinct_failing_test_cases(body: bytes) -> set[str]:
    results = parse_junit(body)
    flaky = flaky_indexes(results)
    return {
        r.test_case_id
        for i, r in enumerate(results)
        if r.status is ResultStatus.FAILED and i not in flaky
    }


def slack_lines(stack: dict[str, Any]) -> list[str]:
    path = outbox(stack)
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


MORE_LINK = re.compile(r"<([^|>]+)\|[Ss]ee every draft waiting")


def more_links(lines: list[str]) -> list[str]:
    """The digest's links to the drafts page (a lead's signed view link): drafts past what one
    Slack message shows are decided there, each by its own approval link."""
    return [url for line in lines for url in MORE_LINK.findall(line)]


def decide_from_drafts_page(url: str, wanted: set[str]) -> set[str]:
    """Open the lead's drafts page from the message's link (the link is traded for a cookie),
    walk its pages, and reject each wanted draft by its own approval link; the ids decided."""
    traded = requests.get(url, allow_redirects=False, timeout=30)
    assert traded.status_code == 303, traded.text
    # the session cookie is Secure: a browser sends it to localhost over http, requests does not
    cookie = traded.headers["Set-Cookie"].split(";", 1)[0]
    browser = requests.Session()
    browser.headers["Cookie"] = cookie
    drafts_page = url.split("?", 1)[0]
    page = browser.get(drafts_page, timeout=30)
    assert page.status_code == 200, page.text
    decided: set[str] = set()
    while True:
        for row in page.text.split("<tr>")[1:]:
            ticket = re.search(r'<a href="/pages/tickets/([^"]+)">', row)
            decide = re.search(r'<a class="decide" href="([^"]+)"', row)
            if ticket and decide and ticket.group(1) in wanted - decided:
                href = decide.group(1).replace("&amp;", "&")
                answer = decide_by_link(href, "reject", "reviewed in the e2e suite")
                assert answer.status_code == 200, answer.text
                decided.add(ticket.group(1))
        following = re.search(r'<a href="(\?cursor=[^"]+)">Next page</a>', page.text)
        if not following:
            return decided
        page = browser.get(drafts_page + following.group(1).replace("&amp;", "&"), timeout=30)


def reject_all_from_slack(stack: dict[str, Any], drafts: set[str]) -> dict[str, str]:
    """Reject each draft from the lead's Slack messages as a lead would: by its own buttons
    where its line has them, else by its root cause's "Reject all" link (a digest line keeps
    the buttons of a root cause's first drafts only), else from the drafts page the message
    links to (a message lists what Slack's 50 blocks allow). How each was reached, by id."""

    def ours(lines: list[str]) -> list[str]:  # the stack's outbox has earlier tests' too
        return [line for line in lines if any(t in line for t in drafts)]

    lines = wait_for(
        lambda: (
            (ls := slack_lines(stack))
            and (all(any(t in line for line in ls) for t in drafts) or more_links(ours(ls)))
            and ours(ls)
        ),
        timeout=90,
    )
    how: dict[str, str] = {}
    for ticket_id in sorted(drafts):
        links = slack_links(stack, ticket_id)
        if links is None:
            continue
        assert "has no lead" in links["message"]  # the default lead is told why they are asked
        decided = decide_by_link(links["reject"], "reject", "reviewed in the e2e suite")
        assert decided.status_code == 200, decided.text
        how[ticket_id] = "own link"
    for ticket_id in sorted(drafts - set(how)):
        named = [line for line in lines if ticket_id in line]
        if not named:
            continue
        [line] = named
        assert "has no lead" in line
        [url] = [
            e["url"]
            for b in json.loads(line)["blocks"]
            if b.get("block_id", "").startswith("cluster:")
            for e in b["elements"]
            if e["action_id"] == "open_cluster_reject"
        ]
        page = requests.get(url, timeout=30)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if found:  # used already by an earlier draft of the same line: that decided this one
            form = {"csrf": found.group(1), "decision": "reject"}
            assert requests.post(url, data=form, timeout=120).status_code == 200
        how[ticket_id] = "root cause link"
    rest = drafts - set(how)
    if rest:  # behind the message's "See every draft waiting" link
        [first, *_] = more_links(lines)
        for ticket_id in decide_from_drafts_page(first, rest):
            how[ticket_id] = "drafts page"
        for ticket_id in drafts - set(how):  # not listed: decided with its root cause already
            how[ticket_id] = "root cause link, behind the more link"
    return how


@pytest.mark.parametrize(
    ("fixture", "failing"),
    [
        ("pytest-real.xml", 3),  # pytest 8, --junitxml
        ("pytest-six.xml", 29),  # pytest over six's own suite, two faults injected
        ("jest-junit-real.xml", 3),  # jest 30 + jest-junit 17
        ("surefire-real.xml", 2),  # Maven Surefire 2.22; one more test is flaky, opens nothing
        ("gradle-real.xml", 2),  # Gradle 4.4
        ("go-junit-report-real.xml", 3),  # go test -v | go-junit-report 2.1 (a parent test too)
    ],
)
def test_a_real_report_opens_one_decidable_draft_per_failing_test(
    api: Api, stack: dict[str, Any], aws: Any, uid: str, fixture: str, failing: int
) -> None:
    body = (FIXTURES / fixture).read_bytes()
    assert len(distinct_failing_test_cases(body)) == failing
    response = api.post(
        f"/v1/projects/{api.project}/runs/real-{uid}/junit",
        data=body,
        headers={"Content-Type": "application/xml"},
    )
    assert response.status_code == 200, response.text
    opened = {o["ticket"]["id"] for o in response.json()["results"] if o["ticket"]}
    assert len(opened) == failing

    how = reject_all_from_slack(stack, opened)
    seen_cases = set()
    for ticket_id in opened:
        ticket = ticket_of(api, ticket_id)
        assert ticket["module"] == stack["defaultModule"]  # no rule, no property
        assert ticket["scenarioId"] == ticket["testCaseId"]  # no scenario declared
        assert ticket["status"] == "rejected", (how[ticket_id], ticket["history"])
        assert ticket["history"][-1]["by"] == stack["defaultLead"]
        seen_cases.add(ticket["testCaseId"])
    assert seen_cases == distinct_failing_test_cases(body)  # one draft each, none collapsed


def test_a_declared_scenario_of_many_test_cases_fails_while_any_failed_and_its_lead_decides(
    api: Api, stack: dict[str, Any], aws: Any, uid: str
) -> None:
    """six's suite with `scenario = test_six-<uid>` and a module that has a lead: one draft for
    the scenario, which stays failing though its last test case passed, and shows each test
    case's latest result; the module's lead (not the default lead) decides it by its link."""
    body = (FIXTURES / "pytest-six.xml").read_bytes()
    admin = {"Authorization": f"Bearer {api.keys['admin']}"}
    module, scenario, lead = f"six-{uid}", f"test_six-{uid}", f"six-{uid}@example.com"
    rules = [
        {
            "match": {"field": "classname", "prefix": "test_six"},
            "set": {"scenario": scenario, "module": module},
        }
    ]
    put = api.request(
        "PUT", f"/v1/projects/{api.project}/modules/{module}", role="admin", json={"lead": lead}
    )
    assert put.status_code == 200, put.text
    preview = api.post(
        f"/v1/projects/{api.project}/mapping/preview",
        role="admin",
        json={"report": body.decode(), "mappingRules": rules},
    ).json()
    assert preview["summary"]["drafts"] == 1 and preview["summary"]["scenarios"] == 1
    assert {(i["module"], i["lead"], i["leadIsDefault"]) for i in preview["items"]} == {
        (module, lead, False)
    }
    saved = api.request(
        "PUT", f"/v1/projects/{api.project}/mapping", headers=admin, json={"mappingRules": rules}
    )
    assert saved.status_code == 200, saved.text
    try:
        response = api.post(
            f"/v1/projects/{api.project}/runs/six-{uid}/junit",
            data=body,
            headers={"Content-Type": "application/xml"},
        )
    finally:
        restored = api.request(
            "PUT", f"/v1/projects/{api.project}/mapping", headers=admin, json={"mappingRules": []}
        )
        assert restored.status_code == 200, restored.text
    assert response.status_code == 200, response.text
    [ticket_id] = {o["ticket"]["id"] for o in response.json()["results"] if o["ticket"]}

    got = api.get(f"/v1/projects/{api.project}/scenarios/{scenario}").json()
    failing = distinct_failing_test_cases(body)
    assert got["status"] == "failing"
    assert got["lastExecution"]["status"] == "passed"  # the report's last test case passed
    latest = {r["testCaseId"]: r["latest"]["status"] for r in got["testCaseResults"]}
    assert set(latest) == {r.test_case_id for r in parse_junit(body)}  # all 200, skips too
    assert {tc for tc, status in latest.items() if status == "failed"} == failing
    assert set(got["failingTestCases"]) == failing

    links = links_for(stack, aws, ticket_id)
    assert "has no lead" not in links["message"]
    decided = decide_by_link(links["reject"], "reject", "reviewed in the e2e suite")
    assert decided.status_code == 200, decided.text
    ticket = ticket_of(api, ticket_id)
    assert (ticket["status"], ticket["module"]) == ("rejected", module)
    assert ticket["history"][-1]["by"] == lead
    # the rules were put back: the stored ticket keeps the identity it was opened with
    assert ticket["scenarioId"] == scenario
