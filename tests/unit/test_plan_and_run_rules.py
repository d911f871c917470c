"""Test plans' lifecycle and revisions, who may approve, and planned runs' progress arithmetic
(buckets, counter deltas, re-recorded results, figures by assignee)."""

from __future__ import annotations

import itertools
import random

import pytest

from chalicelib.domain.plans import (
    MOVES,
    IllegalPlanMove,
    PlanAction,
    TestPlan,
    approvers,
    new_plan,
)
from chalicelib.domain.runs import (
    Bucket,
    Recorded,
    assign,
    bucket_count,
    bucket_of,
    deltas,
    figures,
    latest_per_case,
    new_buckets,
    progress,
    supersedes,
)
from chalicelib.domain.statuses import PlanStatus as P

AT = "2026-12-01T10:00:00.000Z"


def plan() -> TestPlan:
    return new_plan(
        "DEMO",
        "PLAN-24",
        {"name": "Release 2.4", "scope": {"modules": ["checkout"]}},
        at=AT,
        by="lead@example.com",
    )


def test_the_happy_path_and_every_illegal_move() -> None:
    p = plan()
    for action, status in (
        (PlanAction.SUBMIT, P.IN_REVIEW),
        (PlanAction.APPROVE, P.APPROVED),
        (PlanAction.ACTIVATE, P.ACTIVE),
        (PlanAction.CLOSE, P.CLOSED),
    ):
        p = p.moved(action, at=AT, by="lead@example.com")
        assert p.status == status.value
    assert [h["status"] for h in p.history] == [
        "draft",
        "in_review",
        "approved",
        "active",
        "closed",
    ]
    assert p.approved_revision == 1 and p.approved_by == "lead@example.com"
    # every (status, action) pair not in the table is refused, naming the action
    for status, action in itertools.product(P, PlanAction):
        if (status, action) in MOVES:
            continue
        stuck = TestPlan.from_dict({**plan().to_dict(), "status": status.value})
        with pytest.raises(IllegalPlanMove) as refused:
            stuck.moved(action, at=AT, by="x")
        assert refused.value.status == 409 and refused.value.details[0]["field"] == "action"


def test_changes_requested_return_the_plan_to_draft() -> None:
    p = plan().moved(PlanAction.SUBMIT, at=AT, by="a")
    back = p.moved(PlanAction.REQUEST_CHANGES, at=AT, by="lead", reason="add risks")
    assert back.status == "draft" and back.history[-1]["reason"] == "add risks"


def test_a_draft_is_edited_in_place_an_approved_plan_as_its_next_revision() -> None:
    p = plan()
    same = p.edited({"name": "Release 2.4 (v2)"}, at=AT, by="a")
    assert (same.revision, same.status, same.name) == (1, "draft", "Release 2.4 (v2)")
    approved = p.moved(PlanAction.SUBMIT, at=AT, by="a").moved(PlanAction.APPROVE, at=AT, by="lead")
    for live in (approved, approved.moved(PlanAction.ACTIVATE, at=AT, by="lead")):
        nxt = live.edited({"name": "Release 2.4.1"}, at=AT, by="a")
        assert (nxt.revision, nxt.status, nxt.approved_revision) == (2, "draft", 1)
        assert nxt.runnable()  # revision 1 stays in force
        assert nxt.history[-1]["reason"] == "revision 2 started"
    in_review = p.moved(PlanAction.SUBMIT, at=AT, by="a")
    with pytest.raises(IllegalPlanMove):
        in_review.edited({"name": "x"}, at=AT, by="a")
    closed = approved.moved(PlanAction.CLOSE, at=AT, by="lead")
    with pytest.raises(IllegalPlanMove):
        closed.edited({"name": "x"}, at=AT, by="a")
    assert not closed.runnable() and not p.runnable()


def test_approvers_are_the_leads_of_the_plans_modules() -> None:
    leads: dict[str, str | None] = {"checkout": "lead@example.com", "search": None}
    assert approvers(["checkout"], leads, "default@example.com") == {"lead@example.com"}
    assert approvers(["checkout", "search"], leads, "default@example.com") == {
        "lead@example.com",
        "default@example.com",
    }
    assert approvers([], leads, "default@example.com") == {"default@example.com"}
    assert approvers([], leads, None) == set()


# -- progress ---------------------------------------------------------------------------------


