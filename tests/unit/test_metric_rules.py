"""Every figure of the contract, from the aggregates the metrics reader keeps, equals the same
figure computed by brute force from a generated history of hundreds of tickets and executions;
an event delivered twice counts once."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import lifecycle
from chalicelib.domain import metrics as m
from chalicelib.domain.changes import ChangeEvent, ChangeKind, from_images
from chalicelib.domain.gates import Gate
from chalicelib.domain.lifecycle import MOVES, Cause
from chalicelib.domain.tickets import HistoryEntry, Ticket
from chalicelib.errors import ValidationFailed
from chalicelib.services.metrics import MetricsService, Stores
from tests.unit.fakes import FakeStores

TODAY = "2026-03-10"
START = date(2026, 1, 1)
MODULES = ["checkout", "search", "auth"]
OPEN = {"approved", "jira_pending", "jira_failed", "open", "deferred", "blocked", "reopened"}
RESOLVED = {"resolved", "verified"}


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def moment_on(rng: random.Random, day: int) -> datetime:
    base = datetime(START.year, START.month, START.day, tzinfo=UTC) + timedelta(days=day)
    return base + timedelta(seconds=rng.randrange(0, 86_000))


def generate(seed: int = 7) -> tuple[list[dict[str, Any]], list[Ticket], list[ChangeEvent]]:
    """Executions and tickets (with their histories), and the change events the stream would
    have delivered for them, in an order that keeps each item's events in order."""
    rng = random.Random(seed)
    scenarios = []
    for i in range(40):
        module = MODULES[i % 3]
        reqs = rng.sample([f"REQ-{n}" for n in range(15)], rng.randrange(0, 3))
        cases = [f"TC-{i}-{k}" for k in range(rng.randrange(1, 3))]
        scenarios.append((f"{module}.s{i}", module, reqs, cases))
    manual_cases = {c for _, _, _, cases in scenarios[:6] for c in cases}
    executions: list[dict[str, Any]] = []
    for r in range(70):
        day = rng.randrange(0, 60)
        at = iso(moment_on(rng, day))
        for sid, module, reqs, cases in rng.sample(scenarios, 15):
            for case in cases:
                status = rng.choices(["passed", "failed", "blocked", "skipped"], [70, 20, 5, 5])[0]
                item = {
                    "executionId": f"ex-{r}-{case}",
                    "project": "P",
                    "runId": f"run-{r}",
                    "scenarioId": sid,
                    "testCaseId": case,
                    "attempt": 1,
                    "status": status,
                    "at": at,
                    "module": module,
                    "requirements": reqs or None,
                    "durationMs": rng.randrange(10, 5000) if rng.random() < 0.9 else None,
                    "flaky": True if status == "failed" and rng.random() < 0.2 else None,
                    "method": "manual" if case in manual_cases else None,
                }
                executions.append({k: v for k, v in item.items() if v is not None})
    events: list[ChangeEvent] = []
    for item in executions:
        events.extend(from_images("execution", None, item))

    tickets: list[Ticket] = []
    for t in range(320):
        sid, module, reqs, _ = rng.choice(scenarios)
        opened_at = moment_on(rng, rng.randrange(0, 60))
        ticket = Ticket(
            id=f"tk_{t}",
            project="P",
            status="draft",
            scenario_id=sid,
            module=module,
            created_at=iso(opened_at),
            severity=rng.choice(["critical", "high", "medium", "low", None]),
            requirements=list(reqs),
            occurrences=rng.randrange(1, 3),
            history=[HistoryEntry(at=iso(opened_at), status="draft")],
        )
        ticket_events = [lifecycle.opened(ticket)]
        now = opened_at
        for _ in range(rng.randrange(0, 9)):
            options = [
                (c, to) for (frm, c), tos in MOVES.items() if frm == ticket.status for to in tos
            ]
            if not options:
                break
            if ticket.status == "draft":  # leads mostly approve
                weights = [6 if c in (Cause.APPROVE, Cause.LINK) else 1 for c, _ in options]
            else:
                weights = [1] * len(options)
            cause, to = rng.choices(options, weights)[0]
            now = now + timedelta(hours=rng.uniform(0.5, 200))
            if now.date().isoformat() >= TODAY:
                break
            if rng.random() < 0.2:  # more failures of the scenario
                old = ticket.to_dict()
                ticket.occurrences += rng.randrange(1, 4)
                ticket_events.extend(from_images("ticket", old, ticket.to_dict()))
            done = lifecycle.move(ticket, cause, to, by="someone", reason=None, at=iso(now))
            ticket = lifecycle.apply(ticket, done)
            ticket_events.append(done.event)
        tickets.append(ticket)
        events.extend(ticket_events)
    # interleave items, keeping each ticket's own events in order
    rng.shuffle(events)
    order = {e.id: i for i, e in enumerate(events)}
    by_ticket: dict[str, list[ChangeEvent]] = {}
    for e in events:
        if e.kind != ChangeKind.EXECUTION_RECORDED:
            by_ticket.setdefault(e.subject, []).append(e)
    for mine in by_ticket.values():
        slots = sorted(order[e.id] for e in mine)
        proper = sorted(mine, key=_event_order)
        for slot, e in zip(slots, proper, strict=True):
            events[slot] = e
    return executions, tickets, events


