"""What one write means as change events (`domain.changes.from_images`)."""

from __future__ import annotations

from chalicelib.domain.changes import from_images

TICKET = {"id": "tk_1", "project": "DEMO", "scenarioId": "s", "module": "m", "occurrences": 1}
MOVED = {"id": "tk_1#2", "kind": "ticket.moved", "project": "DEMO", "at": "t2", "subject": "tk_1"}


def test_a_ticket_move_is_the_event_stored_with_it_once() -> None:
    old = {**TICKET, "lastChange": {**MOVED, "id": "tk_1#1", "kind": "ticket.opened"}}
    new = {**TICKET, "lastChange": MOVED}
    [event] = from_images("ticket", old, new, "100")
    assert (event.id, event.kind) == ("tk_1#2", "ticket.moved")
    # the same change seen again (a write that did not move the ticket) is no new event
    assert from_images("ticket", new, {**new, "notes": "x"}, "101") == []


def test_occurrences_added_to_a_ticket_are_an_event_naming_how_many() -> None:
    new = {**TICKET, "occurrences": 4, "updatedAt": "t3"}
    [event] = from_images("ticket", TICKET, new, "102")
    assert event.kind == "ticket.occurrences" and event.data["added"] == 3


def test_an_execution_is_recorded_once_and_scenario_writes_are_named_by_the_write() -> None:
    execution = {"executionId": "ex_1", "project": "DEMO", "status": "failed", "at": "t"}
    [recorded] = from_images("execution", None, execution, "103")
    assert (recorded.id, recorded.data["status"]) == ("ex_1", "failed")
    assert from_images("execution", execution, {**execution, "flaky": True}, "104") == []
    scenario = {"project": "DEMO", "scenarioId": "s", "lastResult": "failed", "lastAt": "t"}
    first = from_images("scenario", None, scenario, "105")
    second = from_images("scenario", scenario, scenario, "106")
    assert first[0].id != second[0].id


def test_images_without_attributes_and_deletes_are_no_events() -> None:
    keys_only: dict[str, object] = {}
    assert from_images("scenario", None, keys_only, "107") == []
    assert from_images("ticket", TICKET, None, "108") == []
    assert from_images("other", None, {"project": "DEMO"}, "109") == []