def rec(tc: str, status: str, attempt: int = 1, at: str = AT) -> Recorded:
    return Recorded(tc, status, at, attempt, f"ex-{tc}-{attempt}", "t@example.com")


def apply(buckets: list[Bucket], results: list[Recorded]) -> None:
    """What the repository's conditional update does, in memory."""
    for r in latest_per_case(results):
        b = buckets[bucket_of(r.test_case_id, len(buckets))]
        if not supersedes(r, b.cases[r.test_case_id]):
            continue
        run, per = deltas(b, [r])
        for k, d in run.items():
            b.counts[k] += d
        for who, counts in per.items():
            for k, d in counts.items():
                b.by_assignee[who][k] += d
        b.cases[r.test_case_id] = {**b.cases[r.test_case_id], **r.entry()}


def test_assignment_deals_cases_in_turn_and_keeps_explicit_ones() -> None:
    cases = [f"TC-{i}" for i in range(7)]
    out = assign(cases, ["ann", "bob", "cid"], {"TC-3": "dan"})
    assert out == {
        "TC-0": "ann",
        "TC-1": "bob",
        "TC-2": "cid",
        "TC-3": "dan",
        "TC-4": "ann",
        "TC-5": "bob",
        "TC-6": "cid",
    }
    assert assign(["TC-0"], [], {}) == {"TC-0": None}


def test_progress_arithmetic_with_re_recorded_results() -> None:
    cases = [f"TC-{i:03d}" for i in range(60)]
    buckets = new_buckets(assign(cases, ["ann", "bob", "cid"], {}), bucket_count(len(cases)))
    assert len(buckets) == 3 and sum(b.counts["total"] for b in buckets) == 60
    start = progress(buckets)
    assert (start["total"], start["executed"], start["remaining"], start["percent"]) == (
        60,
        0,
        60,
        0.0,
    )
    apply(buckets, [rec("TC-000", "failed"), rec("TC-001", "blocked"), rec("TC-002", "passed")])
    apply(buckets, [rec("TC-000", "passed", attempt=2)])  # re-test: failed -> passed
    apply(buckets, [rec("TC-002", "passed")])  # the same result again: nothing moves
    p = progress(buckets)
    assert {k: p[k] for k in ("executed", "passed", "failed", "blocked", "remaining")} == {
        "executed": 3,
        "passed": 2,
        "failed": 0,
        "blocked": 1,
        "remaining": 57,
    }
    assert p["percent"] == 5.0
    ann = next(a for a in p["byAssignee"] if a["assignee"] == "ann")
    assert (ann["total"], ann["executed"], ann["passed"]) == (20, 1, 1)


def test_counters_equal_the_cases_whatever_the_order() -> None:
    """Any interleaving of results (attempts, times) leaves counters equal to a recount."""
    rng = random.Random(3)
    cases = [f"TC-{i:03d}" for i in range(40)]
    statuses = ["passed", "failed", "blocked", "skipped"]
    buckets = new_buckets(assign(cases, ["ann", "bob"], {}), bucket_count(len(cases)))
    stream = [
        rec(rng.choice(cases), rng.choice(statuses), rng.randint(1, 3), f"2026-12-01T10:0{s}")
        for s in range(10)
        for _ in range(30)
    ]
    rng.shuffle(stream)
    for r in stream:
        apply(buckets, [r])
    recount: dict[str, int] = {s: 0 for s in statuses}
    for b in buckets:
        for case in b.cases.values():
            if "status" in case:
                recount[case["status"]] += 1
    p = progress(buckets)
    assert {s: p[s] for s in statuses} == recount
    assert p["executed"] == sum(recount.values())
    assert sum(a["executed"] for a in p["byAssignee"]) == p["executed"]


def test_a_later_result_wins_an_earlier_one_arriving_late_does_not() -> None:
    stored = rec("TC-1", "failed", 1, "2026-12-01T10:05").entry()
    assert not supersedes(rec("TC-1", "passed", 1, "2026-12-01T10:01"), stored)
    assert supersedes(rec("TC-1", "passed", 2, "2026-12-01T10:05"), stored)
    assert supersedes(rec("TC-1", "passed", 1, "2026-12-01T10:06"), stored)
    assert supersedes(rec("TC-1", "passed"), {})


def test_figures_of_an_empty_run() -> None:
    assert figures({"total": 0})["percent"] == 0.0
