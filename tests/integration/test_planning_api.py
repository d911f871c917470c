"""Test plans and planned runs on moto: the plan lifecycle over the API (approval by a lead of
the plan's modules, revisions, exit criteria evaluated), runs from plans with assignees, manual
results through the CI recording path, progress counters exact under concurrent recording on
moto's server."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib import bootstrap
from chalicelib.models import TestCaseIn
from chalicelib.models_planning import ManualResultsIn, RunCreateIn
from tests.integration.conftest import Demo, report, result

PLANS = "/v1/projects/DEMO/test-plans"
RUNS = "/v1/projects/DEMO/runs"


def plan_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "planId": "PLAN-24",
        "name": "Release 2.4 regression",
        "release": "2.4",
        "scope": {"modules": ["checkout"], "testCases": ["TC-PAY-001"]},
        "strategy": {"approach": "risk-based", "testTypes": ["functional", "regression"]},
        "schedule": {
            "start": "2026-12-01",
            "end": "2026-12-12",
            "milestones": [{"name": "code freeze", "date": "2026-12-05"}],
        },
        "resources": [{"name": "tester@example.com", "role": "tester", "allocation": "100%"}],
        "risks": [
            {
                "description": "payment sandbox unstable",
                "likelihood": "medium",
                "impact": "high",
                "mitigation": "book staging-eu early",
            }
        ],
        "entryCriteria": [{"metric": "openDefects", "operator": "lte", "threshold": 10}],
        "exitCriteria": [{"metric": "passRate", "operator": "gte", "threshold": 95}],
    }
    body.update(overrides)
    return body


def register_cases(n: int, module: str = "checkout") -> list[str]:
    service = bootstrap.container().test_cases
    ids = [f"TC-PAY-{i:03d}" for i in range(1, n + 1)]
    for tc in ids:
        service.create(
            "DEMO",
            TestCaseIn.model_validate({"testCaseId": tc, "title": f"Pay {tc}", "module": module}),
            "lead@example.com",
        )
    return ids


def move(api: Any, demo: Demo, role: str, action: str, **extra: Any) -> Any:
    return api.post(
        f"{PLANS}/PLAN-24/status",
        headers=demo.auth(role),
        body=json.dumps({"action": action, **extra}),
    )


def test_plan_lifecycle_approval_and_revisions(api: Any, demo: Demo) -> None:
    register_cases(3)
    bad = api.post(
        PLANS,
        headers=demo.auth("lead"),
        body=json.dumps(
            plan_body(exitCriteria=[{"metric": "x", "operator": "gte", "threshold": 1}])
        ),
    )
    assert bad.status_code == 422 and "exitCriteria[0].metric" in bad.body.decode()
    unknown = api.post(
        PLANS,
        headers=demo.auth("lead"),
        body=json.dumps(plan_body(scope={"testCases": ["TC-NOPE"]})),
    )
    assert unknown.status_code == 422 and "scope.testCases[0]" in unknown.body.decode()
    assert (
        api.post(PLANS, headers=demo.auth("tester"), body=json.dumps(plan_body())).status_code
        == 403
    )

    created = api.post(PLANS, headers=demo.auth("lead"), body=json.dumps(plan_body()))
    assert created.status_code == 201, created.body
    plan = json.loads(created.body)
    assert (plan["status"], plan["revision"]) == ("draft", 1)
    assert plan["risks"][0]["likelihood"] == "medium"

    assert move(api, demo, "lead", "approve").status_code == 409  # not in review yet
    assert move(api, demo, "lead", "submit").status_code == 200
    # a lead of another module may not approve; nor a tester
    denied = move(api, demo, "search_lead", "approve")
    assert denied.status_code == 403 and "lead@example.com" in denied.body.decode()
    assert move(api, demo, "tester", "approve").status_code == 403
    assert move(api, demo, "lead", "request_changes").status_code == 422  # reason required
    approved = move(api, demo, "lead", "approve")
    assert approved.status_code == 200, approved.body
    body = json.loads(approved.body)
    assert (body["status"], body["approvedRevision"], body["approvedBy"]) == (
        "approved",
        1,
        "lead@example.com",
    )

    got = json.loads(api.get(f"{PLANS}/PLAN-24", headers=demo.auth("viewer")).body)
    assert got["exitEvaluation"]["results"][0]["metric"] == "passRate"
    assert got["exitEvaluation"]["passed"] is False  # nothing measured yet
    assert got["entryEvaluation"]["passed"] is True  # no open defects

    # editing the approved plan: revision 2, a draft; revision 1 stays in force
    edited = api.put(
        f"{PLANS}/PLAN-24",
        headers=demo.auth("lead"),
        body=json.dumps(plan_body(name="Release 2.4 regression (with vouchers)")),
    )
    assert edited.status_code == 200, edited.body
    e = json.loads(edited.body)
    assert (e["revision"], e["status"], e["approvedRevision"]) == (2, "draft", 1)
    revisions = json.loads(api.get(f"{PLANS}/PLAN-24/revisions", headers=demo.auth("viewer")).body)
    assert [(r["revision"], r["status"]) for r in revisions["items"]] == [
        (1, "approved"),
        (2, "draft"),
    ]
    assert api.delete(f"{PLANS}/PLAN-24", headers=demo.auth("lead")).status_code == 409
    listed = json.loads(api.get(f"{PLANS}?status=draft", headers=demo.auth("viewer")).body)
    assert [p["planId"] for p in listed["items"]] == ["PLAN-24"]


def test_run_from_plan_manual_results_progress_and_drafts(api: Any, demo: Demo) -> None:
    register_cases(6)
    assert (
        api.post(PLANS, headers=demo.auth("lead"), body=json.dumps(plan_body())).status_code == 201
    )
    early = api.post(RUNS, headers=demo.auth("lead"), body=json.dumps({"planId": "PLAN-24"}))
    assert early.status_code == 409  # never approved
    move(api, demo, "lead", "submit")
    move(api, demo, "admin", "approve")
    testers = ["ann@example.com", "bob@example.com", "cid@example.com"]
    created = api.post(
        RUNS,
        headers=demo.auth("lead"),
        body=json.dumps(
            {
                "id": "manual-24",
                "planId": "PLAN-24",
                "environment": "staging-eu",
                "assignees": testers,
            }
        ),
    )
    assert created.status_code == 201, created.body
    run = json.loads(created.body)
    assert (run["status"], run["environment"], run["planRevision"]) == ("open", "staging-eu", 1)
    assert run["progress"]["total"] == 6 and run["progress"]["remaining"] == 6
    assert [a["total"] for a in run["progress"]["byAssignee"]] == [2, 2, 2]
    plan = json.loads(api.get(f"{PLANS}/PLAN-24", headers=demo.auth("viewer")).body)
    assert plan["status"] == "active" and plan["runs"] == ["manual-24"]

    def record(results: list[dict[str, Any]], role: str = "tester") -> Any:
        return api.put(
            f"{RUNS}/manual-24/results",
            headers=demo.auth(role),
            body=json.dumps({"results": results}),
        )

    outside = record([{"testCaseId": "TC-ELSEWHERE", "status": "passed"}])
    assert outside.status_code == 422 and "results[0].testCaseId" in outside.body.decode()
    assert (
        record([{"testCaseId": "TC-PAY-001", "status": "passed"}], role="viewer").status_code == 403
    )
    failed = record(
        [
            {
                "testCaseId": "TC-PAY-001",
                "status": "failed",
                "actual": "card declined",
                "evidence": [{"name": "screen", "url": "https://files.example.com/1.png"}],
            }
        ]
    )
    assert failed.status_code == 200, failed.body
    ticket = json.loads(failed.body)["results"][0]["ticket"]
    assert ticket["status"] == "draft" and ticket["merged"] is False
    # CI's failure of the same scenario joins the manual draft: one path
    ci = api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report([result(scenarioId="TC-PAY-001", testCaseId="TC-PAY-001")], run_id="nightly-1"),
    )
    assert json.loads(ci.body)["results"][0]["ticket"]["id"] == ticket["id"]

    progress = json.loads(api.get(f"{RUNS}/manual-24", headers=demo.auth("viewer")).body)[
        "progress"
    ]
    assert (progress["executed"], progress["failed"], progress["remaining"]) == (1, 1, 5)
    # re-recorded: the next attempt; failed -> passed moves the counters, no double count
    again = record([{"testCaseId": "TC-PAY-001", "status": "passed"}])
    assert again.status_code == 200
    progress = json.loads(api.get(f"{RUNS}/manual-24", headers=demo.auth("viewer")).body)[
        "progress"
    ]
    assert (progress["executed"], progress["passed"], progress["failed"]) == (1, 1, 0)
    # CI results into the planned run count too (CI runs are the same runs)
    api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report(
            [result(scenarioId="checkout.p2", testCaseId="TC-PAY-002", status="blocked")],
            run_id="manual-24",
        ),
    )
    rest = [{"testCaseId": f"TC-PAY-00{i}", "status": "skipped"} for i in range(3, 7)]
    done = record(rest, role="lead")
    assert done.status_code == 200 and json.loads(done.body)["status"] == "closed"
    final = json.loads(api.get(f"{RUNS}/manual-24", headers=demo.auth("viewer")).body)
    assert final["status"] == "closed" and final["closedBy"] == "system"
    assert {k: final["progress"][k] for k in ("executed", "passed", "blocked", "skipped")} == {
        "executed": 6,
        "passed": 1,
        "blocked": 1,
        "skipped": 4,
    }
    assert final["progress"]["percent"] == 100.0
    assert record(rest).status_code == 409  # closed
    closed = json.loads(api.get(f"{RUNS}?status=closed", headers=demo.auth("viewer")).body)
    assert [r["runId"] for r in closed["items"]] == ["manual-24"]
    cases = json.loads(
        api.get(
            f"{RUNS}/manual-24/cases?assignee=ann@example.com", headers=demo.auth("viewer")
        ).body
    )
    assert len(cases["items"]) == 2

    # one test case's results in the run, attempts in order, each with its evidence
    history = api.get(f"{RUNS}/manual-24/cases/TC-PAY-001", headers=demo.auth("viewer"))
    assert history.status_code == 200, history.body
    case = json.loads(history.body)
    assert (case["status"], case["attempt"]) == ("passed", 2)
    [first, second] = case["results"]
    assert (first["attempt"], first["status"], first["actual"]) == (1, "failed", "card declined")
    assert first["evidence"] == [{"name": "screen", "url": "https://files.example.com/1.png"}]
    assert first["ticketId"] == ticket["id"] and first["reporter"] == "tester@example.com"
    assert (second["attempt"], second["status"]) == (2, "passed") and "evidence" not in second
    for unknown in (f"{RUNS}/manual-24/cases/TC-NOPE", f"{RUNS}/nope/cases/TC-PAY-001"):
        assert api.get(unknown, headers=demo.auth("viewer")).status_code == 404


def test_concurrent_manual_results_keep_exact_counters(
    aws_server: dict[str, Any], monkeypatch: Any
) -> None:
    """16 threads record 158 results (every case but one twice, the second attempt with another
    status, in any order) into one run on moto's server: the counters equal the cases' final
    results; the last case's result closes the run."""
    access = bootstrap.container().access
    access.create_project("DEMO", "Demo", False, default_lead="lead@example.com")
    access.put_module("DEMO", "checkout", "lead@example.com", None)
    ids = [f"TC-C-{i:03d}" for i in range(80)]
    c = bootstrap.container()
    run = c.runs.create(
        "DEMO",
        RunCreateIn.model_validate(
            {"id": "conc", "testCases": ids, "assignees": [f"t{i}@example.com" for i in range(8)]}
        ),
        "lead@example.com",
    )
    assert run["progress"]["total"] == 80
    project = c.access.project("DEMO")
    statuses = ["passed", "failed", "blocked", "skipped"]
    jobs = [
        (
            tc,
            (statuses[i % 4] if i % 4 != 1 or i % 10 == 1 else "blocked") if n == 2 else "passed",
            n,
        )
        for n in (1, 2)
        for i, tc in enumerate(ids[:-1])
    ]
    random.Random(7).shuffle(jobs)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def one(job: tuple[str, str, int]) -> None:
        tc, status, attempt = job
        body = ManualResultsIn.model_validate(
            {
                "results": [
                    {
                        "testCaseId": tc,
                        "scenarioId": f"conc.{tc}",
                        "status": status,
                        "attempt": attempt,
                    }
                ]
            }
        )
        try:
            c.runs.record(project, "conc", body, f"tester-{attempt}@example.com")
        except BaseException as exc:  # collected and asserted below
            with lock:
                errors.append(exc)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, jobs))
    assert not errors, errors[:3]

    def exact() -> dict[str, Any]:
        got = c.runs.get("DEMO", "conc")
        assert got is not None
        cases = c.runs.cases("DEMO", "conc", None)["items"]
        truth = {s: sum(1 for i in cases if i.get("status") == s) for s in statuses}
        p = got["progress"]
        assert {s: p[s] for s in statuses} == truth
        assert sum(a["executed"] for a in p["byAssignee"]) == p["executed"]
        return dict(got)

    got = exact()
    assert got["status"] == "open" and got["progress"]["remaining"] == 1
    last = ManualResultsIn.model_validate(
        {"results": [{"testCaseId": ids[-1], "status": "passed"}]}
    )
    assert c.runs.record(project, "conc", last, "tester@example.com")["status"] == "closed"
    got = exact()
    assert got["progress"]["executed"] == 80 and got["progress"]["percent"] == 100.0


