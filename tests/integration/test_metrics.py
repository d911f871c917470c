"""Metrics and quality gates on moto: results recorded through the API, the table's stream read
like Lambda reads it (the local pump) into the metrics reader, the endpoint's figures, gates, and
a rebuild from history that equals the live aggregates."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
from botocore.config import Config

from chalicelib import bootstrap
from tests.integration.conftest import Demo, report, result


def pump_stream(aws: dict[str, Any]) -> int:
    """Deliver what the table's stream holds to the on_change handler, as Lambda would."""
    from chalice.app import DynamoDBEventConfig

    import app
    from devstack.pump import StreamPoller

    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    config = DynamoDBEventConfig(
        name="on_change", handler_string="app.on_change", stream_arn="", batch_size=100,
        starting_position="TRIM_HORIZON", maximum_batching_window_in_seconds=0,
    )  # fmt: skip
    poller = StreamPoller(
        boto3.client("dynamodb"),
        streams,
        aws["table"],
        config,
        lambda event, context: app.on_change(event, context),
        region="us-east-1",
        stop=threading.Event(),
    )
    total = 0
    while (n := poller.poll_once()) > 0:
        total += n
    assert poller.retries == 0
    return total


def post(api: Any, demo: Demo, body: str, role: str = "ci") -> Any:
    return api.post("/v1/projects/DEMO/results", body=body, headers=demo.auth(role))


def test_metrics_gates_and_rebuild(aws: dict[str, Any], demo: Demo, api: Any) -> None:
    runs = [
        [
            result(),
            result(scenarioId="checkout.refund", testCaseId="TC-REF-1", status="passed"),
            result(scenarioId="search.find", testCaseId="TC-S-1", module="search",
                   status="passed", requirements=["REQ-S-1"]),
        ],
        [
            result(status="passed"),
            result(scenarioId="checkout.refund", testCaseId="TC-REF-1", status="failed"),
            result(scenarioId="search.find", testCaseId="TC-S-1", module="search",
                   status="skipped", requirements=["REQ-S-1"]),
        ],
    ]  # fmt: skip
    for i, results in enumerate(runs):
        assert post(api, demo, report(results, run_id=f"build-{i}")).status_code == 200
    assert pump_stream(aws) > 0

    got = api.get("/v1/projects/DEMO/metrics", headers=demo.auth("viewer"))
    assert got.status_code == 200, got.body
    figures = json.loads(got.body)
    te = figures["testExecution"]
    assert (te["totalRuns"], te["totalTests"], te["passed"], te["failed"], te["skipped"]) == (
        2,
        6,
        3,
        2,
        1,
    )
    assert te["passRate"] == 60.0
    assert te["avgDurationMs"] == 5120.0
    assert figures["coverage"]["requirements"] == {"total": 2, "covered": 2, "percentage": 100.0}
    assert figures["retestSuccessRate"] is None  # no re-test yet: null, not 0
    assert figures["duplicateRatio"] == 1.0  # two drafts, one occurrence each

    checkout = json.loads(
        api.get("/v1/projects/DEMO/metrics?module=checkout", headers=demo.auth("viewer")).body
    )
    assert checkout["testExecution"]["totalTests"] == 4
    assert checkout["testExecution"]["passRate"] == 50.0

    # a redelivered stream changes nothing
    before = figures
    bootstrap.reset()
    pump_stream(aws)
    again = json.loads(api.get("/v1/projects/DEMO/metrics", headers=demo.auth("viewer")).body)
    assert again == before

    # rebuild from history: the same figures
    from chalicelib.cli import rebuild_metrics

    rebuilt = rebuild_metrics("DEMO")
    assert rebuilt["events"] >= 8
    after = json.loads(api.get("/v1/projects/DEMO/metrics", headers=demo.auth("viewer")).body)
    assert after == before
    for module in ("checkout", "search"):
        url = f"/v1/projects/DEMO/metrics?module={module}"
        assert api.get(url, headers=demo.auth("viewer")).status_code == 200
    # a period months back: its trend reads the months since (T#), not every day
    past = api.get(
        "/v1/projects/DEMO/metrics?from=2025-01-01&to=2025-01-31", headers=demo.auth("viewer")
    )
    assert past.status_code == 200, past.body
    assert json.loads(past.body)["trends"]["defectTrend"][-1] == {"date": "2025-01-31", "value": 0}

    # quality gates
    gates = {
        "gates": [
            {"metric": "passRate", "operator": "gte", "threshold": 95},
            {"metric": "criticalDefects", "operator": "eq", "threshold": 0},
            {"metric": "newFailures", "operator": "eq", "threshold": 0},
        ],
        "runId": "build-1",
    }
    out = api.post(
        "/v1/projects/DEMO/quality-gates/validate", body=json.dumps(gates), headers=demo.auth("ci")
    )
    assert out.status_code == 200, out.body
    verdict = json.loads(out.body)
    assert verdict["passed"] is False
    assert [r["passed"] for r in verdict["results"]] == [False, True, False]
    assert verdict["results"][0]["value"] == 50.0  # the run's own pass rate (1 of 2 executed)
    assert verdict["results"][2]["value"] == 1  # checkout.refund opened a draft in build-1
    assert "pass rate" in verdict["recommendation"]

    bad = api.post(
        "/v1/projects/DEMO/quality-gates/validate",
        body=json.dumps({"gates": [{"metric": "speed", "operator": "approx", "threshold": 1}]}),
        headers=demo.auth("ci"),
    )
    assert bad.status_code == 422
    details = json.loads(bad.body)["error"]["details"]
    assert [d["field"] for d in details] == ["gates[0].metric", "gates[0].operator"]

    saved = {"gates": [{"metric": "passRate", "operator": "gte", "threshold": 50}]}
    put = api.put(
        "/v1/projects/DEMO/quality-gates/release",
        body=json.dumps(saved),
        headers=demo.auth("ci"),
    )
    assert put.status_code == 403
    put = api.put(
        "/v1/projects/DEMO/quality-gates/release",
        body=json.dumps(saved),
        headers=demo.auth("admin"),
    )
    assert put.status_code == 200, put.body
    out = api.post(
        "/v1/projects/DEMO/quality-gates/validate",
        body=json.dumps({"gate": "release"}),
        headers=demo.auth("ci"),
    )
    assert json.loads(out.body)["passed"] is True


