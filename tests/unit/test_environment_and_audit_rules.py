"""Environments' and the audit's pure rules: windows and overlaps, the booking loop's retry on a
race, audit entries from before/after images, and which writes carry the audit stamps."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import audit_context
from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import Cursors, load, stamped, stamped_update
from chalicelib.domain import audit
from chalicelib.domain import environments as e
from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.services.environments import EnvironmentService


def test_windows_are_half_open_and_bounded() -> None:
    ten_to_two = e.Window.of("2026-12-08T10:00:00Z", "2026-12-08T14:00:00Z")
    assert ten_to_two.overlaps(e.Window.of("2026-12-08T13:59:00Z", "2026-12-08T15:00:00Z"))
    assert not ten_to_two.overlaps(e.Window.of("2026-12-08T14:00:00Z", "2026-12-08T15:00:00Z"))
    same_in_paris = e.Window.of("2026-12-08T11:00:00+01:00", "2026-12-08T15:00:00+01:00")
    assert same_in_paris == ten_to_two
    with pytest.raises(ValidationFailed) as caught:
        e.Window.of("2026-12-08T10:00:00", "2026-12-08T14:00:00Z")  # no time zone
    assert caught.value.details[0]["field"] == "from"
    with pytest.raises(ValidationFailed):
        e.Window.of("2026-12-08T10:00:00Z", "2027-02-08T10:00:00Z")  # longer than 31 days
    with pytest.raises(ValidationFailed):
        e.Window.of("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z")


class RacyEnvironments:
    """An in-memory store whose first `races` bookings lose to someone else's booking."""

    def __init__(self, races: int, rival: dict[str, Any] | None = None) -> None:
        self.env = {"envId": "staging-eu", "revision": 1, "bookings": 0, "status": "available"}
        self.reservations: list[dict[str, Any]] = []
        self.races = races
        self.rival = rival

    def get(self, project: str, env_id: str) -> dict[str, Any] | None:
        return dict(self.env)

    def reservations_starting(self, project: str, env_id: str, low: str, high: str) -> list:
        return [r for r in self.reservations if low <= r["from"] <= high]

    def book(self, project: str, env_id: str, reservation: dict, expected: int) -> None:
        if self.races:
            self.races -= 1
            self.env["bookings"] += 1
            if self.rival:
                self.reservations.append(self.rival)
            raise e.EnvironmentChanged()
        assert expected == self.env["bookings"]
        self.env["bookings"] += 1
        self.reservations.append(reservation)


def _service(store: Any) -> EnvironmentService:
    return EnvironmentService(store, Cursors(), pause=lambda seconds: None)


def test_a_booking_that_raced_reads_again_and_sees_the_winner() -> None:
    rival = {
        "reservationId": "res_first",
        "from": "2026-12-08T09:00:00Z",
        "to": "2026-12-08T11:00:00Z",
    }
    store = RacyEnvironments(races=1, rival=rival)
    with pytest.raises(Conflict) as caught:
        _service(store).reserve(
            "P", "staging-eu", {"from": "2026-12-08T10:00:00Z", "to": "2026-12-08T14:00:00Z"}, "a"
        )
    assert "res_first" in caught.value.message
    assert store.reservations == [rival]


def test_a_booking_that_raced_a_booking_elsewhere_goes_through() -> None:
    store = RacyEnvironments(races=3)
    booked = _service(store).reserve(
        "P", "staging-eu", {"from": "2026-12-08T10:00:00Z", "to": "2026-12-08T14:00:00Z"}, "a"
    )
    assert store.reservations == [booked] and store.env["bookings"] == 4


def test_an_audit_event_says_what_changed_before_and_after() -> None:
    actor = audit_context.key_actor("key_1", "admin", "a@example.com")
    old = {"envId": "qa", "configuration": {"db": "pg-15"}, "revision": 1, "auditActor": actor}
    new = {**old, "configuration": {"db": "pg-16"}, "revision": 2, "auditRequestId": "r1"}
    event = audit.written_event(("environment", "qa"), "P", old, new, "42", "2026-12-08T10:00:00Z")
    assert event is not None
    assert event.data["action"] == "environment.updated"
    assert event.data["changes"] == {
        "configuration": {"before": {"db": "pg-15"}, "after": {"db": "pg-16"}},
        "revision": {"before": 1, "after": 2},
    }
    assert event.data["actor"] == actor and event.data["requestId"] == "r1"
    stamp_only = {**old, "auditActor": {"type": "system", "id": "system"}}
    assert audit.written_event(("environment", "qa"), "P", old, stamp_only, "43", "t") is None
    deleted = audit.written_event(("environment", "qa"), "P", old, None, "44", "t")
    assert deleted is not None and deleted.data["action"] == "environment.deleted"
    row = audit.export_row(audit.entry(event, 123))
    assert row["actor"] == "a@example.com" and row["role"] == "admin"
    assert row["target"] == "environment:qa"


