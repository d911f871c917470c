"""Exports for BI tools (QuickSight, Athena): the datasets, their columns, and how change events
and aggregates become rows. Pure: no AWS here (docs/exports.md describes the result).

Files are JSON Lines: one object per line, UTF-8 without BOM, every column present in every
object (null when unknown) and in the column order below, rows sorted by their key, so the same
rows always give the same bytes (a re-run writes the same objects). Each (dataset, project, day)
is one object, `exports/{dataset}/project={project}/dt={day}/{dataset}.json`, replaced whole by
one PUT: a reader sees the old day or the new day, never half of one.

Column types are Glue/Athena types; `infra/template.json` declares the same columns (a unit test
keeps them equal) and QuickSight's data sets map them (bigint -> INTEGER, double -> DECIMAL)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.metrics import day_of, module_of, ratio
from chalicelib.domain.statuses import ResultStatus as R

EXPORTS_PREFIX = "exports"
MANIFESTS_PREFIX = f"{EXPORTS_PREFIX}/manifests"

Column = tuple[str, str]  # (name, Glue type)

_RESULTS = tuple(s.value for s in R)  # a count column per result status, in this order
_RESULT_COLUMNS: tuple[Column, ...] = tuple((status, "bigint") for status in _RESULTS)
DATASETS: dict[str, tuple[Column, ...]] = {
    "tickets": (
        ("ticket_id", "string"),
        ("project", "string"),
        ("scenario_id", "string"),
        ("test_case_id", "string"),
        ("module", "string"),
        ("status", "string"),
        ("title", "string"),
        ("severity", "string"),
        ("priority", "string"),
        ("occurrences", "bigint"),
        ("jira_key", "string"),
        ("regression_of", "string"),
        ("merged_into", "string"),
        ("created_at", "string"),
        ("updated_at", "string"),
    ),
    "ticket_events": (
        ("event_id", "string"),
        ("project", "string"),
        ("ticket_id", "string"),
        ("at", "string"),
        ("kind", "string"),
        ("from_status", "string"),
        ("to_status", "string"),
        ("cause", "string"),
        ("actor", "string"),
        ("scenario_id", "string"),
        ("module", "string"),
        ("severity", "string"),
    ),
    "executions": (
        ("execution_id", "string"),
        ("project", "string"),
        ("run_id", "string"),
        ("scenario_id", "string"),
        ("test_case_id", "string"),
        ("module", "string"),
        ("attempt", "bigint"),
        ("status", "string"),
        ("duration_ms", "bigint"),
        ("flaky", "boolean"),
        ("environment", "string"),
        ("reporter", "string"),
        ("ticket_id", "string"),
        ("method", "string"),
        ("requirements", "string"),
        ("at", "string"),
    ),
    "scenarios_daily": (
        ("project", "string"),
        ("scenario_id", "string"),
        ("module", "string"),
        ("executions", "bigint"),
        *_RESULT_COLUMNS,
        ("flaky", "bigint"),
        ("pass_rate", "double"),
        ("avg_duration_ms", "double"),
        ("last_status", "string"),
        ("last_at", "string"),
    ),
    "metrics_daily": (
        ("project", "string"),
        ("module", "string"),
        ("total_runs", "bigint"),
        ("total_tests", "bigint"),
        *_RESULT_COLUMNS,
        ("pass_rate", "double"),
        ("avg_duration_ms", "double"),
        ("flaky_rate", "double"),
        ("defects_approved", "bigint"),
        ("open_defects", "bigint"),
        ("false_positive_rate", "double"),
        ("retest_success_rate", "double"),
        ("time_to_resolution_median_hours", "double"),
        ("approval_latency_median_hours", "double"),
    ),
    "audit": (
        ("at", "string"),
        ("project", "string"),
        ("actor", "string"),
        ("role", "string"),
        ("action", "string"),
        ("target", "string"),
        ("changes", "string"),
        ("request_id", "string"),
    ),
}
PARTITION_COLUMN = ("dt", "string")  # YYYY-MM-DD, a projected partition in Glue
# Datasets whose rows the change stream stages; the others are derived when a day is written.
STAGED = ("tickets", "ticket_events", "executions")
ALL_SCOPES = "*"  # metrics_daily's module for the whole project (as the metrics endpoint)


def data_key(dataset: str, project: str, day: str) -> str:
    return f"{EXPORTS_PREFIX}/{dataset}/project={project}/dt={day}/{dataset}.json"


def dataset_prefix(dataset: str) -> str:
    return f"{EXPORTS_PREFIX}/{dataset}/"


def manifest_key(project: str, dataset: str) -> str:
    return f"{MANIFESTS_PREFIX}/{project}/{dataset}.json"


MANIFEST_MAX_FILES = 1000  # QuickSight reads at most 1,000 files named by one manifest


def manifest(bucket: str, keys: Iterable[str]) -> dict[str, Any]:
    """QuickSight's S3 manifest: the day objects written, named one by one (so it only ever
    names complete objects), the newest MANIFEST_MAX_FILES days (keys sort by day), and the
    format. For JSON QuickSight takes only `format`. Athena reads every day."""
    newest = sorted(keys)[-MANIFEST_MAX_FILES:]
    return {
        "fileLocations": [{"URIs": [f"s3://{bucket}/{k}" for k in newest]}],
        "globalUploadSettings": {"format": "JSON"},
    }


# -- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staged:
    """A row the change stream hands to the exports: dataset, day (partition), key, row.
    A tickets row is only a pointer ({"ticket_id"}): the ticket is read when its day is
    written."""

    dataset: str
    day: str
    key: str
    row: dict[str, Any]


def staged_rows(event: ChangeEvent) -> list[Staged]:
    d = event.data
    if event.kind == ChangeKind.EXECUTION_RECORDED:
        return [Staged("executions", day_of(event.at), event.id, execution_row(event))]
    if event.kind in (ChangeKind.TICKET_OPENED, ChangeKind.TICKET_MOVED):
        ticket_id = str(d.get("ticketId") or event.subject)
        opened = str(d.get("openedAt") or event.at)
        return [
            Staged("ticket_events", day_of(event.at), event.id, ticket_event_row(event)),
            Staged("tickets", day_of(opened), ticket_id, {"ticket_id": ticket_id}),
        ]
    return []


def dirty_days(staged: Sequence[Staged]) -> set[tuple[str, str]]:
    """(dataset, day) partitions to write again after these rows: their own, and the derived
    datasets of the same day (scenarios_daily from executions; metrics_daily from either)."""
    out: set[tuple[str, str]] = set()
    for s in staged:
        out.add((s.dataset, s.day))
        if s.dataset == "executions":
            out.add(("scenarios_daily", s.day))
            out.add(("metrics_daily", s.day))
        if s.dataset == "ticket_events":
            out.add(("metrics_daily", s.day))
    return out


def execution_row(event: ChangeEvent) -> dict[str, Any]:
    d = event.data
    scenario = str(d.get("scenarioId") or "")
    return {
        "execution_id": event.id,
        "project": event.project,
        "run_id": d.get("runId"),
        "scenario_id": scenario,
        "test_case_id": d.get("testCaseId"),
        "module": module_of(scenario, d.get("module")),
        "attempt": d.get("attempt"),
        "status": d.get("status"),
        "duration_ms": d.get("durationMs"),
        "flaky": bool(d.get("flaky")),
        "environment": d.get("environment"),
        "reporter": d.get("reporter"),
        "ticket_id": d.get("ticketId"),
        "method": "manual" if d.get("method") == "manual" else "automated",
        "requirements": ";".join(str(r) for r in d.get("requirements") or []) or None,
        "at": event.at,
    }


def ticket_event_row(event: ChangeEvent) -> dict[str, Any]:
    d = event.data
    scenario = str(d.get("scenarioId") or "")
    return {
        "event_id": event.id,
        "project": event.project,
        "ticket_id": d.get("ticketId") or event.subject,
        "at": event.at,
        "kind": event.kind,
        "from_status": d.get("from"),
        "to_status": d.get("to"),
        "cause": d.get("cause") or ("open" if event.kind == ChangeKind.TICKET_OPENED else None),
        "actor": d.get("by"),
        "scenario_id": scenario,
        "module": module_of(scenario, d.get("module")),
        "severity": d.get("severity"),
    }


def ticket_row(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """A stored ticket (its contract view: camelCase) as a tickets row."""
    jira = ticket.get("jira") or {}
    scenario = str(ticket.get("scenarioId") or "")
    return {
        "ticket_id": ticket.get("id"),
        "project": ticket.get("project"),
        "scenario_id": scenario,
        "test_case_id": ticket.get("testCaseId"),
        "module": module_of(scenario, ticket.get("module")),
        "status": ticket.get("status"),
        "title": ticket.get("title"),
        "severity": ticket.get("severity"),
        "priority": ticket.get("priority"),
        "occurrences": ticket.get("occurrences"),
        "jira_key": jira.get("key") if isinstance(jira, Mapping) else None,
        "regression_of": ticket.get("regressionOf"),
        "merged_into": ticket.get("mergedInto"),
        "created_at": ticket.get("createdAt"),
        "updated_at": ticket.get("updatedAt"),
    }


def scenarios_daily(project: str, executions: Iterable[Mapping[str, Any]]) -> list[dict]:
    """One row per scenario from a day's executions rows."""
    by: dict[str, dict[str, Any]] = {}
    durations: dict[str, list[float]] = {}
    for x in sorted(executions, key=lambda r: (str(r.get("at")), str(r.get("execution_id")))):
        scenario = str(x.get("scenario_id") or "")
        row = by.setdefault(
            scenario,
            {
                "project": project,
                "scenario_id": scenario,
                "module": x.get("module"),
                "executions": 0,
                **dict.fromkeys(_RESULTS, 0),
                "flaky": 0,
            },
        )
        row["executions"] += 1
        status = str(x.get("status"))
        if status in _RESULTS:
            row[status] += 1
        if x.get("flaky"):
            row["flaky"] += 1
        if x.get("duration_ms") is not None:
            durations.setdefault(scenario, []).append(float(x["duration_ms"]))
        row["last_status"], row["last_at"] = status, x.get("at")
    out = []
    for scenario, row in sorted(by.items()):
        executed = row[R.PASSED] + row[R.FAILED] + row[R.BLOCKED]
        spent = durations.get(scenario, [])
        row["pass_rate"] = ratio(row[R.PASSED], executed)
        row["avg_duration_ms"] = round(sum(spent) / len(spent), 2) if spent else None
        out.append(row)
    return out