def test_a_metrics_request_reads_aggregates_only(aws: dict[str, Any], demo: Demo, api: Any) -> None:
    """On the request path: a Get of the generation and a BatchGetItem of the buckets the
    period names (no Scan, no Query, nothing on executions or tickets), a fixed handful of calls
    whatever the history, and a past period reads its blocks and the trend months since."""
    results = [result(), result(scenarioId="search.find", testCaseId="TC-S-1", module="search")]
    assert post(api, demo, report(results, run_id="calls-1")).status_code == 200
    pump_stream(aws)
    headers = demo.auth("viewer")
    api.get("/v1/projects/DEMO/metrics", headers=headers)  # warm: the key and project cached
    calls: list[tuple[str, dict[str, Any]]] = []

    def seen(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    for client in bootstrap.container().clients.every():
        client.meta.events.register("before-parameter-build.*.*", seen)
    for query in ("", "?module=search", "?from=2025-01-01&to=2025-01-31"):
        calls.clear()
        assert api.get(f"/v1/projects/DEMO/metrics{query}", headers=headers).status_code == 200
        assert {name for name, _ in calls} <= {"GetItem", "BatchGetItem"}, calls
        assert len(calls) <= 4, [name for name, _ in calls]
        named = [
            key
            for name, p in calls
            for key in (
                [p["Key"]]
                if name == "GetItem"
                else [k for r in p["RequestItems"].values() for k in r["Keys"]]
            )
        ]
        pks = {k["pk"]["S"] for k in named}
        assert all(pk.startswith(("MAGG#DEMO#", "METRICS#DEMO", "PROJECT#DEMO")) for pk in pks)
        if "from=2025" in query:  # January's month block, then the trend months since
            sks = sorted(k["sk"]["S"] for k in named if k["pk"]["S"].startswith("MAGG#"))
            assert [s for s in sks if s.startswith("M#")] == [
                "M#2025-01#C",
                "M#2025-01#L",
                "M#2025-01#R#0",
                "M#2025-01#R#1",
                "M#2025-01#S#0",
                "M#2025-01#S#1",
                "M#2025-01#S#2",
                "M#2025-01#S#3",
            ]
            assert not [s for s in sks if s.startswith(("D#", "W#"))]
            assert sks[-1] == "T#" + bootstrap.container().metrics.today()[:7]
