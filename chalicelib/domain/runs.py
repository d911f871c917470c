"""Planned runs and their progress. A run created through the API (from a plan or a list of test
cases) knows its test cases and who runs each; every result recorded into it, by hand or by CI,
moves its progress counters.

Progress lives in buckets: each test case belongs to one bucket (`bucket_of`), a bucket holds
its cases' latest results and its own counters, and one conditional UpdateItem per bucket moves
a case's result and the counters together (atomic, no transaction, exact under concurrency: the
condition is the case's result as read, so a lost race is read again, never counted twice).
The run's progress is the sum of its buckets: one Query, never a scan."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.record import Record
from chalicelib.domain.statuses import ResultStatus, RunStatus

BUCKET_CASES = 25  # test cases per bucket, on average: a bucket item stays a few KB
MAX_RUN_CASES = 10_000
COUNTED = tuple(s.value for s in ResultStatus)  # passed, failed, blocked, skipped
UNASSIGNED = "~"  # the byAssignee key of cases nobody was assigned
# The project item's set of its open planned runs' ids (added when a run is created, removed when
# it closes): a CI report of any other run id moves no planned run's progress, and reads nothing.
OPEN_RUNS = "openRuns"


@dataclass
class TestRun(Record):
    __test__ = False

    project: str
    run_id: str
    status: str = RunStatus.OPEN.value
    name: str | None = None
    plan_id: str | None = None
    plan_revision: int | None = None
    environment: str | None = None
    release: str | None = None
    sprint: str | None = None
    total: int = 0
    buckets: int = 1
    buckets_done: int = 0  # buckets whose every case has a result (the run closes at all)
    assignees: list[str] = field(default_factory=list)
    created_at: str | None = None
    created_by: str | None = None
    closed_at: str | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status == RunStatus.OPEN.value

    def view(self) -> dict[str, Any]:
        hidden = {"project", "buckets", "bucketsDone"}
        return {k: v for k, v in self.to_dict().items() if k not in hidden}


def bucket_count(total: int) -> int:
    return max(1, -(-total // BUCKET_CASES))


def bucket_of(test_case_id: str, buckets: int) -> int:
    """Which bucket holds a test case: stable (crc32), so any writer finds it without a read."""
    return zlib.crc32(test_case_id.encode()) % buckets


def assign(
    cases: Sequence[str],
    assignees: Sequence[str],
    explicit: dict[str, str],
) -> dict[str, str | None]:
    """Each case's assignee: the explicit one, else the assignees dealt in turn (in case order)."""
    out: dict[str, str | None] = {}
    turn = 0
    for tc in cases:
        if tc in explicit:
            out[tc] = explicit[tc]
        elif assignees:
            out[tc] = assignees[turn % len(assignees)]
            turn += 1
        else:
            out[tc] = None
    return out


def zero() -> dict[str, int]:
    return {"total": 0, **{s: 0 for s in COUNTED}}


@dataclass
class Bucket:
    """One bucket as stored: its cases (assignee, latest result) and its counters."""

    index: int
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=zero)
    by_assignee: dict[str, dict[str, int]] = field(default_factory=dict)

    def executed(self) -> int:
        return sum(self.counts[s] for s in COUNTED)


def new_buckets(assignment: dict[str, str | None], buckets: int) -> list[Bucket]:
    out = [Bucket(i) for i in range(buckets)]
    for tc, who in assignment.items():
        b = out[bucket_of(tc, buckets)]
        key = who or UNASSIGNED
        b.cases[tc] = {"assignee": who} if who else {}
        b.counts["total"] += 1
        b.by_assignee.setdefault(key, zero())["total"] += 1
    return out


@dataclass(frozen=True)
class Recorded:
    """A result as progress keeps it: a case's latest."""

    test_case_id: str
    status: str
    at: str
    attempt: int
    execution_id: str
    by: str | None = None

    def entry(self) -> dict[str, Any]:
        out = {
            "status": self.status,
            "at": self.at,
            "attempt": self.attempt,
            "executionId": self.execution_id,
            "by": self.by,
        }
        return {k: v for k, v in out.items() if v is not None}


def supersedes(new: Recorded, old: dict[str, Any]) -> bool:
    """A result replaces a case's stored one unless that one is later (time, then attempt)."""
    if "status" not in old:
        return True
    if old.get("executionId") == new.execution_id and old.get("status") == new.status:
        return False  # the same result again (a retried report): nothing moves
    return (new.at, new.attempt) >= (str(old.get("at", "")), int(old.get("attempt", 0)))


def latest_per_case(results: Iterable[Recorded]) -> list[Recorded]:
    """One result per case: the one that supersedes the others."""
    out: dict[str, Recorded] = {}
    for r in results:
        kept = out.get(r.test_case_id)
        if kept is None or supersedes(r, kept.entry()):
            out[r.test_case_id] = r
    return list(out.values())


def deltas(bucket: Bucket, changes: Sequence[Recorded]) -> tuple[dict[str, int], dict]:
    """Counter changes of a bucket when `changes` replace its cases' results: the run's
    (status -> delta) and per assignee (assignee -> status -> delta); zeros left out."""
    run: dict[str, int] = {}
    per: dict[str, dict[str, int]] = {}
    for r in changes:
        case = bucket.cases[r.test_case_id]
        who = case.get("assignee") or UNASSIGNED
        for status, d in ((case.get("status"), -1), (r.status, 1)):
            if status is None:
                continue
            run[status] = run.get(status, 0) + d
            per.setdefault(who, {})[status] = per.get(who, {}).get(status, 0) + d
    run = {k: v for k, v in run.items() if v}
    per = {w: {k: v for k, v in c.items() if v} for w, c in per.items()}
    return run, {w: c for w, c in per.items() if c}


def figures(counts: dict[str, int]) -> dict[str, Any]:
    """total, executed (cases with a result), each status, remaining, percent (executed/total)."""
    total = int(counts.get("total", 0))
    by_status = {s: int(counts.get(s, 0)) for s in COUNTED}
    executed = sum(by_status.values())
    percent = round(100.0 * executed / total, 1) if total else 0.0
    return {
        "total": total,
        "executed": executed,
        **by_status,
        "remaining": total - executed,
        "percent": percent,
    }


def progress(buckets: Iterable[Bucket]) -> dict[str, Any]:
    """The run's progress: the sum of its buckets, and the same per assignee."""
    run = zero()
    per: dict[str, dict[str, int]] = {}
    for b in buckets:
        for k in run:
            run[k] += int(b.counts.get(k, 0))
        for who, counts in b.by_assignee.items():
            mine = per.setdefault(who, zero())
            for k in mine:
                mine[k] += int(counts.get(k, 0))
    by_assignee = [
        {"assignee": None if who == UNASSIGNED else who, **figures(c)}
        for who, c in sorted(per.items())
    ]
    return {**figures(run), "byAssignee": by_assignee}