def _event_order(e: ChangeEvent) -> tuple[str, int]:
    if e.kind == ChangeKind.TICKET_OPENED:
        return ("", 0)
    if e.kind == ChangeKind.TICKET_OCCURRENCES:
        return (e.at, int(e.data["occurrences"]))  # before the move at the same time
    return (e.at, 10_000 + int(e.id.rsplit("#", 1)[1]))


# -- brute force ----------------------------------------------------------------------------


def day(at: str) -> str:
    return at[:10]


def hours(a: str, b: str) -> float:
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(b) - parse(a)).total_seconds() / 3600


def pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def moves(ticket: Ticket) -> list[tuple[str, str, str, str]]:
    """(at, from, to, cause) of each move."""
    out = []
    for prev, entry in zip(ticket.history, ticket.history[1:], strict=False):
        out.append((entry.at, prev.status, entry.status, str(entry.cause)))
    return out


def brute(
    executions: list[dict[str, Any]], tickets: list[Ticket], start: str, end: str, mod: str | None
) -> dict[str, Any]:
    inside = lambda at: start <= day(at) <= end  # noqa: E731
    ex_all = [e for e in executions if mod is None or e["module"] == mod]
    ex = [e for e in ex_all if inside(e["at"])]
    tk = [t for t in tickets if mod is None or t.module == mod]
    count = lambda st: sum(1 for e in ex if e["status"] == st)  # noqa: E731
    passed, failed, blocked = count("passed"), count("failed"), count("blocked")
    durations = [e["durationMs"] for e in ex if "durationMs" in e]
    first_run_day: dict[str, str] = {}
    for e in sorted(ex_all, key=lambda e: e["at"]):
        first_run_day.setdefault(e["runId"], day(e["at"]))

    approved = {}
    for t in tk:
        for at, frm, _to, cause in moves(t):
            if frm == "draft" and cause in ("approve", "link"):
                approved[t.id] = at
    defects = [t for t in tk if t.id in approved and inside(approved[t.id])]

    def cls(status: str) -> str:
        return "open" if status in OPEN else "resolved" if status in RESOLVED else "closed"

    by_sev: dict[str, int] = {}
    by_mod: dict[str, int] = {}
    for t in defects:
        by_sev[t.severity or "unset"] = by_sev.get(t.severity or "unset", 0) + 1
        by_mod[t.module] = by_mod.get(t.module, 0) + 1

    reqs_known = {r for e in ex_all for r in e.get("requirements", [])}
    covered = {r for e in ex if e["status"] != "skipped" for r in e.get("requirements", [])}
    methods: dict[str, str] = {}
    for e in ex_all:
        methods.setdefault(e["testCaseId"], e.get("method", "automated"))
    automated = sum(1 for m in methods.values() if m == "automated")
    manual = len(methods) - automated

    trend = []
    days = sorted({day(e["at"]) for e in ex})
    for d in days:
        on = [e for e in ex if day(e["at"]) == d]
        p = sum(1 for e in on if e["status"] == "passed")
        n = sum(1 for e in on if e["status"] in ("passed", "failed", "blocked"))
        if n:
            trend.append({"date": d, "value": pct(p, n)})

    def status_at_end_of(t: Ticket, d: str) -> str | None:
        status = None
        for entry in t.history:
            if day(entry.at) <= d:
                status = entry.status
        return status

    defect_trend = []
    d = date.fromisoformat(start)
    while d.isoformat() <= min(end, TODAY):
        n = 0
        for t in tk:
            if t.id in approved and day(approved[t.id]) <= d.isoformat():
                n += status_at_end_of(t, d.isoformat()) in OPEN
        defect_trend.append({"date": d.isoformat(), "value": n})
        d += timedelta(days=1)

    def density(key: Any, defect_key: Any) -> dict[str, float | None]:
        x: dict[str, int] = {}
        for e in ex:
            for k in key(e):
                x[k] = x.get(k, 0) + 1
        dd: dict[str, int] = {}
        for t in defects:
            for k in defect_key(t):
                dd[k] = dd.get(k, 0) + 1
        return {k: pct(v, x.get(k, 0)) for k, v in sorted(dd.items())}

    ttr, appr, retests, reopen_cohort = [], [], [], []
    decided = rejected = 0
    for t in tk:
        first_resolved = None
        retested = False
        for at, frm, to, cause in moves(t):
            if to == "resolved" and first_resolved is None:
                first_resolved = at
                if inside(at):
                    ttr.append(hours(t.created_at, at))
            if frm == "resolved" and cause in ("retest_passed", "retest_failed") and not retested:
                retested = True
                if inside(at):
                    retests.append(cause == "retest_passed")
            if frm == "draft" and cause in ("approve", "link", "reject", "merge") and inside(at):
                decided += 1
                rejected += cause == "reject"
                if cause in ("approve", "link"):
                    appr.append(hours(t.created_at, at))
        if first_resolved and inside(first_resolved):
            reopen_cohort.append(
                any(to == "reopened" and at >= first_resolved for at, _, to, _ in moves(t))
            )
    opened = [t for t in tk if inside(t.created_at)]

    def q(values: list[float], p: float) -> float | None:
        if not values:
            return None
        if len(values) == 1:
            return round(values[0], 2)
        if p == 0.5:
            return round(statistics.median(values), 2)
        return round(statistics.quantiles(values, n=10, method="inclusive")[8], 2)

    open_now = [t for t in tk if t.id in approved and t.status in OPEN]
    open_sev: dict[str, int] = {}
    for t in open_now:
        open_sev[t.severity or "unset"] = open_sev.get(t.severity or "unset", 0) + 1
    return {
        "period": {"start": start, "end": end},
        "testExecution": {
            "totalRuns": sum(1 for d in first_run_day.values() if start <= d <= end),
            "totalTests": len(ex),
            "passed": passed,
            "failed": failed,
            "blocked": blocked,
            "skipped": count("skipped"),
            "passRate": pct(passed, passed + failed + blocked),
            "avgDurationMs": round(sum(durations) / len(durations), 2) if durations else None,
        },
        "defects": {
            "total": len(defects),
            "open": sum(1 for t in defects if cls(t.status) == "open"),
            "resolved": sum(1 for t in defects if cls(t.status) == "resolved"),
            "closed": sum(1 for t in defects if cls(t.status) == "closed"),
            "bySeverity": dict(sorted(by_sev.items())),
            "byModule": dict(sorted(by_mod.items())),
        },
        "coverage": {
            "requirements": {
                "total": len(reqs_known),
                "covered": len(covered),
                "percentage": pct(len(covered), len(reqs_known)),
            },
            "testCases": {
                "automated": automated,
                "manual": manual,
                "automationRate": pct(automated, automated + manual),
            },
        },
        "trends": {"passRateTrend": trend, "defectTrend": defect_trend},
        "defectDensity": {
            "byScenario": density(lambda e: [e["scenarioId"]], lambda t: [t.scenario_id]),
            "byModule": density(lambda e: [e["module"]], lambda t: [t.module]),
            "byRequirement": density(lambda e: e.get("requirements", []), lambda t: t.requirements),
        },
        "timeToResolution": {"medianHours": q(ttr, 0.5), "p90Hours": q(ttr, 0.9)},
        "meanTimeToResolutionHours": round(sum(ttr) / len(ttr), 2) if ttr else None,
        "retestSuccessRate": pct(sum(retests), len(retests)),
        "reopenRate": pct(sum(reopen_cohort), len(reopen_cohort)),
        "approvalLatency": {"medianHours": q(appr, 0.5), "p90Hours": q(appr, 0.9)},
        "falsePositiveRate": pct(rejected, decided),
        "duplicateRatio": round(sum(t.occurrences for t in opened) / len(opened), 2)
        if opened
        else None,
        "flakyRate": pct(sum(1 for e in ex if e.get("flaky")), len(ex)),
        "openDefects": {"total": len(open_now), "bySeverity": dict(sorted(open_sev.items()))},
        "retestBacklog": sum(1 for t in tk if t.status == "resolved"),
        "module": mod,
    }