def metrics_daily_row(project: str, scope: str, day: str, figures: Mapping[str, Any]) -> dict:
    """One day's row for a scope (`*` or a module) from the metrics endpoint's figures of the
    period [day, day]: the same numbers the endpoint gives for that day."""
    te = figures["testExecution"]
    trend = {p["date"]: p["value"] for p in figures["trends"]["defectTrend"]}
    return {
        "project": project,
        "module": scope,
        "total_runs": te["totalRuns"],
        "total_tests": te["totalTests"],
        **{status: te[status] for status in _RESULTS},
        "pass_rate": te["passRate"],
        "avg_duration_ms": te["avgDurationMs"],
        "flaky_rate": figures["flakyRate"],
        "defects_approved": figures["defects"]["total"],
        "open_defects": trend.get(day),
        "false_positive_rate": figures["falsePositiveRate"],
        "retest_success_rate": figures["retestSuccessRate"],
        "time_to_resolution_median_hours": figures["timeToResolution"]["medianHours"],
        "approval_latency_median_hours": figures["approvalLatency"]["medianHours"],
    }


# -- encoding -----------------------------------------------------------------------------------

_CASTS = {"bigint": int, "double": float, "boolean": bool, "string": str}


def _typed(value: Any, glue_type: str) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    return _CASTS[glue_type](value)


def row_key(dataset: str, row: Mapping[str, Any]) -> tuple[str, ...]:
    first = DATASETS[dataset][0][0]
    if dataset == "metrics_daily":
        return (str(row.get("module")),)
    if dataset == "scenarios_daily":
        return (str(row.get("scenario_id")),)
    if dataset == "audit":
        return tuple(str(row.get(c)) for c in ("at", "request_id", "target", "changes"))
    return (str(row.get(first)),)


def encode(dataset: str, rows: Iterable[Mapping[str, Any]]) -> bytes:
    """JSON Lines in the dataset's column order, sorted by key: the same rows, the same bytes."""
    columns = DATASETS[dataset]
    lines = []
    for row in sorted(rows, key=lambda r: row_key(dataset, r)):
        typed = {name: _typed(row.get(name), kind) for name, kind in columns}
        lines.append(json.dumps(typed, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
