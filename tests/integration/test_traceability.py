"""Requirements from Jira stories, coverage, and the release and sprint views, against the Jira
emulator (stories with fixVersions and sprints, searched by JQL, paged) through the real client;
and an approved defect linked to its test case's Jira issue and its requirement."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.conftest import Demo, report, result
from tests.integration.test_change_stream import drain_stream, poller
from tests.integration.test_jira import MAPPING, asked, configure, run_jira

TRACE_MAPPING = {
    **MAPPING,
    "requirementsJql": "project = KP AND issuetype = Story",
    "linkTypes": {**MAPPING["linkTypes"], "defectToRequirement": "Relates"},
}


def _client(jira: Any) -> Any:
    from jira import JIRA

    return JIRA(server=jira.url, basic_auth=("bot@example.com", "jira-token"), max_retries=0)


def story(jira: Any, summary: str, versions: list[str], sprints: list[str] = ()) -> str:  # type: ignore[assignment]
    fields: dict[str, Any] = {
        "project": {"key": "KP"},
        "issuetype": {"name": "Story"},
        "summary": summary,
        "fixVersions": [{"name": v} for v in versions],
    }
    if sprints:
        fields["customfield_10020"] = list(sprints)
    return str(_client(jira).create_issue(fields=fields, prefetch=False).key)


def add_case(api: Any, demo: Demo, tc: str, requirements: list[str], **more: Any) -> None:
    body = {"testCaseId": tc, "title": tc, "module": "checkout", "requirements": requirements}
    created = api.post(
        "/v1/projects/DEMO/test-cases",
        headers=demo.auth("tester"),
        body=json.dumps({**body, **more}),
    )
    assert created.status_code == 201, created.body


def get(api: Any, demo: Demo, path: str) -> dict[str, Any]:
    response = api.get(f"/v1/projects/DEMO{path}", headers=demo.auth("viewer"))
    assert response.status_code == 200, response.body
    return dict(json.loads(response.body))


def test_release_and_sprint_views_story_by_story(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any
) -> None:
    assert configure(api, demo, TRACE_MAPPING).status_code == 200
    pump = poller(aws)
    a = story(jira, "Pay by card", ["2.4.0"], ["Sprint 14"])
    b = story(jira, "Pay by voucher", ["2.4.0"], ["Sprint 14"])
    c = story(jira, "Gift wrapping", ["2.4.0"])
    d = story(jira, "Saved carts", ["2.4.0"])
    story(jira, "Next release", ["2.5.0"])
    sync = api.post("/v1/projects/DEMO/requirements/sync", headers=demo.auth("lead"))
    assert sync.status_code == 200, sync.body
    assert json.loads(sync.body) | {"jql": None} == {
        "since": None,
        "jql": None,
        "read": 5,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
    }
    requirement = get(api, demo, f"/requirements/{a}")
    assert requirement["fixVersions"] == ["2.4.0"] and requirement["sprints"] == ["Sprint 14"]

    test_issue = (
        _client(jira)
        .create_issue(
            fields={"project": {"key": "KP"}, "issuetype": {"name": "Task"}, "summary": "Test B1"},
            prefetch=False,
        )
        .key
    )
    add_case(api, demo, "TC-A", [a])
    add_case(api, demo, "TC-B1", [b], jiraTestKey=test_issue)
    add_case(api, demo, "TC-B2", [b])
    add_case(api, demo, "TC-D", [d])
    run = {"id": "rc-1", "release": "2.4.0", "sprint": "Sprint 14"}
    posted = api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=json.dumps(
            {
                "run": run,
                "results": [
                    result(scenarioId="checkout.a", testCaseId="TC-A", status="passed"),
                    result(
                        scenarioId="checkout.b1",
                        testCaseId="TC-B1",
                        jiraTestKey=None,
                        requirements=[],
                    ),
                    result(scenarioId="checkout.b2", testCaseId="TC-B2", status="passed"),
                ],
            }
        ),
    )
    assert posted.status_code == 200, posted.body
    api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report([result(scenarioId="checkout.d", testCaseId="TC-D", status="passed")], "old"),
    )
    ticket_id = json.loads(posted.body)["results"][1]["ticket"]["id"]
    api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "approve"}),
    )
    asked()
    run_jira(aws)
    defect = json.loads(api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).body)
    assert defect["status"] == "open", defect["history"]

    drain_stream(pump)  # results reach coverage through the change stream
    release = get(api, demo, "/releases/2.4.0")
    assert release["summary"] == {
        "fullyTested": 1,
        "withOpenDefects": 1,
        "failing": 0,
        "notRun": 1,
        "untested": 1,
    }, release
    assert [s["id"] for s in release["fullyTested"]] == [a]
    assert [s["id"] for s in release["notRun"]] == [d]
    assert [s["id"] for s in release["untested"]] == [c]
    [with_defects] = release["withOpenDefects"]
    assert with_defects["id"] == b
    assert with_defects["defects"][0]["jira"]["key"] == defect["jira"]["key"]
    gate = release["gate"]
    assert gate["evaluated"] is True and gate["passed"] is False, gate
    assert {r["metric"]: r["value"] for r in gate["results"]} == {
        "passRate": 66.67,  # TC-A and TC-B2 passed, TC-B1 failed; TC-D ran in another release
        "criticalDefects": 0.0,
        "coverage": 75.0,  # 3 of 4 stories have a test case
    }
    assert gate["reasons"] == [
        "bring the pass rate (%) from 66.67 to >= 95",
        "bring the requirements coverage (%) from 75 to >= 80",
    ]
    assert gate["figures"]["openDefects"]["total"] == 1
    sprint = get(api, demo, "/sprints/Sprint%2014")
    assert sprint["summary"]["fullyTested"] == 1 and sprint["summary"]["withOpenDefects"] == 1
    assert sprint["stories"] == 2

    coverage = get(api, demo, "/coverage")
    by_id = {r["id"]: r for r in coverage["requirements"]}
    assert by_id[a]["coverage"] == "complete" and by_id[b]["coverage"] == "partial"
    assert by_id[c]["coverage"] == "none" and by_id[b]["testCases"] == ["TC-B1", "TC-B2"]
    assert coverage["modules"] == [
        {"name": "checkout", "testCases": 4, "coverage": 100.0, "passRate": 75.0}
    ]

    # the defect is linked to its test case's issue and to the story (from the test case)
    issue = jira.issue(defect["jira"]["key"])["fields"]
    linked = {
        (link["type"]["name"], (link.get("inwardIssue") or link.get("outwardIssue"))["key"])
        for link in issue["issuelinks"]
    }
    assert {("Tests", test_issue), ("Relates", b)} <= linked
    tested = jira.issue(test_issue)["fields"]["issuelinks"]
    assert any((lk.get("inwardIssue") or {}).get("key") == b for lk in tested)

    # the next sync reads what changed since (with an overlap) and writes only that
    _client(jira).issue(a).update(fields={"summary": "Pay by card (3-D Secure)"})
    again = json.loads(
        api.post("/v1/projects/DEMO/requirements/sync", headers=demo.auth("lead")).body
    )
    assert again["since"] and "updated >=" in again["jql"]
    assert (again["updated"], again["created"], again["unchanged"]) == (1, 0, 4), again
    assert get(api, demo, f"/requirements/{a}")["title"] == "Pay by card (3-D Secure)"


def test_local_requirements_and_paging(api: Any, demo: Demo) -> None:
    put = api.put(
        "/v1/projects/DEMO/requirements/REQ-LOCAL-1",
        headers=demo.auth("lead"),
        body=json.dumps({"title": "Local", "fixVersions": ["2.4.0"]}),
    )
    assert put.status_code == 200, put.body
    for n in range(3):
        add_case(api, demo, f"TC-L{n}", ["REQ-LOCAL-1", f"REQ-X{n}"])
    first = get(api, demo, "/requirements?limit=2")
    assert [r["id"] for r in first["items"]] == ["REQ-LOCAL-1", "REQ-X0"]
    assert [t["testCaseId"] for t in first["items"][0]["testCases"]] == ["TC-L0", "TC-L1", "TC-L2"]
    second = get(api, demo, f"/requirements?limit=2&cursor={first['next']}")
    assert [r["id"] for r in second["items"]] == ["REQ-X1", "REQ-X2"]
    release = get(api, demo, "/releases/2.4.0")
    assert [s["id"] for s in release["notRun"]] == ["REQ-LOCAL-1"]
    bad = api.put(
        "/v1/projects/DEMO/requirements/has%23hash",
        headers=demo.auth("lead"),
        body=json.dumps({"title": "x"}),
    )
    assert bad.status_code == 422
    sync = api.post("/v1/projects/DEMO/requirements/sync", headers=demo.auth("lead"))
    assert sync.status_code == 422