def close(a: Any, b: Any, path: str = "") -> list[str]:
    """Differences between two figure trees (floats within 0.011: hours are stored to 4 places
    before rounding to 2)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        for k in set(a) & set(b):
            out += close(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} != {len(b)} items"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in close(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return [] if abs(a - b) <= 0.011 else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.fixture(scope="module")
def history() -> tuple[list[dict[str, Any]], list[Ticket], list[ChangeEvent]]:
    return generate()


def service(stores: FakeStores) -> MetricsService:
    stores.projects.create({"key": "P", "name": "P"})
    return MetricsService(
        Stores(stores.metrics, stores.gates, stores.executions, stores.projects),
        clock=lambda: TODAY + "T12:00:00.000Z",
    )


PERIODS = [
    ("2026-01-01", "2026-03-10", None),
    ("2026-01-10", "2026-02-05", None),
    ("2026-01-01", "2026-03-10", "checkout"),
    ("2026-02-01", "2026-02-28", "search"),
    ("2026-01-15", "2026-01-15", "auth"),
    ("2026-01-26", "2026-03-03", "search"),  # days, then February whole, not the week across
]


def test_figures_equal_brute_force(history: Any) -> None:
    executions, tickets, events = history
    assert len(tickets) >= 300 and len(executions) >= 1000
    stores = FakeStores()
    svc = service(stores)
    for start in range(0, len(events), 100):  # batches, as the stream delivers them
        svc.reader.apply(events[start : start + 100])
    for start, end, module in PERIODS:
        got = svc.metrics("P", start, end, module)
        want = brute(executions, tickets, start, end, module)
        assert close(got, want) == [], (start, end, module)
    # the history exercises every figure
    full = svc.metrics("P", "2026-01-01", "2026-03-10", None)
    assert full["retestSuccessRate"] is not None and full["reopenRate"] is not None
    assert full["timeToResolution"]["p90Hours"] is not None
    assert full["defects"]["bySeverity"] and full["coverage"]["testCases"]["manual"]


def test_an_event_delivered_twice_counts_once(history: Any) -> None:
    _, _, events = history
    once, twice = FakeStores(), FakeStores()
    a, b = service(once), service(twice)
    for start in range(0, len(events), 50):
        a.reader.apply(events[start : start + 50])
    for start in range(0, len(events), 50):  # every batch redelivered, overlapping the next
        b.reader.apply(events[start : start + 50])
        b.reader.apply(events[max(0, start - 20) : start + 50])
    for start, end, module in PERIODS:
        assert close(b.metrics("P", start, end, module), a.metrics("P", start, end, module)) == []


def test_no_data_is_null_not_zero() -> None:
    svc = service(FakeStores())
    out = svc.metrics("P", "2026-01-01", "2026-01-31", None)
    assert out["testExecution"]["passRate"] is None
    assert out["retestSuccessRate"] is None and out["reopenRate"] is None
    assert out["timeToResolution"] == {"medianHours": None, "p90Hours": None}
    assert out["falsePositiveRate"] is None and out["duplicateRatio"] is None
    assert out["testExecution"]["totalTests"] == 0


def test_period_is_validated() -> None:
    svc = service(FakeStores())
    with pytest.raises(ValidationFailed) as bad:
        svc.metrics("P", "2026-02-01", "2026-01-01", None)
    assert bad.value.details[0]["field"] == "from"
    with pytest.raises(ValidationFailed) as bad:
        svc.metrics("P", "yesterday", None, None)
    assert bad.value.details[0]["field"] == "from"


def test_gates_unknown_metric_or_operator_is_named() -> None:
    svc = service(FakeStores())
    with pytest.raises(ValidationFailed) as bad:
        svc.validate(
            "P",
            gates=[Gate("passRate", "gte", 95), Gate("speed", "gte", 1), Gate("coverage", "≥", 1)],
            saved=None,
            run_id=None,
            module=None,
            start=None,
            end=None,
        )
    fields = [d["field"] for d in bad.value.details]
    assert fields == ["gates[1].metric", "gates[2].operator"]
    assert "speed" in bad.value.details[0]["problem"]


def test_gates_over_figures_and_a_run(history: Any) -> None:
    executions, _, events = history
    stores = FakeStores()
    svc = service(stores)
    svc.reader.apply(events)
    from chalicelib.domain.executions import Execution

    stores.executions.record([Execution.from_dict(e) for e in executions if e["runId"] == "run-3"])
    figures = svc.metrics("P", "2026-02-09", "2026-03-10", None)
    critical = figures["openDefects"]["bySeverity"].get("critical", 0)
    out = svc.validate(
        "P",
        gates=[
            Gate("passRate", "gte", 0),
            Gate("criticalDefects", "eq", critical),
            Gate("openDefects", "lt", 0),
            Gate("newFailures", "eq", 0),
        ],
        saved=None,
        run_id="run-3",
        module=None,
        start="2026-02-09",
        end="2026-03-10",
    )
    assert [r["passed"] for r in out["results"]] == [True, True, False, True]
    assert out["passed"] is False
    assert "open defects" in out["recommendation"]
    run = [e for e in executions if e["runId"] == "run-3"]
    p = sum(e["status"] == "passed" for e in run)
    n = sum(e["status"] in ("passed", "failed", "blocked") for e in run)
    assert out["results"][0]["value"] == pct(p, n)
    # saved gates
    svc.save_gate("P", "release", [Gate("passRate", "gte", 101)], None)
    saved = svc.validate(
        "P", gates=None, saved="release", run_id=None, module=None, start=None, end=None
    )
    assert saved["passed"] is False and saved["results"][0]["threshold"] == 101


def test_rebuilt_events_equal_the_streamed_ones(history: Any) -> None:
    """The events a rebuild derives from a stored ticket count as the streamed ones did."""
    from chalicelib.domain.changes import ticket_history_events

    executions, tickets, events = history
    live, rebuilt = FakeStores(), FakeStores()
    a, b = service(live), service(rebuilt)
    a.reader.apply(events)
    replay = [e for t in tickets for e in ticket_history_events(t.to_dict())]
    replay += [e for item in executions for e in from_images("execution", None, item)]
    b.reader.apply(replay)
    for start, end, module in PERIODS:
        assert close(b.metrics("P", start, end, module), a.metrics("P", start, end, module)) == []
    # idempotent with the live events too (a rebuild's second pass, the stream meanwhile)
    b.reader.apply(events)
    for start, end, module in PERIODS:
        assert close(b.metrics("P", start, end, module), a.metrics("P", start, end, module)) == []


def test_a_request_reads_only_what_its_period_bounds(history: Any) -> None:
    """One read of named buckets: the blocks that tile the period (each its counters, lists and
    shards), the trend months from the period's first to today's, the gauge."""
    _, _, events = history
    stores = FakeStores()
    svc = service(stores)
    svc.reader.apply(events)
    stores.metrics.reads.clear()
    got = svc.metrics("P", "2026-01-10", "2026-01-16", None)  # Saturday to Friday: 7 days
    assert got["trends"]["defectTrend"][-1]["value"] >= 0
    [keys] = stores.metrics.reads
    per_block = 2 + sum(m.SHARDS.values())
    assert len(keys) == 7 * per_block + 3 + 1
    assert sorted(k[2] for k in keys if k[0] == "trend") == ["2026-01", "2026-02", "2026-03"]
    stores.metrics.reads.clear()
    year = svc.metrics("P", "2025-03-11", "2026-03-10", "checkout")
    [keys] = stores.metrics.reads
    levels = [k[2] for k in keys if k[0] == "c"]
    assert levels.count("mon") == 11 and len(levels) <= 26, levels
    assert close(year, brute(*history[:2], "2025-03-11", "2026-03-10", "checkout")) == []


def test_blocks_tile_every_period() -> None:
    """Every day of a period in exactly one block; whole months and weeks where they fit."""
    first = date(2025, 1, 1)
    rng = random.Random(3)
    for _ in range(400):
        start = first + timedelta(days=rng.randrange(0, 500))
        end = start + timedelta(days=rng.randrange(0, 366))
        period = m.Period(start.isoformat(), end.isoformat())
        covered = []
        for level, key in m.blocks(period):
            if level == "day":
                covered.append(key)
            elif level == "week":
                monday = date.fromisoformat(key)
                assert monday.weekday() == 0
                covered += [(monday + timedelta(days=i)).isoformat() for i in range(7)]
            else:
                day = date.fromisoformat(key + "-01")
                while day.isoformat()[:7] == key:
                    covered.append(day.isoformat())
                    day += timedelta(days=1)
        assert covered == period.days(), period
        if (end - start).days == 29:
            assert len(m.blocks(period)) <= 13
        if (end - start).days == 365:
            assert len(m.blocks(period)) <= 26


def test_counters_add_up_across_shards_whatever_their_number(
    history: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scenario's counters go to the shard its id hashes to; raising the number of shards
    midway (old counters stay where they are) changes no figure."""
    executions, tickets, events = history
    stores = FakeStores()
    svc = service(stores)
    monkeypatch.setitem(m.SHARDS, "scn", 1)
    monkeypatch.setitem(m.SHARDS, "req", 1)
    svc.reader.apply(events[: len(events) // 2])
    monkeypatch.setitem(m.SHARDS, "scn", 7)
    monkeypatch.setitem(m.SHARDS, "req", 3)
    svc.reader.apply(events[len(events) // 2 :])
    shards = {k[4] for (_, _, k) in stores.metrics.stored if k[0] == "scn"}
    assert shards == {str(n) for n in range(7)}
    for start, end, module in PERIODS:
        got = svc.metrics("P", start, end, module)
        assert close(got, brute(executions, tickets, start, end, module)) == []


def test_a_shard_of_12000_scenarios_fits_an_item() -> None:
    """docs/decisions.md's arithmetic: 12,000 scenarios of 80 characters in one month and scope,
    each with executions (up to 6 digits), a tenth with defects and a tenth flaky, spread over
    the shards: the fullest shard stays under DynamoDB's 400 KB (per attribute its name's UTF-8
    bytes plus a number's 1 + digits/2 bytes; 100 bytes of keys)."""
    ids = [f"m{i % 40:02d}.feature.{i:06d}." + "x" * 61 for i in range(12_000)]
    assert {len(i) for i in ids} == {80}
    size = dict.fromkeys(range(m.SHARDS["scn"]), 100)
    for n, ident in enumerate(ids):
        shard = int(m.shard_of("scn", ident))
        size[shard] += len(f"x:{ident}") + 4
        if n % 10 == 0:
            size[shard] += len(f"d:{ident}") + 2 + len(f"f:{ident}") + 2
    assert max(size.values()) < 400 * 1024, size


def test_retest_backlog_gate_reads_resolved_defects_waiting(history: Any) -> None:
    _, tickets, events = history
    svc = service(FakeStores())
    svc.reader.apply(events)
    waiting = sum(1 for t in tickets if t.status == "resolved")
    assert waiting > 0
    gates = [Gate("retestBacklog", "lte", waiting), Gate("retestBacklog", "lt", waiting)]
    out = svc.validate("P", gates=gates, saved=None, run_id=None, module=None, start=None, end=None)
    assert [(r["value"], r["passed"]) for r in out["results"]] == [
        (waiting, True),
        (waiting, False),
    ]
    assert "re-test" in out["recommendation"]
