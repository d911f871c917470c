"""A test lead's release on the local stack, over HTTP: the plan for release 2.4 written, sent for
review, refused to a lead of another module, approved by the module's lead, edited as its next
revision; a manual run started from it on `staging-eu` for three testers, who record their
results (in parallel at the end) while progress moves; a failure recorded by hand opens a draft
the lead is asked about in Slack, and CI's failure of the same scenario joins it; resolved in
Jira, the tester's passing re-test by hand verifies it; a failure CI reported first is joined by
the tester's; the run records the staging-eu snapshot it ran on; the
plan's exit criteria are the quality gates' verdict on it. Another run closes on request."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import Api, assert_error, wait_for

ROOT = Path(__file__).resolve().parents[2]
P = "/v1/projects/DEMO"
TESTERS = ["ann@example.com", "bob@example.com", "cid@example.com"]


def key_for(api: Api, role: str, user: str) -> str:
    issued = api.post(f"{P}/keys", role="admin", json={"role": role, "user": user})
    assert issued.status_code in (200, 201), issued.text
    return str(issued.json()["key"])


def as_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def progress(api: Api, run_id: str) -> dict[str, Any]:
    got = api.get(f"{P}/runs/{run_id}")
    assert got.status_code == 200, got.text
    return dict(got.json()["progress"])


def slack_mentions(stack: dict[str, Any], ticket_id: str) -> bool:
    path = Path(stack["slackOutbox"])
    path = path if path.is_absolute() else ROOT / path
    return path.exists() and ticket_id in path.read_text(encoding="utf-8")


def test_plan_for_release_2_4_then_a_manual_run(api: Api, stack: dict[str, Any], uid: str) -> None:
    cases = [f"TC-REL24-{uid}-{i}" for i in range(1, 7)]
    for tc in cases:
        created = api.post(
            f"{P}/test-cases",
            role="lead",
            json={"testCaseId": tc, "title": f"Checkout step {tc[-1]}", "module": "checkout"},
        )
        assert created.status_code == 201, created.text
    # a smoke suite reaches into another module: the plan's scope takes it by suite
    smoke = f"TC-SMOKE-{uid}"
    created = api.post(
        f"{P}/test-cases",
        role="lead",
        json={"testCaseId": smoke, "title": "Search loads", "module": "search", "suite": uid},
    )
    assert created.status_code == 201, created.text

    # the lead writes the plan for release 2.4 and sends it for review
    plan_id = f"rel-2-4-{uid}"
    body = {
        "planId": plan_id,
        "name": "Release 2.4 regression",
        "release": "2.4",
        "scope": {"modules": ["checkout"], "suites": [uid], "testCases": cases[:2]},
        "strategy": {"approach": "risk-based", "testTypes": ["functional", "regression"]},
        "schedule": {
            "start": "2026-12-07",
            "end": "2026-12-18",
            "milestones": [{"name": "code freeze", "date": "2026-12-11"}],
        },
        "resources": [{"name": t, "role": "tester"} for t in TESTERS],
        "risks": [
            {
                "description": "payment sandbox outages",
                "likelihood": "medium",
                "impact": "high",
                "mitigation": "book staging-eu for the whole week",
            }
        ],
        "entryCriteria": [{"metric": "criticalDefects", "operator": "eq", "threshold": 0}],
        "exitCriteria": [{"metric": "passRate", "operator": "gte", "threshold": 95}],
    }
    written = api.post(f"{P}/test-plans", role="lead", json=body)
    assert written.status_code == 201, written.text
    assert (written.json()["status"], written.json()["revision"]) == ("draft", 1)
    bad = api.post(f"{P}/test-plans", role="lead", json={**body, "risks": [{"description": "x"}]})
    assert {d["field"] for d in assert_error(bad, 422)["details"]} >= {"risks[0].likelihood"}
    status = f"{P}/test-plans/{plan_id}/status"
    assert api.post(status, role="lead", json={"action": "submit"}).status_code == 200

    # a lead of another module may not approve it; the checkout lead does
    search_lead = key_for(api, "lead", "search-lead@example.com")
    refused = requests.post(
        api.base + status, json={"action": "approve"}, headers=as_key(search_lead), timeout=30
    )
    assert "lead@example.com" in assert_error(refused, 403)["message"]
    approved = api.post(status, role="lead", json={"action": "approve"})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["approvedRevision"]) == ("approved", 1)
    plan = api.get(f"{P}/test-plans/{plan_id}").json()
    assert plan["exitEvaluation"]["results"][0]["metric"] == "passRate"

    # an approved plan is edited only as its next revision
    edited = api.request(
        "PUT",
        f"{P}/test-plans/{plan_id}",
        role="lead",
        json={**body, "name": "Release 2.4 (+ vouchers)"},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["revision"], edited.json()["status"]) == (2, "draft")
    revisions = api.get(f"{P}/test-plans/{plan_id}/revisions").json()["items"]
    assert [(r["revision"], r["status"], r["name"]) for r in revisions] == [
        (1, "approved", "Release 2.4 regression"),
        (2, "draft", "Release 2.4 (+ vouchers)"),
    ]

    # staging-eu is a registered environment: the run records the snapshot it runs on
    envs = f"{P}/environments"
    made = api.post(envs, role="lead", json={"envId": "staging-eu", "configuration": {"db": "pg"}})
    assert made.status_code == 201, made.text
    changed = api.request(
        "PUT", f"{envs}/staging-eu", role="admin", json={"configuration": {"db": "pg-16"}}
    )
    assert changed.json()["revision"] == 2, changed.text

    # the lead starts a manual run from the plan (revision 1 is in force) on staging-eu
    run_id = f"manual-2-4-{uid}"
    started = api.post(
        f"{P}/runs",
        role="lead",
        json={
            "id": run_id,
            "planId": plan_id,
            "environment": "staging-eu",
            "assignees": TESTERS,
        },
    )
    assert started.status_code == 201, started.text
    run = started.json()
    assert (run["planRevision"], run["environment"], run["status"]) == (1, "staging-eu", "open")
    snapshot = run["environmentSnapshot"]
    assert (snapshot["revision"], snapshot["configuration"]) == (2, {"db": "pg-16"})
    total = run["progress"]["total"]
    assert total >= 6 and sorted(run["assignees"]) == TESTERS
    assert api.get(f"{P}/runs?status=open").json()["items"][0]["runId"] == run_id

    keys = {t: key_for(api, "tester", t) for t in TESTERS}
    mine = {
        t: [
            c["testCaseId"]
            for c in api.get(f"{P}/runs/{run_id}/cases?assignee={t}").json()["items"]
        ]
        for t in TESTERS
    }
    assert sum(len(v) for v in mine.values()) == total
    assert smoke in {tc for v in mine.values() for tc in v}

    def record(tester: str, results: list[dict[str, Any]]) -> requests.Response:
        return requests.put(
            f"{api.base}{P}/runs/{run_id}/results",
            json={"results": results},
            headers=as_key(keys[tester]),
            timeout=60,
        )

    # ann fails her first case by hand, with evidence: a draft opens, the lead hears of it
    failing = mine["ann@example.com"][0]
    failed = record(
        "ann@example.com",
        [
            {
                "testCaseId": failing,
                "status": "failed",
                "expected": "Order confirmed",
                "actual": "Card declined on staging-eu",
                "evidence": [{"name": "screenshot", "url": "https://files.example.com/a.png"}],
            }
        ],
    )
    assert failed.status_code == 200, failed.text
    ticket = failed.json()["results"][0]["ticket"]
    assert (ticket["status"], ticket["merged"]) == ("draft", False)
    after_one = progress(api, run_id)
    assert (after_one["executed"], after_one["failed"], after_one["remaining"]) == (1, 1, total - 1)
    wait_for(lambda: slack_mentions(stack, ticket["id"]), timeout=60)
    [seen] = api.get(f"/v1/tickets/{ticket['id']}/occurrences").json()["items"]
    assert seen["evidence"] == [{"name": "screenshot", "url": "https://files.example.com/a.png"}]
    assert seen["runId"] == run_id and seen["actual"] == "Card declined on staging-eu"

    # CI's failure of the same scenario joins the manual draft: the same recording path
    ci = api.post(
        f"{P}/results",
        role="ci",
        json={
            "run": {"id": f"nightly-{uid}", "environment": "staging-eu"},
            "results": [
                {
                    "scenarioId": failing,
                    "testCaseId": failing,
                    "status": "failed",
                    "module": "checkout",
                }
            ],
        },
    )
    assert ci.status_code == 200, ci.text
    assert ci.json()["results"][0]["ticket"] == {
        "id": ticket["id"],
        "status": "draft",
        "merged": True,
    }
    assert api.get(f"/v1/tickets/{ticket['id']}").json()["occurrences"] == 2

    # the other way round: CI fails bob's first case, then bob records it failed by hand and
    # joins CI's draft
    bobs = mine["bob@example.com"][0]
    ci_first = api.post(
        f"{P}/results",
        role="ci",
        json={
            "run": {"id": f"nightly-2-{uid}", "environment": "staging-eu"},
            "results": [
                {"scenarioId": bobs, "testCaseId": bobs, "status": "failed", "module": "checkout"}
            ],
        },
    )
    assert ci_first.status_code == 200, ci_first.text
    ci_ticket = ci_first.json()["results"][0]["ticket"]
    assert (ci_ticket["status"], ci_ticket["merged"]) == ("draft", False)
    by_hand = record("bob@example.com", [{"testCaseId": bobs, "status": "failed"}])
    assert by_hand.status_code == 200, by_hand.text
    assert by_hand.json()["results"][0]["ticket"] == {**ci_ticket, "merged": True}
    assert progress(api, run_id)["failed"] == 2

    # ann's draft goes to Jira, is resolved there, and her passing re-test by hand verifies it
    # (the re-test path CI's passes take); her case moves from failed to passed
    from tests.e2e.test_jira_loop import Jira, ticket_reaching

    decided = api.post(
        f"/v1/tickets/{ticket['id']}/decision", role="lead", json={"decision": "approve"}
    )
    assert decided.status_code == 200, decided.text
    issue = str(ticket_reaching(api, ticket["id"], "open", 30)["jira"]["key"])
    Jira(stack).transition_to(issue, "Done")
    ticket_reaching(api, ticket["id"], "resolved", 30)
    retest = record("ann@example.com", [{"testCaseId": failing, "status": "passed"}])
    assert retest.status_code == 200 and retest.json()["results"][0]["ticket"] is None
    verified = ticket_reaching(api, ticket["id"], "verified", 15)
    assert verified["history"][-1]["by"] == "ann@example.com", verified["history"]
    after_retest = progress(api, run_id)
    assert (after_retest["failed"], after_retest["passed"]) == (1, 1), after_retest
    history = api.get(f"{P}/runs/{run_id}/cases/{failing}").json()
    assert history["assignee"] == "ann@example.com" and history["status"] == "passed"
    assert [(r["status"], r["reporter"]) for r in history["results"]] == [
        ("failed", "ann@example.com"),
        ("passed", "ann@example.com"),
    ]
    assert history["results"][0]["evidence"][0]["url"] == "https://files.example.com/a.png"

    # the three testers record the rest in parallel; progress is exact, the run closes itself
    statuses = ["passed", "passed", "blocked", "skipped"]
    jobs = [
        (t, [{"testCaseId": tc, "status": statuses[i % 4]}])
        for t in TESTERS
        for i, tc in enumerate(mine[t])
        if tc not in (failing, bobs)
    ]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda job: record(*job), jobs))
    assert all(a.status_code == 200 for a in answers), [
        a.text for a in answers if a.status_code != 200
    ]
    final = api.get(f"{P}/runs/{run_id}").json()
    p = final["progress"]
    assert (p["executed"], p["remaining"], p["percent"], p["failed"]) == (total, 0, 100.0, 1)
    assert p["passed"] + p["blocked"] + p["skipped"] == total - 1
    assert {a["assignee"] for a in p["byAssignee"]} == set(TESTERS)
    assert all(a["remaining"] == 0 for a in p["byAssignee"])
    assert final["status"] == "closed" and final["closedBy"] == "system"
    late = record(
        "bob@example.com", [{"testCaseId": mine["bob@example.com"][0], "status": "passed"}]
    )
    assert_error(late, 409)
    plan = json.loads(api.get(f"{P}/test-plans/{plan_id}").text)
    assert plan["runs"] == [run_id]

    # the exit criteria are the quality gates' verdict on the plan's run: a failure, not passed
    gates = api.post(
        f"{P}/quality-gates/validate", json={"gates": body["exitCriteria"], "runId": run_id}
    )
    assert gates.status_code == 200, gates.text
    assert plan["exitEvaluation"]["results"] == gates.json()["results"]
    assert plan["exitEvaluation"]["passed"] is False
    assert plan["exitEvaluation"]["results"][0]["value"] < 95

    # revision 2 approved, testing activated and then closed: no run starts from it any more
    for action in ("submit", "approve", "activate", "close"):
        moved = api.post(status, role="lead", json={"action": action})
        assert moved.status_code == 200, (action, moved.text)
    assert (moved.json()["status"], moved.json()["approvedRevision"]) == ("closed", 2)
    assert_error(api.post(status, role="lead", json={"action": "activate"}), 409)
    late_run = api.post(f"{P}/runs", role="lead", json={"planId": plan_id})
    assert "closed" in assert_error(late_run, 409)["message"]


def test_a_run_closes_on_request_with_cases_left(api: Api, uid: str) -> None:
    cases = [f"TC-SHORT-{uid}-{i}" for i in (1, 2)]
    for tc in cases:
        made = api.post(f"{P}/test-cases", role="lead", json={"testCaseId": tc, "title": tc})
        assert made.status_code == 201, made.text
    run_id = f"short-{uid}"
    started = api.post(f"{P}/runs", role="lead", json={"id": run_id, "testCases": cases})
    assert started.status_code == 201, started.text
    one = {"results": [{"testCaseId": cases[0], "status": "passed"}]}
    assert api.request("PUT", f"{P}/runs/{run_id}/results", role="tester", json=one).ok
    refused = api.post(f"{P}/runs/{run_id}/close", role="tester", json={})
    assert "admin, lead" in assert_error(refused, 403, "forbidden")["message"]
    closed = api.post(f"{P}/runs/{run_id}/close", role="lead", json={"reason": "release cut"})
    assert closed.status_code == 200, closed.text
    run = closed.json()
    assert (run["status"], run["closedBy"], run["closeReason"]) == (
        "closed",
        "lead@example.com",
        "release cut",
    )
    assert (run["progress"]["executed"], run["progress"]["remaining"]) == (1, 1)
    two = {"results": [{"testCaseId": cases[1], "status": "passed"}]}
    assert_error(api.request("PUT", f"{P}/runs/{run_id}/results", role="tester", json=two), 409)
    assert_error(api.post(f"{P}/runs/{run_id}/close", role="lead", json={}), 409)
    assert api.get(f"{P}/runs/{run_id}").json()["status"] == "closed"