def test_a_run_records_the_snapshot_of_the_environment_it_runs_on(api: Any, demo: Demo) -> None:
    register_cases(2)
    envs = "/v1/projects/DEMO/environments"
    made = api.post(
        envs,
        headers=demo.auth("lead"),
        body=json.dumps({"envId": "staging-eu", "configuration": {"db": "postgres-15"}}),
    )
    assert made.status_code == 201, made.body
    changed = api.put(
        f"{envs}/staging-eu",
        headers=demo.auth("lead"),
        body=json.dumps({"configuration": {"db": "postgres-16"}}),
    )
    assert changed.status_code == 200, changed.body

    def start(environment: str) -> dict[str, Any]:
        answer = api.post(
            RUNS,
            headers=demo.auth("lead"),
            body=json.dumps({"testCases": ["TC-PAY-001"], "environment": environment}),
        )
        assert answer.status_code == 201, answer.body
        return dict(json.loads(answer.body))

    on_staging = start("staging-eu")
    snapshot = on_staging["environmentSnapshot"]
    assert (snapshot["revision"], snapshot["configuration"]) == (2, {"db": "postgres-16"})
    stored = json.loads(api.get(f"{RUNS}/{on_staging['runId']}", headers=demo.auth("viewer")).body)
    assert stored["environmentSnapshot"]["revision"] == 2
    # a name the project never registered is kept as given, with no snapshot
    elsewhere = start("laptop")
    assert elsewhere["environment"] == "laptop" and "environmentSnapshot" not in elsewhere


