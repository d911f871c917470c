"""Exports on moto: results through the API, the table's stream pumped into the readers, an
export asked for over HTTP, and what it wrote read back by duckdb with the Glue tables' column
types (taken from the template) the way Athena would read it; figures compared with the metrics
endpoint; QuickSight's manifest shape; incremental and idempotent re-runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.domain import exports as x
from infra.build import merge_template
from tests.integration.conftest import Demo, report, result
from tests.integration.test_metrics import post, pump_stream

duckdb = pytest.importorskip("duckdb")

DUCKDB_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN"}


def glue_tables() -> dict[str, dict[str, Any]]:
    """dataset -> its Glue table's TableInput, as the template declares it."""
    resources = merge_template()["Resources"]
    return {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
        for r in resources.values()
        if r.get("Type") == "AWS::Glue::Table"
    }


def objects(bucket: str, prefix: str = "exports/") -> dict[str, bytes]:
    s3 = boto3.client("s3")
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out


def versions(bucket: str) -> int:
    out = boto3.client("s3").list_object_versions(Bucket=bucket, Prefix="exports/")
    return len(out.get("Versions", []))


def read_dataset(root: Path, dataset: str, table: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows as Athena would give them: the table's columns cast to their Glue types, and the
    partition keys (project, dt) from the object's path."""
    columns = {c["Name"]: DUCKDB_TYPES[c["Type"]] for c in table["StorageDescriptor"]["Columns"]}
    files = str(root / "exports" / dataset / "*" / "*" / "*.json")
    con = duckdb.connect()
    relation = con.sql(
        "SELECT * FROM read_json(?, format='newline_delimited', columns=?, "
        "hive_partitioning=true, hive_types_autocast=false)",
        params=[files, columns],
    )
    names = relation.columns
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def export(api: Any, demo: Demo) -> dict[str, Any]:
    out = api.post("/v1/projects/DEMO/exports", headers=demo.auth("admin"), body="{}")
    assert out.status_code == 202, out.body
    export_id = json.loads(out.body)["exportId"]
    got = api.get(f"/v1/projects/DEMO/exports/{export_id}", headers=demo.auth("admin"))
    assert got.status_code == 200, got.body
    job: dict[str, Any] = json.loads(got.body)
    assert job["status"] == "succeeded", job
    return job


def test_exports_read_back_as_athena_and_quicksight_would(
    aws: dict[str, Any], demo: Demo, api: Any, tmp_path: Path
) -> None:
    runs = [
        [
            result(),
            result(scenarioId="checkout.refund", testCaseId="TC-REF-1", status="passed",
                   title='Refund, "partial" — ünïcode'),  # titles refuse control characters
            result(scenarioId="search.find", testCaseId="TC-S-1", module="search",
                   status="passed", requirements=["REQ-S-1", "REQ-S-2"]),
        ],
        [
            result(status="passed"),
            result(scenarioId="checkout.refund", testCaseId="TC-REF-1", status="failed"),
            result(scenarioId="search.find", testCaseId="TC-S-1", module="search",
                   status="skipped", durationMs=None, requirements=[]),
        ],
    ]  # fmt: skip
    for i, results in enumerate(runs):
        assert post(api, demo, report(results, run_id=f"build-{i}")).status_code == 200
    assert pump_stream(aws) > 0

    denied = api.post("/v1/projects/DEMO/exports", headers=demo.auth("ci"), body="{}")
    assert denied.status_code == 403

    job = export(api, demo)
    assert job["datasets"]["executions"]["rows"] == 6
    bucket = aws["bucket"]
    written = objects(bucket)
    for body in written.values():
        body.decode("utf-8")  # UTF-8
        assert not body.startswith(b"\xef\xbb\xbf")  # without BOM
    for key in written:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(written[key])

    tables = glue_tables()
    assert set(tables) == set(x.DATASETS)
    read = {ds: read_dataset(tmp_path, ds, tables[ds]) for ds in x.DATASETS}

    executions = read["executions"]
    assert len(executions) == 6
    assert {e["project"] for e in executions} == {"DEMO"}
    assert sorted(e["status"] for e in executions).count("passed") == 3
    assert all(isinstance(e["duration_ms"], int | None) for e in executions)
    assert {e["requirements"] for e in executions if e["scenario_id"] == "search.find"} == {
        "REQ-S-1;REQ-S-2",
        None,
    }
    tickets = read["tickets"]
    assert {t["scenario_id"] for t in tickets} == {"checkout.pay-by-card", "checkout.refund"}
    assert all(t["status"] == "draft" and t["occurrences"] >= 1 for t in tickets)
    assert {e["kind"] for e in read["ticket_events"]} == {"ticket.opened"}

    scenarios = {s["scenario_id"]: s for s in read["scenarios_daily"]}
    assert scenarios["checkout.pay-by-card"]["executions"] == 2
    assert scenarios["checkout.pay-by-card"]["pass_rate"] == 50.0
    assert scenarios["search.find"]["skipped"] == 1

    # metrics_daily equals the endpoint, day by day and module by module
    days = {r["dt"] for r in read["metrics_daily"]}
    assert days
    for row in read["metrics_daily"]:
        query = f"/v1/projects/DEMO/metrics?from={row['dt']}&to={row['dt']}"
        if row["module"] != "*":
            query += f"&module={row['module']}"
        figures = json.loads(api.get(query, headers=demo.auth("viewer")).body)
        te = figures["testExecution"]
        assert row["pass_rate"] == te["passRate"]
        assert (row["total_tests"], row["passed"], row["failed"], row["total_runs"]) == (
            te["totalTests"],
            te["passed"],
            te["failed"],
            te["totalRuns"],
        )
        assert row["avg_duration_ms"] == te["avgDurationMs"]
    whole = [r for r in read["metrics_daily"] if r["module"] == "*"]
    assert sum(r["total_tests"] for r in whole) == 6

    # QuickSight's manifests: the documented shape, naming only objects that exist
    for dataset in x.DATASETS:
        manifest = json.loads(written[x.manifest_key("DEMO", dataset)])
        assert set(manifest) == {"fileLocations", "globalUploadSettings"}
        assert manifest["globalUploadSettings"] == {"format": "JSON"}
        (location,) = manifest["fileLocations"]
        assert set(location) == {"URIs"}
        for uri in location["URIs"]:
            assert uri.startswith(f"s3://{bucket}/exports/{dataset}/project=DEMO/dt=")
            assert uri.removeprefix(f"s3://{bucket}/") in written
    # the audit: the reports' writes, by the ci key
    audit = read["audit"]
    # a report is audited as its run's write (executions are their own record)
    assert {r["role"] for r in audit if r["action"].startswith("run.")} == {"ci"}
    assert not [r for r in audit if r["action"].startswith("execution.")]
    assert all(r["request_id"] for r in audit if r["role"] == "ci")
    assert {r["project"] for r in audit} == {"DEMO"}

    # a re-run with nothing new writes nothing
    count = versions(bucket)
    again = export(api, demo)
    assert again["datasets"] == {}
    assert versions(bucket) == count

    # idempotent: every day written again (as after a crash before its mark was cleared)
    # gives the same objects, and not even a new version of them
    store = bootstrap.container().repos.exports
    for dataset in x.DATASETS:
        for day in store.written("DEMO", dataset):
            store.mark_dirty("DEMO", dataset, day)
    rerun = export(api, demo)
    assert rerun["datasets"]["executions"]["days"] >= 1
    assert all(d["written"] == 0 for d in rerun["datasets"].values())
    assert objects(bucket) == written
    assert versions(bucket) == count

    # incremental: a new run changes only the days and datasets it touched
    third = [result(scenarioId="search.find", testCaseId="TC-S-1", module="search")]
    assert post(api, demo, report(third, run_id="build-2")).status_code == 200
    pump_stream(aws)
    later = export(api, demo)
    assert later["datasets"]["executions"] == {"days": 1, "written": 1, "rows": 7}
    assert set(later["datasets"]) == {
        "executions",
        "scenarios_daily",
        "metrics_daily",
        "ticket_events",
        "tickets",
        "audit",  # the new report's writes
    }
    now = objects(bucket)
    changed = {k for k in now if now[k] != written.get(k)}
    assert changed and all("/dt=" in k for k in changed)  # manifests unchanged: same days

    # a backfill from the stored history stages the same executions: nothing new to write
    from chalicelib.cli import backfill_exports

    assert backfill_exports("DEMO")["events"] >= 7
    backfilled = export(api, demo)
    assert backfilled["datasets"]["executions"]["written"] == 0


def test_the_hourly_schedule_exports_every_project(
    aws: dict[str, Any], demo: Demo, api: Any
) -> None:
    """The template's hourly rule runs `export_hourly`: every project's dirty days are written,
    then their manifests, without anyone asking."""
    import app

    (schedule,) = [s for s in app.app.event_sources if getattr(s, "name", "") == "export_hourly"]
    assert schedule.schedule_expression == "rate(1 hour)"
    assert post(api, demo, report([result()], run_id="hourly-1")).status_code == 200
    pump_stream(aws)
    event = {"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": "2026-03-01T10:00:00Z", "region": "us-east-1",
             "resources": [], "detail": {}}  # fmt: skip
    out = app.export_hourly(event, None)
    assert out["DEMO"]["executions"]["rows"] == 1
    written = objects(aws["bucket"])
    assert x.manifest_key("DEMO", "executions") in written
    assert [k for k in written if k.startswith("exports/executions/project=DEMO/dt=")]
    assert app.export_hourly(event, None)["DEMO"] == {}  # nothing changed since: nothing written
