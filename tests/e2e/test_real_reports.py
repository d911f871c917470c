"""Reports written by real tools (tests/fixtures/junit, see its README) through the running local
stack with no mapping configured: one draft per distinct failing test case, each in a module with
a lead who decides it from the Slack message's link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.results import flaky_indexes
from chalicelib.domain.statuses import ResultStatus
from chalicelib.junit import parse_junit
from tests.e2e.conftest import Api
from tests.e2e.test_approvals import decide_by_link, links_for, ticket_of

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


@pytest.mark.parametrize(
    ("fixture", "failing"),
    [
        ("pytest-real.xml", 3),  # pytest 8, --junitxml
        ("jest-junit-real.xml", 3),  # jest 30 + jest-junit 17
        ("surefire.xml", 2),  # Surefire 3; one more test is flaky and opens nothing
        ("go-junit-report.xml", 2),
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

    for ticket_id in opened:
        ticket = ticket_of(api, ticket_id)
        assert ticket["status"] == "draft"
        assert ticket["module"] == stack["defaultModule"]  # no rule, no property
        assert ticket["testCaseId"] in distinct_failing_test_cases(body)
        links = links_for(stack, aws, ticket_id)
        assert "has no lead" in links["message"]  # the default lead is told why they are asked
        decided = decide_by_link(links["reject"], "reject", "reviewed in the e2e suite")
        assert decided.status_code == 200, decided.text
        assert ticket_of(api, ticket_id)["status"] == "rejected"
