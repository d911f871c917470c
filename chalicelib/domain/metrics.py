"""Metrics: how each change event adds to the aggregates, and how the aggregates become the
contract's figures (`domain.metric_figures`, re-exported here). Every figure is defined once
(and explained in docs/metrics.md).

Aggregates live in buckets, each a bag of numeric counters or lists of values. Every counter is
kept at three levels, a day, its ISO week (keyed by its Monday) and its month, so a period reads
the few blocks that tile it (`metric_figures.blocks`: whole months, whole weeks, days at the
edges) rather than every day:

    ("c", scope, level, key)          counters of one day / week / month
    ("l", scope, level, key)          value lists (resolution and approval hours) of the same
    ("scn", scope, level, key, shard) every scenario's counters of the same, as attributes
                                      `x:{scenario}` (executions), `d:` (defects), `f:` (flaky),
                                      spread over SHARDS["scn"] items by a hash of the id
    ("req", scope, level, key, shard) every requirement's: `x:`, `d:`, and the set `run` of the
                                      requirements run (not skipped) in the block
    ("trend", scope, month)           the month's day by day figures the trends need:
                                      `{status}:{dd}` executions, `o:{dd}` open-defect change
    ("gauge", scope)                  current levels: open defects, re-test backlog, test cases,
                                      requirements known

`level` is "day" (key YYYY-MM-DD), "week" (the Monday, YYYY-MM-DD) or "mon" (YYYY-MM). `scope`
is `*` (the whole project) or a module name: every contribution goes to both, so a module's
figures and the project's are each one bounded read.

The reader keeps a little state of its own (`state` keys): per ticket, what it needs to
attribute later moves (when it was opened and approved, its module, severity, first resolution,
whether it was re-tested or reopened), and first-sight markers of runs, test cases and
requirements. `plan()` is pure: the event and that state in, the state to write and the bucket
deltas out. The store applies a plan atomically with the event's applied-marker, so an event
applied twice counts once (counters are ADDed, lists added to: both commute)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.metric_figures import LEVELS as LEVELS
from chalicelib.domain.metric_figures import SHARDS as SHARDS
from chalicelib.domain.metric_figures import Period as Period
from chalicelib.domain.metric_figures import blocks as blocks
from chalicelib.domain.metric_figures import entity_counters as entity_counters
from chalicelib.domain.metric_figures import figures as figures
from chalicelib.domain.metric_figures import period_keys as period_keys
from chalicelib.domain.metric_figures import quantile as quantile
from chalicelib.domain.metric_figures import ratio as ratio
from chalicelib.domain.metric_plan import BucketKey as BucketKey
from chalicelib.domain.metric_plan import Plan as Plan
from chalicelib.domain.metric_plan import add_member as add_member
from chalicelib.domain.metric_plan import count as count
from chalicelib.domain.metric_plan import count_entity as count_entity
from chalicelib.domain.metric_plan import count_trend as count_trend
from chalicelib.domain.metric_plan import levels_of as levels_of
from chalicelib.domain.metric_plan import listed as listed
from chalicelib.domain.metric_plan import shard_of as shard_of
from chalicelib.domain.statuses import DefectClass, ResultStatus
from chalicelib.domain.statuses import TicketStatus as S

ALL = "*"
RUN_SET = "run"
TREND_STATUSES = (ResultStatus.PASSED, ResultStatus.FAILED, ResultStatus.BLOCKED)
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


def defect_class(status: str | None) -> DefectClass | None:
    if status in OPEN_CLASS:
        return DefectClass.OPEN
    if status in RESOLVED_CLASS:
        return DefectClass.RESOLVED
    if status in CLOSED_CLASS:
        return DefectClass.CLOSED
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
        count(p, scope, day, "tests")
        count(p, scope, day, "st:" + status)
        count(p, scope, day, "x:mod:" + module)
        if status in TREND_STATUSES:
            count_trend(p, scope, day, status)
        if d.get("durationMs") is not None:
            count(p, scope, day, "durSum", float(d["durationMs"]))
            count(p, scope, day, "durN")
        if d.get("flaky"):
            count(p, scope, day, "flaky")
        run = seen_key(scope, "run", str(d.get("runId")))
        if state.get(run) is None:
            p.state[run] = {"day": day}
            count(p, scope, day, "runs")
        case = seen_key(scope, "tc", str(d.get("testCaseId")))
        if state.get(case) is None:
            p.state[case] = {"day": day, "method": method}
            p.add(("gauge", scope), "tc:" + method)
        count_entity(p, "scn", scope, day, scenario, "x")
        if d.get("flaky"):
            count_entity(p, "scn", scope, day, scenario, "f")  # the dashboard's flaky top list
        for requirement in d.get("requirements") or []:
            seen = seen_key(scope, "req", str(requirement))
            if state.get(seen) is None:
                p.state[seen] = {"day": day}
                p.add(("gauge", scope), "req:total")
            count_entity(p, "req", scope, day, str(requirement), "x")
            if status != ResultStatus.SKIPPED:
                add_member(p, "req", scope, day, str(requirement), RUN_SET)
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
        count(p, scope, ticket["openedDay"], "opened")
        count(p, scope, ticket["openedDay"], "occ", ticket["occ"])
    return p


def _move_number(event: ChangeEvent) -> int:
    try:
        return int(event.id.rsplit("#", 1)[1])
    except (IndexError, ValueError):
        return 0


@dataclass(frozen=True)
class _Move:
    """A ticket's move as the metrics count it."""

    source: str
    to: str
    cause: str
    at: str
    day: str
    scopes: list[str]
    severity: str


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
    move = _Move(
        source=str(d.get("from")),
        to=str(d.get("to")),
        cause=str(d.get("cause")),
        at=event.at,
        day=day_of(event.at),
        scopes=_scopes(ticket["module"]),
        severity=str(ticket.get("severity") or UNSET),
    )
    for counting in (
        _count_decision,
        _count_approval,
        _count_defect_class,
        _count_retest_backlog,
        _count_resolution,
        _count_reopening,
        _count_retest,
    ):
        counting(p, ticket, move)
    ticket["status"] = move.to
    p.state[key] = ticket
    return p


