"""(issue 11) A year of metrics aggregates for 1,000,000 executions and 20,000 tickets, as the
metrics reader would have left them (`domain.metrics`' buckets, `adapters/dynamo/keys/`' items),
built straight from per-day figures: per scope (the project and 6 modules) and day, 300
scenarios and 100 requirements with executions, a seventh of the scenarios with a defect, and
the day's counters, resolution and approval hours; each added to its day, ISO week and month
by the domain's own `count*` helpers. Used by `bench.metrics_exports` (in memory, moto) and
`bench.metrics_stack` (the local stack)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

PROJECT = "BENCH"
MODULES = ("checkout", "search", "cart", "account", "orders", "admin")
SCENARIOS_PER_DAY = 300
REQUIREMENTS_PER_DAY = 100
EXECUTIONS = 1_000_000
TICKETS = 20_000


def _day_counters(scope: str, per_day: int, tickets_per_day: int) -> dict[str, int]:
    share = per_day if scope == "*" else per_day // len(MODULES)
    opened = tickets_per_day if scope == "*" else max(1, tickets_per_day // len(MODULES))
    passed, failed = int(share * 0.9), int(share * 0.07)
    counters = {
        "tests": share,
        "runs": 12 if scope == "*" else 2,
        "st:passed": passed,
        "st:failed": failed,
        "st:blocked": share // 100,
        "st:skipped": share - passed - failed - share // 100,
        "durSum": share * 900,
        "durN": share,
        "flaky": share // 200,
        "opened": opened,
        "occ": opened * 3,
        "decided": opened,
        "rejected": opened // 5,
        "def": opened // 2,
        "def:open": opened // 4,
        "def:resolved": opened // 4,
        "def:sev:major": opened // 2,
        "retests": opened // 4,
        "retestsPassed": opened // 5,
        "resolvedFirst": opened // 4,
    }
    if scope == "*":
        for m in MODULES:
            counters[f"x:mod:{m}"] = share // len(MODULES)
            counters[f"def:mod:{m}"] = opened // 2 // len(MODULES)
    return counters


def _plan(days: list[str], scenarios: int, total_days: int) -> Any:
    """Every day's contributions, through the reader's own helpers (one Plan)."""
    from chalicelib.domain import metrics as m

    plan = m.Plan()
    per_day = EXECUTIONS // total_days
    tickets_per_day = TICKETS // total_days
    for n, day in enumerate(days):
        for scope in ("*", *MODULES):
            counters = _day_counters(scope, per_day, tickets_per_day)
            for name, value in counters.items():
                m.count(plan, scope, day, name, value)
            for status in ("passed", "failed", "blocked"):
                m.count_trend(plan, scope, day, status, counters[f"st:{status}"])
            opened = counters["opened"]
            for i in range(max(1, opened // 4)):
                m.listed(plan, scope, day, "ttr", 10 + (i * 7) % 90)
            for i in range(max(1, opened // 2)):
                m.listed(plan, scope, day, "appr", 1 + (i * 3) % 20)
        for s in range(scenarios):
            module = MODULES[s % len(MODULES)]
            for scope in ("*", module):
                m.count_entity(plan, "scn", scope, day, f"{module}.s{s}", "x", per_day // scenarios)
                if (s + n) % 7 == 0:
                    m.count_entity(plan, "scn", scope, day, f"{module}.s{s}", "d")
        for r in range(REQUIREMENTS_PER_DAY):
            module = MODULES[r % len(MODULES)]
            for scope in ("*", module):
                m.count_entity(plan, "req", scope, day, f"REQ-{r}", "x", 20)
                m.add_member(plan, "req", scope, day, f"REQ-{r}", m.RUN_SET)
                if r % 9 == 0:
                    m.count_entity(plan, "req", scope, day, f"REQ-{r}", "d")
    for scope in ("*", *MODULES):
        gauge = {"open": 400, "open:sev:major": 400, "tc:automated": 2500, "tc:manual": 500}
        gauge |= {"req:total": REQUIREMENTS_PER_DAY, "retestBacklog": 30}
        for name, value in gauge.items():
            plan.add(("gauge", scope), name, value)
    return plan


def aggregate_items(
    days: list[str],
    scenarios: int = SCENARIOS_PER_DAY,
    project: str = PROJECT,
    total_days: int | None = None,
) -> list[dict[str, Any]]:
    """The aggregates' items (generation g0) for these days of history; the year's executions
    and tickets are spread over `total_days` (default: these days)."""
    from chalicelib.adapters.dynamo import keys

    plan = _plan(days, scenarios, total_days or len(days))
    items: dict[tuple[str, ...], dict[str, Any]] = {}
    for bucket, counters in plan.adds.items():
        item = items.setdefault(bucket, dict(keys.metrics_bucket(project, "g0", bucket)))
        item.update({k: Decimal(str(v)) for k, v in counters.items()})
    for bucket, lists in plan.appends.items():
        item = items.setdefault(bucket, dict(keys.metrics_bucket(project, "g0", bucket)))
        for name, values in lists.items():  # as the store writes them: tagged string sets
            item[name] = {f"{Decimal(str(v))}#{uuid.uuid4().hex[:16]}" for v in values}
    for bucket, sets in plan.members.items():
        item = items.setdefault(bucket, dict(keys.metrics_bucket(project, "g0", bucket)))
        item.update({name: set(members) for name, members in sets.items()})
    return list(items.values())
