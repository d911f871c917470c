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


LEVELS = ("day", "week", "mon")
# Items a scenario's / requirement's counters of one block are spread over (a hash of the id).
# Readers read every shard there is, so raising a number needs no rebuild (an id's old counters
# stay in its old shard and still add up); lowering one would hide counters. See docs/decisions.md
# for the sizes: 4 shards hold a month of 12,000 scenarios of 80 characters under 400 KB.
SHARDS = {"scn": 4, "req": 2}
BucketKey = tuple[str, ...]


@dataclass
class Period:
    start: str  # YYYY-MM-DD, inclusive
    end: str  # YYYY-MM-DD, inclusive

    def days(self) -> list[str]:
        first, last = date.fromisoformat(self.start), date.fromisoformat(self.end)
        return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _month_fits(first: date, last: date, until: date) -> bool:
    """A month starting in (first, last] that ends by `until`: take days up to it, not a week."""
    start = _month_end(first) + timedelta(days=1)
    return start <= last and _month_end(start) <= until


def blocks(period: Period) -> list[tuple[str, str]]:
    """The fewest (level, key) blocks that tile the period, greedily: whole months, whole ISO
    weeks (by their Monday), single days at the edges. 30 days: ~4 weeks and a few days; a year:
    11 or 12 months, a few weeks and days."""
    day, last = date.fromisoformat(period.start), date.fromisoformat(period.end)
    out: list[tuple[str, str]] = []
    while day <= last:
        if day.day == 1 and _month_end(day) <= last:
            out.append(("mon", day.isoformat()[:7]))
            day = _month_end(day) + timedelta(days=1)
        elif (
            day.weekday() == 0
            and day + timedelta(days=6) <= last
            and not _month_fits(day, day + timedelta(days=6), last)
        ):
            out.append(("week", day.isoformat()))
            day += timedelta(days=7)
        else:
            out.append(("day", day.isoformat()))
            day += timedelta(days=1)
    return out


def _months(first: str, last: str) -> list[str]:
    out, month = [], date.fromisoformat(first[:7] + "-01")
    while month.isoformat()[:7] <= last[:7]:
        out.append(month.isoformat()[:7])
        month = _month_end(month) + timedelta(days=1)
    return out


def period_keys(period: Period, scope: str, today: str) -> list[BucketKey]:
    """Every bucket a period's figures read: its blocks' counters, lists and shards, the trend
    months from the period's first to today's (the open-defect trend counts back from today's
    level) or its last, and the gauge. Bounded by the period and the months since it."""
    keys: list[BucketKey] = []
    for level, key in blocks(period):
        keys.append(("c", scope, level, key))
        keys.append(("l", scope, level, key))
        for kind, shards in SHARDS.items():
            keys.extend((kind, scope, level, key, str(n)) for n in range(shards))
    keys.extend(("trend", scope, m) for m in _months(period.start, max(period.end, today)))
    keys.append(("gauge", scope))
    return keys


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


def _density(defects: dict[str, float], executions: dict[str, float]) -> dict[str, float | None]:
    return {name: ratio(n, executions.get(name, 0)) for name, n in sorted(defects.items()) if n > 0}


def entity_counters(
    found: dict[BucketKey, dict[str, Any]], kind: str
) -> dict[str, dict[str, float]]:
    """Counter name -> id -> sum over every shard of every block read (`x`, `d`, `f`)."""
    out: dict[str, dict[str, float]] = {}
    for key, bucket in found.items():
        if key[0] != kind:
            continue
        for attr, value in bucket.items():
            name, counter, ident = attr.partition(":")
            if not counter:
                continue  # a set (`run`)
            per = out.setdefault(name, {})
            per[ident] = per.get(ident, 0) + float(value)
    return out


def figures(
    period: Period, found: dict[BucketKey, dict[str, Any]], scope: str, today: str
) -> dict[str, Any]:
    """The contract's figures for a period and scope, from the buckets `period_keys` names
    (those that exist)."""
    parts = blocks(period)
    c, _ = _sum(found.get(("c", scope, level, key), {}) for level, key in parts)
    _, lists = _sum(found.get(("l", scope, level, key), {}) for level, key in parts)
    gauge = found.get(("gauge", scope), {})
    trend = {k[2]: v for k, v in found.items() if k[0] == "trend"}
    scn, req = entity_counters(found, "scn"), entity_counters(found, "req")
    covered = {str(r) for k, b in found.items() if k[0] == "req" for r in b.get("run", ())}
    mod_x = {k: float(v) for k, v in _prefixed(c, "x:mod:").items()}
    mod_d = {k: float(v) for k, v in _prefixed(c, "def:mod:").items()}
    ttr, appr = lists.get("ttr", []), lists.get("appr", [])
    return {
        "period": {"start": period.start, "end": period.end},
        "testExecution": _test_execution(c),
        "defects": _defects(c),
        "coverage": _coverage(gauge, covered),
        "trends": {
            "passRateTrend": _pass_trend(period, trend),
            "defectTrend": _defect_trend(period, trend, gauge, today),
        },
        "defectDensity": {
            "byScenario": _density(scn.get("d", {}), scn.get("x", {})),
            "byModule": _density(mod_d, mod_x),
            "byRequirement": _density(req.get("d", {}), req.get("x", {})),
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


def _on(trend: dict[str, dict[str, Any]], name: str, day: str) -> float:
    return float(trend.get(day[:7], {}).get(f"{name}:{day[8:]}", 0))


def _pass_trend(period: Period, trend: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for day in period.days():
        passed = _on(trend, ResultStatus.PASSED, day)
        executed = passed + _on(trend, ResultStatus.FAILED, day)
        executed += _on(trend, ResultStatus.BLOCKED, day)
        if executed:
            out.append({"date": day, "value": ratio(passed, executed)})
    return out


def _defect_trend(
    period: Period, trend: dict[str, dict[str, Any]], gauge: dict[str, Any], today: str
) -> list[dict[str, Any]]:
    """Open defects at the end of each day: today's level minus what changed after that day
    (the trend months read run from the period's first to today's)."""
    level = float(gauge.get(DefectClass.OPEN, 0))
    deltas: dict[str, float] = {}
    for month, bucket in trend.items():
        for name, value in bucket.items():
            if name.startswith("o:"):
                day = f"{month}-{name[2:]}"
                deltas[day] = deltas.get(day, 0) + float(value)
    later = sum(v for d, v in deltas.items() if d > period.end)
    out = []
    for day in reversed(period.days()):
        if day <= today:
            out.append({"date": day, "value": int(level - later)})
        later += deltas.get(day, 0)
    out.reverse()
    return out


def _quantiles(values: list[float]) -> dict[str, float | None]:
    return {"medianHours": _r(quantile(values, 0.5)), "p90Hours": _r(quantile(values, 0.9))}