def _count_decision(p: Plan, ticket: dict[str, Any], move: _Move) -> None:
    if move.cause in DECIDING_CAUSES and move.source == S.DRAFT:
        for scope in move.scopes:
            count(p, scope, move.day, "decided")
            if move.cause == "reject":
                count(p, scope, move.day, S.REJECTED.value)


def _count_approval(p: Plan, ticket: dict[str, Any], move: _Move) -> None:
    """A defect is born: counted on its approval day (its cohort), with the approval latency."""
    if move.cause not in APPROVING_CAUSES or move.to != S.APPROVED or ticket.get("approvedDay"):
        return
    ticket["approvedDay"] = day = move.day
    for scope in move.scopes:
        listed(p, scope, day, "appr", hours_between(ticket["openedAt"], move.at))
        count(p, scope, day, "def")
        count(p, scope, day, "def:sev:" + move.severity)
        count(p, scope, day, "def:mod:" + ticket["module"])
        count_entity(p, "scn", scope, day, str(ticket.get("scenarioId") or ""), "d")
        for requirement in ticket.get("requirements") or []:
            count_entity(p, "req", scope, day, str(requirement), "d")


def _count_defect_class(p: Plan, ticket: dict[str, Any], move: _Move) -> None:
    """A defect moving between open, resolved and closed: its cohort's classes, the open gauge."""
    if not ticket.get("approvedDay"):
        return
    old_class = ticket.get("cls")
    new_class = defect_class(move.to)
    if old_class == new_class:
        return
    ticket["cls"] = new_class.value if new_class else None
    for scope in move.scopes:
        cohort = ticket["approvedDay"]
        if old_class:
            count(p, scope, cohort, "def:" + old_class, -1)
        if new_class:
            count(p, scope, cohort, "def:" + new_class, 1)
        if DefectClass.OPEN in (old_class, new_class):
            step = 1 if new_class == DefectClass.OPEN else -1
            p.add(("gauge", scope), DefectClass.OPEN.value, step)
            p.add(("gauge", scope), "open:sev:" + move.severity, step)
            count_trend(p, scope, move.day, "o", step)


def _count_retest_backlog(p: Plan, ticket: dict[str, Any], move: _Move) -> None:
    """The re-test backlog: defects resolved and waiting for their re-test."""
    for scope in move.scopes:
        if move.to == S.RESOLVED and move.source != S.RESOLVED:
            p.add(("gauge", scope), "retestBacklog")
        if move.source == S.RESOLVED and move.to != S.RESOLVED:
            p.add(("gauge", scope), "retestBacklog", -1)


def _count_resolution(p: Plan, ticket: dict[str, Any], move: _Move) -> None:
    if move.to == S.RESOLVED and not ticket.get("firstResolvedDay"):
        ticket["firstResolvedDay"] = move.day
        for scope in move.scopes:
            listed(p, scope, move.day, "ttr", hours_between(ticket["openedAt"], move.at))
            count(p, scope, move.day, "resolvedFirst")


def _count_reopening(p: Plan, ticket: dict[str, Any], move: _Move) -> None:
    if move.to == S.REOPENED and ticket.get("firstResolvedDay") and not ticket.get("reopened"):
        ticket["reopened"] = True
        for scope in move.scopes:
            count(p, scope, ticket["firstResolvedDay"], "reopenedAfterResolved")


def _count_retest(p: Plan, ticket: dict[str, Any], move: _Move) -> None:
    if move.source == S.RESOLVED and move.cause in RETEST_CAUSES and not ticket.get("retested"):
        ticket["retested"] = True
        for scope in move.scopes:
            count(p, scope, move.day, "retests")
            if move.cause == "retest_passed":
                count(p, scope, move.day, "retestsPassed")


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
        count(p, scope, ticket["openedDay"], "occ", added)
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
