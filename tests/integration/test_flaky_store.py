"""Flaky detection's items in DynamoDB (moto in-process): the version check that keeps the
change stream's concurrent writers from losing an outcome, the sparse flaky index, quarantines
and their TTL."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.domain.conflicts import TransactionConflict


def test_histories_are_versioned_and_listed_only_while_flaky(aws: dict[str, Any]) -> None:
    store = bootstrap.container().repos.flaky
    history = {"history": [{"r": "run-1", "a": 1, "t": "2026-03-01T10:00:00.000Z", "s": "F"}]}
    store.save_history("P", "sc.a", "tc1", history, version=None, listed=False)
    with pytest.raises(TransactionConflict):
        store.save_history("P", "sc.a", "tc1", history, version=None, listed=False)
    store.save_history("P", "sc.a", "tc1", {**history, "flaky": True}, version=1, listed=True)
    with pytest.raises(TransactionConflict):  # a writer that read version 1 lost the race
        store.save_history("P", "sc.a", "tc1", history, version=1, listed=False)
    store.save_history("P", "sc.b", "tc9", history, version=None, listed=False)

    listed = store.listed("P")
    assert [(i["scenarioId"], i["testCaseId"], i["kind"]) for i in listed] == [
        ("sc.a", "tc1", "case")
    ]
    histories, quarantines = store.load("P", [("sc.a", "tc1"), ("sc.b", "tc9"), ("sc.c", "x")], [])
    assert histories[("sc.a", "tc1")]["version"] == 2 and histories[("sc.a", "tc1")]["flaky"]
    assert set(histories) == {("sc.a", "tc1"), ("sc.b", "tc9")} and quarantines == {}

    store.save_history("P", "sc.a", "tc1", history, version=2, listed=False)
    assert store.listed("P") == []


def test_quarantines_are_listed_loaded_and_deleted(aws: dict[str, Any]) -> None:
    store = bootstrap.container().repos.flaky
    quarantine = {"until": "2026-03-02T00:00:00.000Z", "reason": "sandbox", "by": "lead"}
    store.put_quarantine("P", "sc.q", quarantine, expires_at=1_772_496_000)
    [listed] = store.listed("P")
    assert listed["kind"] == "quarantine" and listed["reason"] == "sandbox"
    assert listed["expiresAt"] == 1_772_496_000  # the table's TTL removes it a day after
    _, quarantines = store.load("P", [("sc.q", "tc1")], ["sc.q", "sc.none"])
    assert quarantines["sc.q"]["until"] == quarantine["until"]
    assert store.delete_quarantine("P", "sc.q")["reason"] == "sandbox"  # type: ignore[index]
    assert store.delete_quarantine("P", "sc.q") is None
    assert store.listed("P") == []


def test_the_scenario_carries_its_flaky_marks_and_quarantine(aws: dict[str, Any]) -> None:
    scenarios = bootstrap.container().repos.scenarios
    assert not scenarios.set_quarantine_until("P", "sc.m", "2026-03-02T00:00:00.000Z")
    scenarios.mark_flaky("P", "sc.m", "tc1", True)  # no scenario: nothing is created
    assert scenarios.get("P", "sc.m") is None

    def touch() -> Any:
        return scenarios.touch(
            "P",
            "sc.m",
            module="m",
            title="t",
            latest={"tc1": {"status": "failed", "at": "2026-03-01T10:00:00.000Z"}},
            last_result="failed",
            last_execution={"testCaseId": "tc1"},
            at="2026-03-01T10:00:00.000Z",
        )

    touch()
    for _ in range(2):  # set operations: marking twice is marking once
        scenarios.mark_flaky("P", "sc.m", "tc1", True)
    scenarios.mark_flaky("P", "sc.m", "tc2", True)
    assert scenarios.set_quarantine_until("P", "sc.m", "2026-03-02T00:00:00.000Z")
    seen = touch()  # what the recording path gets back from its own update
    assert seen.muted_cases == ["tc1", "tc2"]
    assert seen.quarantine_until == "2026-03-02T00:00:00.000Z"
    scenarios.mark_flaky("P", "sc.m", "tc1", False)
    scenarios.mark_flaky("P", "sc.m", "tc2", False)
    assert scenarios.set_quarantine_until("P", "sc.m", None)
    after = scenarios.get("P", "sc.m", consistent=True)
    assert after is not None and after.muted_cases == [] and after.quarantine_until is None
