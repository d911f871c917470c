"""Metrics figures: how the aggregates (`domain.metrics`) become the contract's figures for a
period and scope. Every figure is defined here once (and explained in docs/metrics.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chalicelib.domain.statuses import DefectClass, ResultStatus, TicketStatus


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, statistics' "inclusive")."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ratio(part: float, whole: float, scale: float = 100.0) -> float | None:
    """part / whole x scale, rounded to 2 places; None (null) when nothing to divide by."""
    return round(part * scale / whole, 2) if whole else None


def _r(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


@dataclass
class Period:
    start: str  # YYYY-MM-DD, inclusive
    end: str  # YYYY-MM-DD, inclusive

    def days(self) -> list[str]:
        first, last = date.fromisoformat(self.start), date.fromisoformat(self.end)
        return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _sum(buckets: Iterable[dict[str, Any]]) -> tuple[dict[str, float], dict[str, list[float]]]:
    counters: dict[str, float] = {}
    lists: dict[str, list[float]] = {}
    for bucket in buckets:
        for name, value in bucket.items():
            if isinstance(value, list):
                lists.setdefault(name, []).extend(float(v) for v in value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                counters[name] = counters.get(name, 0) + value
    return counters, lists


def _prefixed(counters: dict[str, float], prefix: str) -> dict[str, int]:
    return {
        k[len(prefix) :]: int(v) for k, v in sorted(counters.items()) if k.startswith(prefix) and v
    }


def _pass_rate(c: dict[str, float]) -> float | None:
    executed = c.get("st:passed", 0) + c.get("st:failed", 0) + c.get("st:blocked", 0)
    return ratio(c.get("st:passed", 0), executed)


def _density(defects: dict[str, float], executions: dict[str, float]) -> dict[str, float | None]:
    return {name: ratio(n, executions.get(name, 0)) for name, n in sorted(defects.items()) if n > 0}


def figures(
    period: Period,
    days: dict[str, dict[str, Any]],
    later_days: dict[str, dict[str, Any]],
    scenarios: Sequence[tuple[str, str, dict[str, Any]]],
    requirements: Sequence[tuple[str, str, dict[str, Any]]],
    gauge: dict[str, Any],
    today: str,
) -> dict[str, Any]:
    """The contract's figures for a period and scope.

    days: day -> its day bucket (days of the period); later_days: the buckets after the period
    up to today, the rest of its last month by day and the months after by month (keyed YYYY-MM,
    which sorts after every day of the period): the open-defect trend is counted back from
    today's level;
    scenarios / requirements: (day, id, bucket) of the period; gauge: the scope's levels."""
    c, lists = _sum(days.values())
    scn_x, scn_d, _ = _per_item(scenarios)
    req_x, req_d, covered = _per_item(requirements)
    mod_x = {k: float(v) for k, v in _prefixed(c, "x:mod:").items()}
    mod_d = {k: float(v) for k, v in _prefixed(c, "def:mod:").items()}
    ttr, appr = lists.get("ttr", []), lists.get("appr", [])
    return {
        "period": {"start": period.start, "end": period.end},
        "testExecution": _test_execution(c),
        "defects": _defects(c),
        "coverage": _coverage(gauge, covered),
        "trends": {
            "passRateTrend": _pass_trend(days),
            "defectTrend": _defect_trend(period, days, later_days, gauge, today),
        },
        "defectDensity": {
            "byScenario": _density(scn_d, scn_x),
            "byModule": _density(mod_d, mod_x),
            "byRequirement": _density(req_d, req_x),
        },
        "timeToResolution": _quantiles(ttr),
        "meanTimeToResolutionHours": _r(sum(ttr) / len(ttr)) if ttr else None,
        "retestSuccessRate": ratio(c.get("retestsPassed", 0), c.get("retests", 0)),
        "reopenRate": ratio(c.get("reopenedAfterResolved", 0), c.get("resolvedFirst", 0)),
        "approvalLatency": _quantiles(appr),
        "falsePositiveRate": ratio(c.get(TicketStatus.REJECTED, 0), c.get("decided", 0)),
        "duplicateRatio": ratio(c.get("occ", 0), c.get("opened", 0), 1),
        "flakyRate": ratio(c.get("flaky", 0), int(c.get("tests", 0))),
        "openDefects": {
            "total": int(gauge.get(DefectClass.OPEN, 0)),
            "bySeverity": _prefixed(gauge, "open:sev:"),
        },
        "retestBacklog": int(gauge.get("retestBacklog", 0)),
    }


