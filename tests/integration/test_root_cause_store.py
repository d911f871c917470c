"""Root causes in-process (moto): signatures stored on occurrences and drafts, one cluster for
one outage across scenarios, the regrouping migration, and approving a cluster as one issue
linked to every affected test case."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import bootstrap
from chalicelib.cli import regroup
from chalicelib.domain.signatures import VERSION
from tests.integration.conftest import Demo, report, result

TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/ci/tests/test_{n}.py", line 3, in test_{n}\n'
    '  File "/ci/shop/payments.py", line 88, in charge\n'
    "ConnectionError: could not reach payments-db at 10.0.0.{n}:5432 after {n}00 ms"
)


def outage(api: Any, demo: Demo, scenarios: int = 3) -> dict[str, str]:
    results = [
        result(
            scenarioId=f"checkout.flow-{n}",
            testCaseId=f"TC-FLOW-{n}",
            jiraTestKey=f"KP-{100 + n}",
            error={"type": "ConnectionError", "trace": TRACE.format(n=n)},
            actual=f"could not reach payments-db at 10.0.0.{n}:5432 after {n}00 ms",
        )
        for n in range(scenarios)
    ]
    response = api.post(
        "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report(results, "rc-1")
    )
    assert response.status_code in (200, 201), response.body
    outcomes = json.loads(response.body)["results"]
    return {r["scenarioId"]: o["ticket"]["id"] for r, o in zip(results, outcomes, strict=True)}


def test_one_outage_across_scenarios_is_one_cluster_and_regrouping_is_explicit(
    api: Any, demo: Demo
) -> None:
    tickets = outage(api, demo)
    repos = bootstrap.container().repos
    drafts = [repos.tickets.get(t) for t in tickets.values()]
    assert len({d.cluster_id for d in drafts}) == 1 and drafts[0].cluster_id
    assert {d.signature["version"] for d in drafts if d.signature} == {VERSION}
    [occurrence] = repos.executions.occurrences(drafts[0].id)
    assert occurrence.signature == drafts[0].signature  # stored on the occurrence too
    listed = json.loads(
        api.get("/v1/projects/DEMO/clusters?status=open", headers=demo.auth("viewer")).body
    )["clusters"]
    [cluster] = [c for c in listed if c["clusterId"] == drafts[0].cluster_id]
    assert cluster["scenarios"] == 3 and cluster["signature"]["exception"] == "ConnectionError"
    bad = api.get("/v1/projects/DEMO/clusters?status=maybe", headers=demo.auth("viewer"))
    assert bad.status_code == 422 and "status" in bad.body.decode()

    # a draft signed under an older version: the dry run counts it, --apply places it again
    repos.tickets.set_fields(drafts[0].id, {"signature": {**drafts[0].signature, "version": 0}})
    dry = regroup("DEMO", apply=False)
    assert dry["stale"] == 1 and dry["placed"] == {}
    done = regroup("DEMO", apply=True)
    assert done["placed"] == {drafts[0].id: drafts[0].cluster_id}
    assert repos.tickets.get(drafts[0].id).signature["version"] == VERSION
    assert regroup("DEMO", apply=False)["stale"] == 0


def test_approving_a_cluster_as_one_links_every_test_case(api: Any, demo: Demo) -> None:
    tickets = outage(api, demo)
    repos = bootstrap.container().repos
    cluster_id = repos.tickets.get(next(iter(tickets.values()))).cluster_id
    path = f"/v1/projects/DEMO/clusters/{cluster_id}/decision"
    body = json.dumps({"decision": "approve"})
    refused = api.post(path, headers=demo.auth("search_lead"), body=body)
    assert refused.status_code == 403  # not the lead of these drafts' module
    decided = api.post(path, headers=demo.auth("lead"), body=body)
    assert decided.status_code == 200, decided.body
    outcome = json.loads(decided.body)["outcome"]
    [primary] = [t for t, status in outcome.items() if status != "merged"]
    ticket = repos.tickets.get(primary)
    assert ticket.other["clusterTestKeys"] == ["KP-100", "KP-101", "KP-102"]
    assert sorted(ticket.merged_from) == sorted(t for t in tickets.values() if t != primary)
    again = api.post(path, headers=demo.auth("lead"), body=body)
    assert again.status_code == 409


def test_a_leads_merge_is_kept_for_later_runs(api: Any, demo: Demo) -> None:
    tickets = outage(api, demo, scenarios=2)
    repos = bootstrap.container().repos
    main = repos.tickets.get(next(iter(tickets.values()))).cluster_id

    def quota(scenario: str, run_id: str) -> str:
        failing = result(
            scenarioId=scenario,
            testCaseId=f"TC-{scenario}",
            error={"type": "QuotaExceeded", "message": "payments quota exceeded"},
        )
        response = api.post(
            "/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report([failing], run_id)
        )
        ticket_id = json.loads(response.body)["results"][0]["ticket"]["id"]
        return str(repos.tickets.get(ticket_id).cluster_id)

    other = quota("checkout.quota-1", "rc-2")
    assert other != main
    path = f"/v1/projects/DEMO/clusters/{other}/decision"
    bad = api.post(path, headers=demo.auth("lead"), body=json.dumps({"decision": "merge"}))
    assert bad.status_code == 422 and "intoClusterId" in bad.body.decode()
    merged = api.post(
        path,
        headers=demo.auth("lead"),
        body=json.dumps({"decision": "merge", "intoClusterId": main}),
    )
    assert merged.status_code == 200, merged.body
    assert json.loads(merged.body)["status"] == "decided"
    assert quota("checkout.quota-2", "rc-3") == main  # the label is respected later
    view = json.loads(
        api.get(f"/v1/projects/DEMO/clusters/{main}", headers=demo.auth("viewer")).body
    )
    assert view["scenarios"] == 4
    assert {m["why"].get("label") for m in view["members"]} >= {"merged"}
