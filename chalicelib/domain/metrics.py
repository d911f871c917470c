"""Metrics: how each change event adds to the aggregates, and how the aggregates become the
contract's figures. Every figure is defined here once (and explained in docs/metrics.md).

Aggregates live in buckets, each a bag of numeric counters and lists of values:

    ("day", scope, day)               counters of one UTC day
    ("scn", scope, day, scenarioId)   a scenario's executions and defects of one day
    ("req", scope, day, requirement)  a requirement's executions and defects of one day
    ("mon", scope, month)             a month's change of open defects (YYYY-MM), so the
                                      defect trend reads one item per month since the period
    ("gauge", scope)                  current levels: open defects, re-test backlog, test cases,
                                      requirements known

`scope` is `*` (the whole project) or a module name: every contribution goes to both, so a
module's figures and the project's are each one bounded read over the days of the period.

The reader keeps a little state of its own (`state` keys): per ticket, what it needs to
attribute later moves (when it was opened and approved, its module, severity, first resolution,
whether it was re-tested or reopened), and first-sight markers of runs, test cases and
requirements. `plan()` is pure: the event and that state in, the state to write and the bucket
deltas out. The store applies a plan atomically with the event's applied-marker, so an event
applied twice counts once."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.statuses import TicketStatus as S

ALL = "*"
BucketKey = tuple[str, ...]
StateKey = tuple[str, ...]

# Defect classes: a defect (a ticket a lead approved or linked) is open, resolved or closed.
OPEN_CLASS = frozenset(
    {S.APPROVED, S.JIRA_PENDING, S.JIRA_FAILED, S.OPEN, S.DEFERRED, S.BLOCKED, S.REOPENED}
)
RESOLVED_CLASS = frozenset({S.RESOLVED, S.VERIFIED})
CLOSED_CLASS = frozenset({S.CLOSED})
APPROVING_CAUSES = ("approve", "link")
DECIDING_CAUSES = ("approve", "link", "reject", "merge")
RETEST_CAUSES = ("retest_passed", "retest_failed")
UNSET = "unset"  # severity of a defect nobody rated


def defect_class(status: str | None) -> str | None:
    if status in OPEN_CLASS:
        return "open"
    if status in RESOLVED_CLASS:
        return "resolved"
    if status in CLOSED_CLASS:
        return "closed"
    return None


def parse_at(at: str) -> datetime:
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day_of(at: str) -> str:
    return parse_at(at).astimezone(UTC).date().isoformat()


def hours_between(start: str, end: str) -> float:
    return round((parse_at(end) - parse_at(start)).total_seconds() / 3600.0, 4)


def module_of(scenario_id: str, module: str | None) -> str:
    """The module named in the result, or the scenario id's first dotted segment (as ingest)."""
    return module or scenario_id.split(".", 1)[0]


@dataclass
class Plan:
    """What applying events writes: state items (key -> new value) and bucket deltas."""

    state: dict[StateKey, dict[str, Any]] = field(default_factory=dict)
    adds: dict[BucketKey, dict[str, float]] = field(default_factory=dict)
    appends: dict[BucketKey, dict[str, list[float]]] = field(default_factory=dict)

    def add(self, bucket: BucketKey, name: str, value: float = 1) -> None:
        counters = self.adds.setdefault(bucket, {})
        counters[name] = counters.get(name, 0) + value

    def append(self, bucket: BucketKey, name: str, value: float) -> None:
        self.appends.setdefault(bucket, {}).setdefault(name, []).append(value)

    def buckets(self) -> set[BucketKey]:
        return set(self.adds) | set(self.appends)

    def merge(self, other: Plan) -> None:
        self.state.update(other.state)
        for bucket, counters in other.adds.items():
            for name, value in counters.items():
                self.add(bucket, name, value)
        for bucket, lists in other.appends.items():
            for name, values in lists.items():
                for v in values:
                    self.append(bucket, name, v)


def ticket_key(ticket_id: str) -> StateKey:
    return ("ticket", ticket_id)


def seen_key(scope: str, kind: str, ident: str) -> StateKey:
    return ("seen", scope, kind, ident)


def _scopes(module: str | None) -> list[str]:
    return [ALL] if not module or module == ALL else [ALL, module]