def _executed(c: dict[str, float]) -> float:
    return c.get("st:passed", 0) + c.get("st:failed", 0) + c.get("st:blocked", 0)


def _test_execution(c: dict[str, float]) -> dict[str, Any]:
    return {
        "totalRuns": int(c.get("runs", 0)),
        "totalTests": int(c.get("tests", 0)),
        **{s.value: int(c.get(f"st:{s.value}", 0)) for s in ResultStatus},
        "passRate": ratio(c.get("st:passed", 0), _executed(c)),
        "avgDurationMs": ratio(c.get("durSum", 0), c.get("durN", 0), 1),
    }


def _defects(c: dict[str, float]) -> dict[str, Any]:
    return {
        "total": int(c.get("def", 0)),
        **{k.value: int(c.get(f"def:{k.value}", 0)) for k in DefectClass},
        "bySeverity": _prefixed(c, "def:sev:"),
        "byModule": _prefixed(c, "def:mod:"),
    }


def _coverage(gauge: dict[str, Any], covered: set[str]) -> dict[str, Any]:
    req_total = int(gauge.get("req:total", 0))
    automated, manual = int(gauge.get("tc:automated", 0)), int(gauge.get("tc:manual", 0))
    return {
        "requirements": {
            "total": req_total,
            "covered": len(covered),
            "percentage": ratio(len(covered), req_total),
        },
        "testCases": {
            "automated": automated,
            "manual": manual,
            "automationRate": ratio(automated, automated + manual),
        },
    }


def _pass_trend(days: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    trend = []
    for day in sorted(days):
        rate = _pass_rate(days[day])
        if rate is not None:
            trend.append({"date": day, "value": rate})
    return trend


def _defect_trend(
    period: Period,
    days: dict[str, dict[str, Any]],
    later_days: dict[str, dict[str, Any]],
    gauge: dict[str, Any],
    today: str,
) -> list[dict[str, Any]]:
    """Open defects at the end of each day: today's level minus what changed after that day."""
    level = float(gauge.get(DefectClass.OPEN, 0))
    deltas = {d: float(b.get("openDelta", 0)) for d, b in {**days, **later_days}.items()}
    trend = []
    for day in reversed(period.days()):
        if day > today:
            continue
        later = sum(v for d, v in deltas.items() if d > day)
        trend.append({"date": day, "value": int(level - later)})
    trend.reverse()
    return trend


def _per_item(
    rows: Sequence[tuple[str, str, dict[str, Any]]],
) -> tuple[dict[str, float], dict[str, float], set[str]]:
    """Executions and defects per scenario or requirement over the period's days; the ids
    run at least once (a requirement's coverage)."""
    executions: dict[str, float] = {}
    defects: dict[str, float] = {}
    run: set[str] = set()
    for _, ident, b in rows:
        executions[ident] = executions.get(ident, 0) + float(b.get("x", 0))
        defects[ident] = defects.get(ident, 0) + float(b.get("d", 0))
        if float(b.get("run", 0)) > 0:
            run.add(ident)
    return executions, defects, run


def _quantiles(values: list[float]) -> dict[str, float | None]:
    return {"medianHours": _r(quantile(values, 0.5)), "p90Hours": _r(quantile(values, 0.9))}
