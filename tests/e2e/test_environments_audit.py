"""Environments and the audit on the local stack, as people use them: an engineer books
staging-eu for Tuesday 10:00-14:00 and a second, overlapping booking is refused naming the
first; every configuration change keeps a snapshot; an admin reads who did what, by actor and
period, and gets it as the `audit` export."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

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