def test_the_project_items_cache_bookkeeping_is_no_project_change() -> None:
    """A test case's new version, an environment's revision or a planned run moves the project
    item's generations and open runs: audited on their own items, not as a project update."""
    old = {"key": "P", "name": "Demo", "catalogGeneration": 3, "openRuns": {"r1"}}
    moved = {**old, "catalogGeneration": 4, "environmentsGeneration": 1, "openRuns": {"r1", "r2"}}
    assert audit.written_event(("project", "P"), "P", old, moved, "45", "t") is None
    renamed = {**moved, "name": "Shop"}
    event = audit.written_event(("project", "P"), "P", old, renamed, "46", "t")
    assert event is not None
    assert event.data["changes"] == {"name": {"before": "Demo", "after": "Shop"}}


def test_long_values_are_cut_short_in_the_audit() -> None:
    changes = audit.diff({"notes": "a"}, {"notes": "x" * 10_000})
    assert changes["notes"]["after"]["truncated"] is True


def test_audited_writes_carry_the_actor_and_request_derived_items_do_not() -> None:
    assert keys.audited(**keys.environment("P", "qa"))
    assert keys.audited(**keys.ticket("t1"))
    assert not keys.audited(**keys.metrics_generation("P"))
    assert not keys.audited(**keys.audit_entry("P", "2026", "w"))
    assert not keys.audited(**keys.scenario("P", "s"))
    with audit_context.serving("req-9", audit_context.JIRA):
        item = stamped({**keys.ticket("t1"), "status": "open"})
        plain = stamped({**keys.metrics_generation("P"), "generation": "g1"})
        update, names, values = stamped_update(keys.ticket("t1"), "ADD #n :one", {"#n": "n"}, None)
    assert item["auditActor"]["type"] == "jira" and item["auditRequestId"] == "req-9"
    assert "auditActor" not in plain
    assert update.startswith("ADD #n :one SET #audit0 = :audit0")
    assert names is not None and names["#audit0"] == "auditActor"
    assert values is not None and "req-9" in values.values()
    outside = stamped({**keys.ticket("t1")})
    assert outside["auditActor"] == {"type": "system", "id": "system"}


def test_an_update_with_a_set_clause_gets_the_stamps_in_it() -> None:
    update, _, _ = stamped_update(keys.ticket("t1"), "SET #s = :s REMOVE #x", {}, {":s": 1})
    assert update.startswith("SET #audit0 = :audit0, #audit1 = :audit1, #s = :s REMOVE #x")


def test_repositories_never_see_the_stamps() -> None:
    from chalicelib.adapters.dynamo.table import dump

    raw = dump({"status": "open", "auditActor": {"type": "system"}, "auditAt": "t"})
    assert load(raw) == {"status": "open"}
    assert "auditActor" in load(raw, stamps=True)


def test_a_cursor_dynamodb_refuses_is_the_clients_400() -> None:
    from botocore.exceptions import ClientError

    from chalicelib.adapters.dynamo.table import cursor_checked
    from chalicelib.errors import MalformedRequest

    def refuse() -> None:
        raise ClientError({"Error": {"Code": "ValidationException"}}, "Query")

    with pytest.raises(MalformedRequest):
        cursor_checked({"pk": {"S": "x"}}, refuse)
    with pytest.raises(ClientError):
        cursor_checked(None, refuse)  # without a cursor it is our own fault: a 500


def test_the_environment_service_is_what_runs_use_for_snapshots() -> None:
    from chalicelib.domain.ports.environments import EnvironmentSnapshots

    store = RacyEnvironments(races=0)
    snapshots: EnvironmentSnapshots = _service(store)
    snapshot = snapshots.current_snapshot("P", "staging-eu")
    assert snapshot["revision"] == 1 and snapshot["envId"] == "staging-eu"
