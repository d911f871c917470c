"""Environments and the audit on the local stack, as people use them: an engineer books
staging-eu for Tuesday 10:00-14:00 and a second, overlapping booking is refused naming the
first (and of twenty overlapping bookings sent at once, one wins); every configuration change
keeps a snapshot, and a run records the snapshot it ran on; an admin reads who did what (API
keys, a lead's Slack click, Jira's webhook, the system), by actor and period, and gets it as the
`audit` export."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.e2e.conftest import Api, assert_error, wait_for

ENVS = "/v1/projects/{p}/environments"


def _next_tuesday() -> str:
    today = datetime.now(UTC).date()
    return str(today + timedelta(days=(1 - today.weekday()) % 7 or 7))


def _env(api: Api, env_id: str) -> str:
    base = ENVS.format(p=api.project)
    created = api.post(
        base,
        role="lead",
        json={"envId": env_id, "configuration": {"db": "postgres-15", "region": "eu-west-1"}},
    )
    assert created.status_code == 201, created.text
    return f"{base}/{env_id}"


def test_an_engineer_books_staging_eu_and_an_overlapping_booking_is_refused(
    api: Api, uid: str
) -> None:
    env = _env(api, f"staging-eu-{uid}")
    tuesday = _next_tuesday()
    first = api.post(
        env + "/reservations",
        role="tester",
        json={
            "from": f"{tuesday}T10:00:00Z",
            "to": f"{tuesday}T14:00:00Z",
            "purpose": "release 2.4 regression",
            "runId": f"run-{uid}",
        },
    )
    assert first.status_code == 201, first.text
    booked = first.json()
    assert booked["reservedBy"] == "tester@example.com" or booked["reservedBy"]

    second = api.post(
        env + "/reservations",
        role="ci",
        json={"from": f"{tuesday}T13:00:00Z", "to": f"{tuesday}T16:00:00Z"},
    )
    error = assert_error(second, 409, "conflict")
    assert booked["reservationId"] in error["message"]
    assert booked["reservationId"] in error["details"][0]["problem"]

    viewer = api.get(env + f"/reservations?from={tuesday}T00:00:00Z&to={tuesday}T23:59:59Z")
    assert [r["reservationId"] for r in viewer.json()["items"]] == [booked["reservationId"]]
    assert_error(api.post(env + "/reservations", role="viewer", json={}), 403, "forbidden")

    # Wednesday: twenty engineers ask for overlapping windows at the same instant, over HTTP
    wednesday = str(datetime.fromisoformat(tuesday).date() + timedelta(days=1))
    windows = [
        (f"{wednesday}T{9 + i % 4:02d}:00:00Z", f"{wednesday}T{13 + i % 3:02d}:00:00Z")
        for i in range(20)
    ]

    def book(window: tuple[str, str]) -> requests.Response:
        return api.post(
            env + "/reservations", role="tester", json={"from": window[0], "to": window[1]}
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(book, windows))
    [won] = [a.json() for a in answers if a.status_code == 201]
    lost = [assert_error(a, 409, "conflict") for a in answers if a.status_code != 201]
    assert len(lost) == 19 and all(won["reservationId"] in e["message"] for e in lost)


def test_every_configuration_change_keeps_a_snapshot(api: Api, uid: str) -> None:
    env = _env(api, f"perf-{uid}")
    for db in ("postgres-16", "postgres-17"):
        changed = api.request(
            "PUT", env, role="admin", json={"configuration": {"db": db, "region": "eu-west-1"}}
        )
        assert changed.status_code == 200, changed.text
    down = api.request("PUT", env, role="lead", json={"status": "maintenance"})
    assert down.json()["revision"] == 4 and down.json()["status"] == "maintenance"
    snapshots = api.get(env + "/snapshots").json()["items"]
    assert [s["revision"] for s in snapshots] == [4, 3, 2, 1]
    assert [s["configuration"]["db"] for s in snapshots] == [
        "postgres-17",
        "postgres-17",
        "postgres-16",
        "postgres-15",
    ]
    assert snapshots[0]["status"] == "maintenance"

    # a run on the environment records the snapshot it ran on; a later change leaves it be
    case = f"TC-PERF-{uid}"
    made = api.post(
        f"/v1/projects/{api.project}/test-cases",
        role="lead",
        json={"testCaseId": case, "title": "Load the catalog", "module": "checkout"},
    )
    assert made.status_code == 201, made.text
    started = api.post(
        f"/v1/projects/{api.project}/runs",
        role="lead",
        json={"id": f"perf-run-{uid}", "testCases": [case], "environment": f"perf-{uid}"},
    )
    assert started.status_code == 201, started.text
    ran_on = started.json()["environmentSnapshot"]
    assert (ran_on["revision"], ran_on["configuration"]["db"]) == (4, "postgres-17")
    later = api.request("PUT", env, role="admin", json={"configuration": {"db": "postgres-18"}})
    assert later.json()["revision"] == 5
    run = api.get(f"/v1/projects/{api.project}/runs/perf-run-{uid}").json()
    assert run["environmentSnapshot"] == ran_on


def test_an_admin_reads_who_did_what_by_actor_and_period_and_exports_it(
    api: Api, uid: str, stack: dict[str, Any], aws: Any
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=2)
    env = _env(api, f"audit-{uid}")
    changed = api.request("PUT", env, role="admin", json={"configuration": {"db": "mysql-8"}})
    assert changed.status_code == 200
    keys = api.get(f"/v1/projects/{api.project}/keys", role="admin").json()
    keys = keys.get("items", keys) if isinstance(keys, dict) else keys
    lead_key = next(k["keyId"] for k in keys if k["role"] == "lead")
    audit = f"/v1/projects/{api.project}/audit"
    since = started.isoformat(timespec="seconds").replace("+00:00", "Z")

    def lead_entries() -> list[dict[str, Any]]:
        got = api.get(f"{audit}?actor={lead_key}&from={since}", role="admin")
        assert got.status_code == 200, got.text
        return [e for e in got.json()["items"] if e["target"]["id"] == f"audit-{uid}"]

    [created] = wait_for(lead_entries, timeout=30)
    assert created["action"] == "environment.created"
    assert created["actor"]["role"] == "lead" and created["requestId"]
    assert created["changes"]["configuration"]["after"] == {
        "db": "postgres-15",
        "region": "eu-west-1",
    }

    def entries_of_both() -> list[dict[str, Any]]:
        # The stream's reader writes entries as changes arrive: the lead's creation may be
        # readable a moment before the admin's update.
        everyone = api.get(f"{audit}?from={since}", role="admin").json()["items"]
        mine = [e for e in everyone if e["target"]["id"] == f"audit-{uid}"]
        return mine if {e["actor"]["role"] for e in mine} == {"lead", "admin"} else []

    mine = wait_for(entries_of_both, timeout=30)
    updated = next(e for e in mine if e["action"] == "environment.updated")
    assert updated["changes"]["configuration"]["before"]["db"] == "postgres-15"
    old = api.get(f"{audit}?to=2001-01-01", role="admin").json()["items"]
    assert old == []
    assert_error(api.get(audit, role="lead"), 403, "forbidden")

    export = api.post(f"/v1/projects/{api.project}/exports", role="admin")
    assert export.status_code in (200, 201, 202), export.text
    s3 = aws("s3")
    day = datetime.now(UTC).date().isoformat()
    key = f"exports/audit/project={api.project}/dt={day}/audit.json"
    body = s3.get_object(Bucket=stack["bucket"], Key=key)["Body"].read().decode()
    rows = [json.loads(line) for line in body.splitlines()]
    assert any(r["action"] == "environment.updated" and f"audit-{uid}" in r["target"] for r in rows)
    manifest = f"exports/manifests/{api.project}/audit.json"
    assert key in s3.get_object(Bucket=stack["bucket"], Key=manifest)["Body"].read().decode()


def _audit_since(api: Api, since: str, actor: str | None = None) -> list[dict[str, Any]]:
    """Every entry from `since` on (following the cursor), optionally of one actor."""
    query = f"/v1/projects/{api.project}/audit?from={since}&limit=200"
    query += f"&actor={actor}" if actor else ""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        got = api.get(query + (f"&cursor={cursor}" if cursor else ""), role="admin")
        assert got.status_code == 200, got.text
        items += got.json()["items"]
        cursor = got.json()["next"]
        if not cursor:
            return items


def test_the_audit_holds_writes_through_slack_jira_webhooks_and_the_system(
    api: Api, uid: str, stack: dict[str, Any], aws: Any
) -> None:
    from tests.e2e.test_approvals import button_click, links_for, report_failure, slack_signed
    from tests.e2e.test_jira_loop import Jira, ticket_reaching

    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat(timespec="seconds")
    since = since.replace("+00:00", "Z")
    # CI reports a failure (its key); the lead approves with Slack's button; the system files
    # the Jira issue; a person resolves it in Jira, whose signed webhook brings it back
    ticket_id = report_failure(api, f"checkout.audited-{uid}", f"audited-{uid}")
    links_for(stack, aws, ticket_id)  # the draft's Slack message came
    click = button_click(ticket_id, stack["modules"]["checkout"]["slackUserId"])
    clicked = requests.post(
        f"{api.base}/v1/slack/interactions",
        data=click,
        headers=slack_signed(click, stack["slackSigningSecret"]),
        timeout=30,
    )
    assert clicked.status_code == 200 and clicked.json()["outcome"] == "approved", clicked.text
    key = str(ticket_reaching(api, ticket_id, "open", 30)["jira"]["key"])
    Jira(stack).transition_to(key, "Done")
    ticket_reaching(api, ticket_id, "resolved", 30)

    def moves() -> dict[str, dict[str, Any]]:
        """The ticket's audited moves by the status they led to, once the last is in."""
        mine = [e for e in _audit_since(api, since) if e["target"]["id"] == ticket_id]
        by_status = {
            str(e["changes"]["status"]["after"]): e for e in mine if "status" in e["changes"]
        }
        by_status.update(("created", e) for e in mine if e["action"] == "ticket.created")
        return by_status if {"created", "resolved"} <= set(by_status) else {}

    by_status = wait_for(moves, timeout=30)
    assert by_status["created"]["actor"]["role"] == "ci"
    assert by_status["created"]["actor"]["type"] == "key"
    assert by_status["approved"]["actor"] == {
        "type": "lead",
        "id": "lead@example.com",
        "role": "lead",
        "user": "lead@example.com",
        "via": "slack",
    }
    assert by_status["approved"]["changes"]["status"]["before"] == "draft"
    assert by_status["open"]["actor"] == {"type": "system", "id": "system"}
    resolved = by_status["resolved"]
    assert resolved["actor"] == {"type": "jira", "id": "jira"}
    assert resolved["changes"]["status"] == {"before": "open", "after": "resolved"}
    assert len({e["requestId"] for e in (by_status["created"], by_status["approved"])}) == 2

    # filtered by actor: Jira's entries are Jira's alone, the Slack lead's the lead's alone
    jira_only = _audit_since(api, since, actor="jira")
    assert resolved in jira_only
    assert {e["actor"]["type"] for e in jira_only} == {"jira"}
    leads = _audit_since(api, since, actor="lead@example.com")
    assert by_status["approved"] in leads and by_status["created"] not in leads
    assert {e["actor"]["id"] for e in _audit_since(api, since, actor="system")} == {"system"}

    # and the `audit` export carries every one of them
    assert api.post(f"/v1/projects/{api.project}/exports", role="admin").status_code < 300
    day = datetime.now(UTC).date().isoformat()
    key_ = f"exports/audit/project={api.project}/dt={day}/audit.json"
    body = aws("s3").get_object(Bucket=stack["bucket"], Key=key_)["Body"].read().decode()
    rows = [json.loads(line) for line in body.splitlines()]
    roles = {r["role"] for r in rows if r["target"] == f"ticket:{ticket_id}"}
    assert {"ci", "lead", "system", "jira"} <= roles, roles