def needs(event: ChangeEvent) -> list[StateKey]:
    """The state `plan()` reads for this event."""
    d = event.data
    if event.kind == ChangeKind.EXECUTION_RECORDED:
        module = module_of(str(d.get("scenarioId") or ""), d.get("module"))
        out: list[StateKey] = []
        for scope in _scopes(module):
            out.append(seen_key(scope, "run", str(d.get("runId"))))
            out.append(seen_key(scope, "tc", str(d.get("testCaseId"))))
            out.extend(seen_key(scope, "req", str(r)) for r in d.get("requirements") or [])
        return out
    if event.kind in (
        ChangeKind.TICKET_OPENED,
        ChangeKind.TICKET_MOVED,
        ChangeKind.TICKET_OCCURRENCES,
    ):
        return [ticket_key(str(d.get("ticketId") or event.subject))]
    return []


def plan(event: ChangeEvent, state: dict[StateKey, dict[str, Any] | None]) -> Plan:
    """What one event adds, given the reader's state (read fresh, or as left by the events
    before it in the same batch). Events the aggregates do not use give an empty plan."""
    if event.kind == ChangeKind.EXECUTION_RECORDED:
        return _execution(event, state)
    if event.kind == ChangeKind.TICKET_OPENED:
        return _opened(event, state)
    if event.kind == ChangeKind.TICKET_MOVED:
        return _moved(event, state)
    if event.kind == ChangeKind.TICKET_OCCURRENCES:
        return _occurrences(event, state)
    return Plan()


def _execution(event: ChangeEvent, state: dict[StateKey, dict[str, Any] | None]) -> Plan:
    d, p = event.data, Plan()
    day = day_of(event.at)
    scenario = str(d.get("scenarioId") or "")
    module = module_of(scenario, d.get("module"))
    status = str(d.get("status"))
    method = "manual" if d.get("method") == "manual" else "automated"
    for scope in _scopes(module):
        bucket = ("day", scope, day)
        p.add(bucket, "tests")
        p.add(bucket, "st:" + status)
        p.add(bucket, "x:mod:" + module)
        if d.get("durationMs") is not None:
            p.add(bucket, "durSum", float(d["durationMs"]))
            p.add(bucket, "durN")
        if d.get("flaky"):
            p.add(bucket, "flaky")
        run = seen_key(scope, "run", str(d.get("runId")))
        if state.get(run) is None:
            p.state[run] = {"day": day}
            p.add(bucket, "runs")
        case = seen_key(scope, "tc", str(d.get("testCaseId")))
        if state.get(case) is None:
            p.state[case] = {"day": day, "method": method}
            p.add(("gauge", scope), "tc:" + method)
        p.add(("scn", scope, day, scenario), "x")
        if d.get("flaky"):
            p.add(("scn", scope, day, scenario), "flaky")  # the dashboard's flaky top list
        for requirement in d.get("requirements") or []:
            seen = seen_key(scope, "req", str(requirement))
            if state.get(seen) is None:
                p.state[seen] = {"day": day}
                p.add(("gauge", scope), "req:total")
            req = ("req", scope, day, str(requirement))
            p.add(req, "x")
            if status != "skipped":
                p.add(req, "run")
    return p


def _new_ticket_state(event: ChangeEvent) -> dict[str, Any]:
    d = event.data
    opened_at = str(d.get("openedAt") or event.at)
    return {
        "openedAt": opened_at,
        "openedDay": day_of(opened_at),
        "module": module_of(str(d.get("scenarioId") or ""), d.get("module")),
        "scenarioId": d.get("scenarioId"),
        "requirements": list(d.get("requirements") or []),
        "severity": d.get("severity"),
        "status": d.get("to"),
        "n": 1,
        "occ": 0,
    }


def _opened(event: ChangeEvent, state: dict[StateKey, dict[str, Any] | None]) -> Plan:
    key, p = ticket_key(str(event.data.get("ticketId") or event.subject)), Plan()
    if state.get(key) is not None:
        return p  # seen already (a redelivery, or a move that came first)
    ticket = _new_ticket_state(event)
    ticket["occ"] = int(event.data.get("occurrences") or 1)
    p.state[key] = ticket
    for scope in _scopes(ticket["module"]):
        p.add(("day", scope, ticket["openedDay"]), "opened")
        p.add(("day", scope, ticket["openedDay"]), "occ", ticket["occ"])
    return p


def _move_number(event: ChangeEvent) -> int:
    try:
        return int(event.id.rsplit("#", 1)[1])
    except (IndexError, ValueError):
        return 0


