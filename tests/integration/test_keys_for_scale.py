"""Keys without hot partitions (docs/scale.md): the ticket list reads one gsi1 partition per
status and keeps its order and cursors; scenarios have their own partitions; `rekey` moves a
project's existing items."""

from __future__ import annotations

from typing import Any

from chalicelib import bootstrap
from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.rekey import Rekey
from chalicelib.adapters.dynamo.tickets import ticket_item
from chalicelib.domain.tickets import Ticket

STATUSES = ["open", "draft", "rejected", "draft", "open", "verified", "draft"]


def put_tickets(project: str) -> list[Ticket]:
    table = bootstrap.container().repos.table
    tickets = [
        Ticket(
            id=f"t{i}",
            project=project,
            status=status,
            scenario_id=f"s{i}",
            module="checkout" if i % 2 else "search",
            created_at=f"2026-01-01T00:00:0{i}Z",
        )
        for i, status in enumerate(STATUSES)
    ]
    for ticket in tickets:
        table.put(ticket_item(ticket))
    return tickets


def every_page(api: Any, demo: Any, query: str) -> list[list[str]]:
    pages, cursor = [], ""
    for _ in range(20):
        page = api.get(
            f"/v1/projects/DEMO/tickets?{query}{'&cursor=' + cursor if cursor else ''}",
            headers=demo.auth("viewer"),
        ).json_body
        pages.append([t["id"] for t in page["items"]])
        cursor = page["next"]
        if not cursor:
            return pages
    raise AssertionError("the cursor never ends")


def test_the_list_pages_status_by_status_in_the_old_order(api: Any, demo: Any) -> None:
    tickets = put_tickets("DEMO")
    expected = [t.id for t in sorted(tickets, key=lambda t: (t.status, t.created_at))]
    repo = bootstrap.container().repos.tickets
    got, cursor = [], None
    for _ in range(20):
        page, cursor = repo.page("DEMO", status=None, module=None, limit=2, cursor=cursor)
        assert len(page) <= 2
        got.extend(t.id for t in page)
        if not cursor:
            break
    assert got == expected
    whole = every_page(api, demo, "")
    assert [i for p in whole for i in p] == expected
    drafts = every_page(api, demo, "status=draft")
    assert [i for p in drafts for i in p] == ["t1", "t3", "t6"]
    checkout = every_page(api, demo, "module=checkout")
    assert [i for p in checkout for i in p] == [i for i in expected if int(i[1:]) % 2]
    other = bootstrap.container().repos.tickets.page(
        "OTHER", status=None, module=None, limit=5, cursor=None
    )
    assert other == ([], None)


def test_a_cursor_issued_before_rekey_still_pages(demo: Any) -> None:
    put_tickets("DEMO")
    repo = bootstrap.container().repos.tickets
    legacy = {  # a LastEvaluatedKey of the old index, as the old cursor encoded it
        "pk": {"S": "TICKET#t1"},
        "sk": {"S": "TICKET"},
        "gsi1pk": {"S": "PROJECT#DEMO#TICKETS"},
        "gsi1sk": {"S": "draft#2026-01-01T00:00:01Z#t1"},
    }
    page, _ = repo.page("DEMO", status=None, module=None, limit=3, cursor=legacy)
    assert [t.id for t in page] == ["t3", "t6", "t0"]


def legacy_items(project: str) -> None:
    """A project as the old keys stored it: a scenario in the project's partition, a ticket
    in the project's one gsi1 partition."""
    table = bootstrap.container().repos.table
    table.put(
        {
            "pk": f"PROJECT#{project}",
            "sk": "SCENARIO#checkout.pay",
            "project": project,
            "scenarioId": "checkout.pay",
            "module": "checkout",
            "liveTicketId": "old1",
            "liveTicketStatus": "draft",
            "testCases": {"tc1"},
            "latest#tc1": {"at": "2026-01-01T00:00:00Z", "result": "failed"},
        }
    )
    item = ticket_item(
        Ticket(
            id="old1",
            project=project,
            status="draft",
            scenario_id="checkout.pay",
            module="checkout",
            created_at="2026-01-01T00:00:00Z",
        )
    )
    item.update(gsi1pk=f"PROJECT#{project}#TICKETS", gsi1sk="draft#2026-01-01T00:00:00Z#old1")
    table.put(item)


def test_rekey_moves_scenarios_and_the_ticket_index_and_can_run_again(demo: Any) -> None:
    legacy_items("DEMO")
    repos = bootstrap.container().repos
    # a result recorded under the new keys before the migration ran: it is kept
    repos.table.update(
        keys.scenario("DEMO", "checkout.pay"), "SET lastResult = :r", values={":r": "passed"}
    )
    dry = Rekey(repos.table).run("DEMO", apply=False)
    assert (dry["scenarios"], dry["tickets"]) == (1, 1)
    assert repos.tickets.page("DEMO", status="draft", module=None, limit=5, cursor=None)[0] == []

    done = Rekey(repos.table).run("DEMO", apply=True)
    assert (done["scenarios"], done["tickets"]) == (1, 1)
    scenario = repos.scenarios.get("DEMO", "checkout.pay", consistent=True)
    assert scenario is not None
    assert (scenario.live_ticket_id, scenario.last_result) == ("old1", "passed")
    assert scenario.latest["tc1"]["result"] == "failed"
    assert repos.table.get({"pk": "PROJECT#DEMO", "sk": "SCENARIO#checkout.pay"}) is None
    [draft], _ = repos.tickets.page("DEMO", status="draft", module=None, limit=5, cursor=None)
    assert draft.id == "old1"
    again = Rekey(repos.table).run("DEMO", apply=True)
    assert (again["scenarios"], again["tickets"]) == (0, 0)
    assert repos.table.get(keys.project("DEMO")) is not None  # the project itself stays
