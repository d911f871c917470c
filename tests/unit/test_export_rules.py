"""Exports without AWS: the file format, the rows change events stage, the template's Glue tables
and QuickSight data sets against the datasets' columns, and a run over the fakes (incremental,
idempotent, manifests written after the objects they name)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.domain import exports as x
from chalicelib.domain import metrics as m
from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.services.exports import ExportService, Stores
from infra.build import merge_template
from tests.unit.fakes import FakeBlobs

QUICKSIGHT_TYPES = {"bigint": "INTEGER", "double": "DECIMAL", "string": "STRING"}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return merge_template()["Resources"]


def execution(n: int, day: str = "2026-03-01", status: str = "passed") -> ChangeEvent:
    return ChangeEvent(
        id=f"ex_{n:04d}",
        kind=ChangeKind.EXECUTION_RECORDED,
        project="DEMO",
        at=f"{day}T10:00:{n % 60:02d}.000Z",
        subject=f"ex_{n:04d}",
        data={
            "executionId": f"ex_{n:04d}",
            "runId": "build-1",
            "scenarioId": f"checkout.s{n % 3}",
            "testCaseId": f"TC-{n % 3}",
            "status": status,
            "durationMs": 100 + n,
            "requirements": ["REQ-1"],
        },
    )


def test_glue_tables_declare_every_dataset_with_its_columns(resources: dict[str, Any]) -> None:
    tables = {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
        for r in resources.values()
        if r.get("Type") == "AWS::Glue::Table"
    }
    assert set(tables) == set(x.DATASETS)
    for dataset, columns in x.DATASETS.items():
        table = tables[dataset]
        declared = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
        assert declared == [c for c in columns if c[0] != "project"], dataset
        keys = [(k["Name"], k["Type"]) for k in table["PartitionKeys"]]
        assert keys == [("project", "string"), x.PARTITION_COLUMN]
        params = table["Parameters"]
        assert params["projection.enabled"] == "true"
        assert params["projection.dt.type"] == "date"
        assert params["projection.dt.format"] == "yyyy-MM-dd"
        assert params["projection.project.type"] == "injected"
        template = params["storage.location.template"]["Fn::Sub"]
        assert template == f"s3://${{Bucket}}/exports/{dataset}/project=${{!project}}/dt=${{!dt}}/"
        serde = table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
        assert serde == "org.openx.data.jsonserde.JsonSerDe"


def test_quicksight_is_behind_a_parameter_off_by_default(resources: dict[str, Any]) -> None:
    template = merge_template()
    assert template["Parameters"]["QuickSightPrincipalArn"]["Default"] == ""
    quicksight = {k: v for k, v in resources.items() if v.get("Type", "").startswith("AWS::Quick")}
    assert len(quicksight) == 2 * len(x.DATASETS)
    assert all(v["Condition"] == "HasQuickSight" for v in quicksight.values())
    for dataset, columns in x.DATASETS.items():
        found = [
            v for v in quicksight.values() if v["Type"] == "AWS::QuickSight::DataSet"
            and dataset.replace("_", "-") in v["Properties"]["PhysicalTableMap"]
        ]  # fmt: skip
        (data_set,) = found
        (table,) = data_set["Properties"]["PhysicalTableMap"].values()
        source = table["S3Source"]
        assert source["UploadSettings"] == {"Format": "JSON"}
        assert [(c["Name"], c["Type"]) for c in source["InputColumns"]] == [
            (n, QUICKSIGHT_TYPES.get(t, t.upper())) for n, t in columns
        ]


def test_the_local_stack_leaves_glue_and_quicksight_out(caplog: Any) -> None:
    from infra.deploy_local import local_template

    local = local_template()["Resources"]
    assert not [r for r in local.values() if r["Type"].startswith(("AWS::Glue", "AWS::Quick"))]
    assert "ExportsTicketsTable" in caplog.text


def test_encoding_is_stable_typed_and_complete() -> None:
    rows = [
        {"execution_id": "b", "attempt": 1, "duration_ms": 12.0, "flaky": 0, "status": "failed"},
        {"execution_id": "a", "title": "ignored", "requirements": "", "at": "ü"},
    ]
    body = x.encode("executions", rows)
    assert body == x.encode("executions", list(reversed(rows)))
    lines = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert [r["execution_id"] for r in lines] == ["a", "b"]
    assert all(list(r) == [c for c, _ in x.DATASETS["executions"]] for r in lines)
    assert lines[1]["duration_ms"] == 12 and lines[1]["flaky"] is False
    assert lines[0]["requirements"] is None and lines[0]["at"] == "ü"
    assert "ü".encode() in body  # UTF-8, not \u escapes
    assert x.encode("executions", []) == b""


def test_manifest_has_quicksights_documented_shape() -> None:
    keys = [x.data_key("executions", "DEMO", d) for d in ("2026-03-02", "2026-03-01")]
    manifest = x.manifest("bucket", keys)
    assert manifest == {
        "fileLocations": [
            {
                "URIs": [
                    "s3://bucket/exports/executions/project=DEMO/dt=2026-03-01/executions.json",
                    "s3://bucket/exports/executions/project=DEMO/dt=2026-03-02/executions.json",
                ]
            }
        ],
        "globalUploadSettings": {"format": "JSON"},
    }


def test_events_stage_rows_and_dirty_days() -> None:
    moved = ChangeEvent(
        id="t_1#3",
        kind=ChangeKind.TICKET_MOVED,
        project="DEMO",
        at="2026-03-05T09:00:00Z",
        subject="t_1",
        data={"ticketId": "t_1", "from": "draft", "to": "approved", "cause": "approve",
              "openedAt": "2026-03-01T08:00:00Z", "scenarioId": "checkout.pay"},
    )  # fmt: skip
    staged = x.staged_rows(moved) + x.staged_rows(execution(1))
    assert [(s.dataset, s.day, s.key) for s in staged] == [
        ("ticket_events", "2026-03-05", "t_1#3"),
        ("tickets", "2026-03-01", "t_1"),
        ("executions", "2026-03-01", "ex_0001"),
    ]
    assert x.dirty_days(staged) == {
        ("ticket_events", "2026-03-05"),
        ("metrics_daily", "2026-03-05"),
        ("tickets", "2026-03-01"),
        ("executions", "2026-03-01"),
        ("scenarios_daily", "2026-03-01"),
        ("metrics_daily", "2026-03-01"),
    }


class FakeExportStore:
    def __init__(self) -> None:
        self.staged: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.marks: dict[tuple[str, str], str] = {}
        self.parts: dict[tuple[str, str], str] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self._n = 0

    def stage(self, project: str, rows: Any, dirty: set[tuple[str, str]]) -> None:
        for s in rows:
            self.staged[(s.dataset, s.day, s.key)] = dict(s.row)
        for mark in dirty:
            self.mark_dirty(project, *mark)

    def dirty(self, project: str) -> list[tuple[str, str, str]]:
        return [(d, day, token) for (d, day), token in sorted(self.marks.items())]

    def mark_dirty(self, project: str, dataset: str, day: str) -> None:
        self._n += 1
        self.marks[(dataset, day)] = str(self._n)

    def clear(self, project: str, dataset: str, day: str, token: str) -> bool:
        if self.marks.get((dataset, day)) != token:
            return False
        del self.marks[(dataset, day)]
        return True

    def rows(self, project: str, dataset: str, day: str) -> list[dict[str, Any]]:
        return [r for (d, dd, _), r in sorted(self.staged.items()) if (d, dd) == (dataset, day)]

    def written(self, project: str, dataset: str) -> dict[str, str]:
        return {day: key for (d, day), key in self.parts.items() if d == dataset}

    def record_written(self, project: str, dataset: str, day: str, key: str) -> None:
        self.parts[(dataset, day)] = key

    def put_job(self, project: str, export_id: str, job: dict[str, Any]) -> None:
        self.jobs[export_id] = dict(job)

    def get_job(self, project: str, export_id: str) -> dict[str, Any] | None:
        return self.jobs.get(export_id)


class NoMetrics:
    def generation(self, project: str) -> str:
        return "g0"

    def buckets(self, *args: Any) -> dict[tuple[str, ...], dict[str, Any]]:
        return {}


def figures(project: str, period: m.Period, module: str | None) -> dict[str, Any]:
    zero = {"totalRuns": 0, "totalTests": 0, "passed": 0, "failed": 0, "blocked": 0,
            "skipped": 0, "passRate": None, "avgDurationMs": None}  # fmt: skip
    return {
        "testExecution": zero,
        "trends": {"defectTrend": [{"date": period.start, "value": 0}]},
        "flakyRate": None,
        "defects": {"total": 0},
        "falsePositiveRate": None,
        "retestSuccessRate": None,
        "timeToResolution": {"medianHours": None},
        "approvalLatency": {"medianHours": None},
    }


def test_a_run_writes_dirty_days_once_and_manifests_after_them() -> None:
    store, blobs = FakeExportStore(), FakeBlobs()
    service = ExportService(
        Stores(store, None, None, NoMetrics()),  # type: ignore[arg-type]
        blobs,
        figures,
    )
    service.reader.apply([execution(n) for n in range(5)])
    first = service.run("DEMO")
    assert first["executions"] == {"days": 1, "written": 1, "rows": 5}
    assert set(first) == {"executions", "scenarios_daily", "metrics_daily"}
    order = list(blobs.objects)
    assert order.index(x.manifest_key("DEMO", "executions")) > order.index(
        x.data_key("executions", "DEMO", "2026-03-01")
    )
    assert service.run("DEMO") == {}  # nothing changed: nothing read, nothing written

    service.reader.apply([execution(n) for n in range(5)])  # a redelivery
    again = service.run("DEMO")
    assert all(d["written"] == 0 for d in again.values())

    service.reader.apply([execution(9, day="2026-03-02", status="failed")])
    later = service.run("DEMO")
    assert later["executions"] == {"days": 1, "written": 1, "rows": 1}
    manifest = json.loads(blobs.objects[x.manifest_key("DEMO", "executions")][0])
    assert len(manifest["fileLocations"][0]["URIs"]) == 2
    daily = blobs.objects[x.data_key("scenarios_daily", "DEMO", "2026-03-01")][0]
    rows = [json.loads(line) for line in daily.splitlines()]
    assert [(r["scenario_id"], r["executions"]) for r in rows] == [
        ("checkout.s0", 2),
        ("checkout.s1", 2),
        ("checkout.s2", 1),
    ]


def test_manifest_names_at_most_quicksights_file_limit_newest_days() -> None:
    start = date(2023, 1, 1)
    days = [(start + timedelta(days=i)).isoformat() for i in range(1200)]
    manifest = x.manifest("bucket", [x.data_key("tickets", "DEMO", d) for d in days])
    uris = manifest["fileLocations"][0]["URIs"]
    assert len(uris) == x.MANIFEST_MAX_FILES == 1000
    assert uris[0].endswith(f"dt={days[200]}/tickets.json")
    assert uris[-1].endswith(f"dt={days[-1]}/tickets.json")