def _moved(event: ChangeEvent, state: dict[StateKey, dict[str, Any] | None]) -> Plan:
    d, p = event.data, Plan()
    key = ticket_key(str(d.get("ticketId") or event.subject))
    before = state.get(key)
    n = _move_number(event)
    if before is not None and n and n <= int(before.get("n") or 0):
        return p  # applied already
    ticket = dict(before) if before is not None else _new_ticket_state(event)
    ticket["n"] = n or int(ticket.get("n") or 0) + 1
    if d.get("severity") and not ticket.get("approvedDay"):
        ticket["severity"] = d["severity"]  # a defect keeps the severity it was approved with
    source, to, cause = str(d.get("from")), str(d.get("to")), str(d.get("cause"))
    day = day_of(event.at)
    scopes = _scopes(ticket["module"])
    severity = str(ticket.get("severity") or UNSET)

    if cause in DECIDING_CAUSES and source == S.DRAFT:
        for scope in scopes:
            p.add(("day", scope, day), "decided")
            if cause == "reject":
                p.add(("day", scope, day), "rejected")
    if cause in APPROVING_CAUSES and to == S.APPROVED and not ticket.get("approvedDay"):
        ticket["approvedDay"] = day
        for scope in scopes:
            cohort = ("day", scope, day)
            p.append(cohort, "appr", hours_between(ticket["openedAt"], event.at))
            p.add(cohort, "def")
            p.add(cohort, "def:sev:" + severity)
            p.add(cohort, "def:mod:" + ticket["module"])
            p.add(("scn", scope, day, str(ticket.get("scenarioId") or "")), "d")
            for requirement in ticket.get("requirements") or []:
                p.add(("req", scope, day, str(requirement)), "d")
    if ticket.get("approvedDay"):
        old_class = ticket.get("cls")
        new_class = defect_class(to)
        if old_class != new_class:
            ticket["cls"] = new_class
            for scope in scopes:
                cohort = ("day", scope, ticket["approvedDay"])
                if old_class:
                    p.add(cohort, "def:" + old_class, -1)
                if new_class:
                    p.add(cohort, "def:" + new_class, 1)
                if "open" in (old_class, new_class):
                    step = 1 if new_class == "open" else -1
                    p.add(("gauge", scope), "open", step)
                    p.add(("gauge", scope), "open:sev:" + severity, step)
                    p.add(("day", scope, day), "openDelta", step)
                    p.add(("mon", scope, day[:7]), "openDelta", step)
    for scope in scopes:  # the re-test backlog: defects resolved and waiting for their re-test
        if to == S.RESOLVED and source != S.RESOLVED:
            p.add(("gauge", scope), "retestBacklog")
        if source == S.RESOLVED and to != S.RESOLVED:
            p.add(("gauge", scope), "retestBacklog", -1)
    if to == S.RESOLVED and not ticket.get("firstResolvedDay"):
        ticket["firstResolvedDay"] = day
        for scope in scopes:
            p.append(("day", scope, day), "ttr", hours_between(ticket["openedAt"], event.at))
            p.add(("day", scope, day), "resolvedFirst")
    if to == S.REOPENED and ticket.get("firstResolvedDay") and not ticket.get("reopened"):
        ticket["reopened"] = True
        for scope in scopes:
            p.add(("day", scope, ticket["firstResolvedDay"]), "reopenedAfterResolved")
    if source == S.RESOLVED and cause in RETEST_CAUSES and not ticket.get("retested"):
        ticket["retested"] = True
        for scope in scopes:
            p.add(("day", scope, day), "retests")
            if cause == "retest_passed":
                p.add(("day", scope, day), "retestsPassed")
    ticket["status"] = to
    p.state[key] = ticket
    return p


def _occurrences(event: ChangeEvent, state: dict[StateKey, dict[str, Any] | None]) -> Plan:
    p = Plan()
    key = ticket_key(str(event.data.get("ticketId") or event.subject))
    ticket = state.get(key)
    total = int(event.data.get("occurrences") or 0)
    if ticket is None or total <= int(ticket.get("occ") or 0):
        return p  # counted already (the count only grows; a redelivery adds nothing)
    added = total - int(ticket.get("occ") or 0)
    p.state[key] = {**ticket, "occ": total}
    for scope in _scopes(ticket["module"]):
        p.add(("day", scope, ticket["openedDay"]), "occ", added)
    return p


def plan_all(events: Sequence[ChangeEvent], state: dict[StateKey, dict[str, Any] | None]) -> Plan:
    """The events' plans in order, each seeing the state the ones before it left (the state
    dict is updated in place)."""
    total = Plan()
    for event in events:
        one = plan(event, state)
        state.update(one.state)
        total.merge(one)
    return total


