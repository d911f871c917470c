"""Reading and editing tickets (`services/tickets.py`) against the fakes."""

from __future__ import annotations

import pytest

from chalicelib.domain.roles import Role
from chalicelib.domain.tickets import HistoryEntry, Ticket
from chalicelib.errors import Conflict, NotFound
from chalicelib.models import TicketPatch
from chalicelib.services import tickets
from chalicelib.services.access import Principal
from chalicelib.services.tickets import TicketService
from tests.unit.fakes import FakeBlobs, FakeClock, FakeCursors, FakeStores

TESTER = Principal(project="P", role=Role.TESTER, key_id="k1", user="tess@x")


def world() -> tuple[FakeStores, TicketService]:
    s = FakeStores()
    service = TicketService(
        tickets.Stores(s.tickets, s.scenarios, s.executions, s.attachments, s.projects),
        FakeBlobs(),
        FakeCursors(),
        clock=FakeClock(),
    )
    return s, service


def seed(s: FakeStores, ticket_id: str, status: str, created: str) -> None:
    s.tickets.seed(
        Ticket(
            id=ticket_id,
            project="P",
            status=status,
            scenario_id=f"sc.{ticket_id}",
            module="sc",
            created_at=created,
            task_token="secret",
            history=[HistoryEntry(at=created, status="draft")],
        )
    )


def test_patch_edits_a_draft_and_records_who() -> None:
    s, service = world()
    seed(s, "tk_1", "draft", "2026-03-01T09:00:00.000Z")
    view = service.patch("tk_1", TicketPatch(notes="seen on staging", severity="major"), TESTER)
    assert (view["notes"], view["severity"]) == ("seen on staging", "major")
    assert view["history"][-1] == {
        "at": "2026-03-01T10:00:00.000Z",
        "status": "draft",
        "by": "tess@x",
        "reason": "edited notes, severity",
    }
    assert "taskToken" not in view


def test_patch_is_refused_once_the_draft_is_decided() -> None:
    s, service = world()
    seed(s, "tk_1", "approved", "2026-03-01T09:00:00.000Z")
    with pytest.raises(Conflict):
        service.patch("tk_1", TicketPatch(notes="late"), TESTER)
    assert s.tickets.get("tk_1").notes is None


def test_another_projects_ticket_is_not_found() -> None:
    s, service = world()
    seed(s, "tk_1", "draft", "2026-03-01T09:00:00.000Z")
    other = Principal(project="Q", role=Role.ADMIN, key_id="k2", user="q@x")
    with pytest.raises(NotFound):
        service.patch("tk_1", TicketPatch(notes="x"), other)


def test_list_pages_by_status() -> None:
    s, service = world()
    for n in range(3):
        seed(s, f"tk_{n}", "draft", f"2026-03-01T09:0{n}:00.000Z")
    seed(s, "tk_9", "open", "2026-03-01T08:00:00.000Z")
    first = service.list("P", status="draft", module=None, cursor=None, limit=2)
    assert [t["id"] for t in first["items"]] == ["tk_0", "tk_1"] and first["next"]
    rest = service.list("P", status="draft", module=None, cursor=first["next"], limit=2)
    assert [t["id"] for t in rest["items"]] == ["tk_2"] and rest["next"] is None
