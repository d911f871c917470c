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