def test_a_run_ci_reported_records_the_snapshot_of_its_registered_environment(
    api: Any, demo: Demo
) -> None:
    envs = "/v1/projects/DEMO/environments"
    made = api.post(
        envs,
        headers=demo.auth("lead"),
        body=json.dumps({"envId": "staging", "configuration": {"db": "postgres-15"}}),
    )
    assert made.status_code == 201, made.body

    def ci_run(run_id: str) -> dict[str, Any]:
        sent = api.post(
            "/v1/projects/DEMO/results",
            headers=demo.auth("ci"),
            body=report([result(status="passed")], run_id=run_id),  # names env "staging"
        )
        assert sent.status_code in (200, 201), sent.body
        got = api.get(f"{RUNS}/{run_id}", headers=demo.auth("viewer"))
        assert got.status_code == 200, got.body
        return dict(json.loads(got.body))

    first = ci_run("ci-env-1")
    assert first["environment"] == "staging"
    snap = first["environmentSnapshot"]
    assert (snap["revision"], snap["configuration"]) == (1, {"db": "postgres-15"})
    api.put(
        f"{envs}/staging",
        headers=demo.auth("lead"),
        body=json.dumps({"configuration": {"db": "postgres-16"}}),
    )
    second = ci_run("ci-env-2")
    assert second["environmentSnapshot"]["configuration"] == {"db": "postgres-16"}
    # the first run keeps what it ran on
    again = json.loads(api.get(f"{RUNS}/ci-env-1", headers=demo.auth("viewer")).body)
    assert again["environmentSnapshot"]["revision"] == 1