# -- figures ------------------------------------------------------------------------------------


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
    tests = int(c.get("tests", 0))
    executed = c.get("st:passed", 0) + c.get("st:failed", 0) + c.get("st:blocked", 0)

    pass_trend = []
    for day in sorted(days):
        rate = _pass_rate(days[day])
        if rate is not None:
            pass_trend.append({"date": day, "value": rate})

    # open defects at the end of each day: today's level minus what changed after that day
    level = float(gauge.get("open", 0))
    deltas = {d: float(b.get("openDelta", 0)) for d, b in {**days, **later_days}.items()}
    defect_trend = []
    for day in reversed(period.days()):
        if day > today:
            continue
        later = sum(v for d, v in deltas.items() if d > day)
        defect_trend.append({"date": day, "value": int(level - later)})
    defect_trend.reverse()

    scn_x: dict[str, float] = {}
    scn_d: dict[str, float] = {}
    for _, scenario, b in scenarios:
        scn_x[scenario] = scn_x.get(scenario, 0) + float(b.get("x", 0))
        scn_d[scenario] = scn_d.get(scenario, 0) + float(b.get("d", 0))
    req_x: dict[str, float] = {}
    req_d: dict[str, float] = {}
    covered: set[str] = set()
    for _, requirement, b in requirements:
        req_x[requirement] = req_x.get(requirement, 0) + float(b.get("x", 0))
        req_d[requirement] = req_d.get(requirement, 0) + float(b.get("d", 0))
        if float(b.get("run", 0)) > 0:
            covered.add(requirement)
    mod_x = {k: float(v) for k, v in _prefixed(c, "x:mod:").items()}
    mod_d = {k: float(v) for k, v in _prefixed(c, "def:mod:").items()}

    req_total = int(gauge.get("req:total", 0))
    automated, manual = int(gauge.get("tc:automated", 0)), int(gauge.get("tc:manual", 0))
    ttr, appr = lists.get("ttr", []), lists.get("appr", [])
    return {
        "period": {"start": period.start, "end": period.end},
        "testExecution": {
            "totalRuns": int(c.get("runs", 0)),
            "totalTests": tests,
            "passed": int(c.get("st:passed", 0)),
            "failed": int(c.get("st:failed", 0)),
            "blocked": int(c.get("st:blocked", 0)),
            "skipped": int(c.get("st:skipped", 0)),
            "passRate": ratio(c.get("st:passed", 0), executed),
            "avgDurationMs": ratio(c.get("durSum", 0), c.get("durN", 0), 1),
        },
        "defects": {
            "total": int(c.get("def", 0)),
            "open": int(c.get("def:open", 0)),
            "resolved": int(c.get("def:resolved", 0)),
            "closed": int(c.get("def:closed", 0)),
            "bySeverity": _prefixed(c, "def:sev:"),
            "byModule": _prefixed(c, "def:mod:"),
        },
        "coverage": {
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
        },
        "trends": {"passRateTrend": pass_trend, "defectTrend": defect_trend},
        "defectDensity": {
            "byScenario": _density(scn_d, scn_x),
            "byModule": _density(mod_d, mod_x),
            "byRequirement": _density(req_d, req_x),
        },
        "timeToResolution": {
            "medianHours": _r(quantile(ttr, 0.5)),
            "p90Hours": _r(quantile(ttr, 0.9)),
        },
        "meanTimeToResolutionHours": _r(sum(ttr) / len(ttr)) if ttr else None,
        "retestSuccessRate": ratio(c.get("retestsPassed", 0), c.get("retests", 0)),
        "reopenRate": ratio(c.get("reopenedAfterResolved", 0), c.get("resolvedFirst", 0)),
        "approvalLatency": {
            "medianHours": _r(quantile(appr, 0.5)),
            "p90Hours": _r(quantile(appr, 0.9)),
        },
        "falsePositiveRate": ratio(c.get("rejected", 0), c.get("decided", 0)),
        "duplicateRatio": ratio(c.get("occ", 0), c.get("opened", 0), 1),
        "flakyRate": ratio(c.get("flaky", 0), tests),
        "openDefects": {
            "total": int(gauge.get("open", 0)),
            "bySeverity": _prefixed(gauge, "open:sev:"),
        },
        "retestBacklog": int(gauge.get("retestBacklog", 0)),
    }
