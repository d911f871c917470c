"""The audit log on moto: writes through the API carry their key and request id to the change
stream, which the audit reader turns into entries an admin reads by period and actor, and into
the `audit` export. Nothing in the API edits an entry."""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib import audit_context, bootstrap
from chalicelib.adapters.dynamo import keys
from tests.integration.conftest import Demo
from tests.integration.test_metrics import pump_stream

BASE = "/v1/projects/DEMO"


def _key_ids() -> dict[str, str]:
    return {k["role"]: k["keyId"] for k in bootstrap.container().access.list_keys("DEMO")}


def test_api_writes_are_audited_with_key_request_and_before_after(
    aws: dict[str, Any], api: Any, demo: Demo
) -> None:
    env = {"envId": "staging-eu", "configuration": {"db": "pg-15"}}
    assert (
        api.post(
            f"{BASE}/environments", headers=demo.auth("lead"), body=json.dumps(env)
        ).status_code
        == 201
    )
    change = json.dumps({"configuration": {"db": "pg-16"}})
    assert (
        api.put(
            f"{BASE}/environments/staging-eu", headers=demo.auth("admin"), body=change
        ).status_code
        == 200
    )
    booking = json.dumps({"from": "2026-12-08T10:00:00Z", "to": "2026-12-08T14:00:00Z"})
    booked = api.post(
        f"{BASE}/environments/staging-eu/reservations", headers=demo.auth("tester"), body=booking
    ).json_body
    assert (
        api.delete(
            f"{BASE}/environments/staging-eu/reservations/{booked['reservationId']}",
            headers=demo.auth("tester"),
        ).status_code
        == 204
    )
    bootstrap.container().access.put_module("DEMO", "billing", "b@example.com", None)  # system
    pump_stream(aws)

    read = api.get(f"{BASE}/audit", headers=demo.auth("admin"))
    assert read.status_code == 200, read.body
    entries = read.json_body["items"]
    ids = _key_ids()
    by_action = {e["action"]: e for e in entries}
    created = by_action["environment.created"]
    assert created["actor"]["user"] == "lead@example.com" and created["actor"]["role"] == "lead"
    assert created["actor"]["type"] == "key" and created["actor"]["id"].startswith("key_")
    assert created["requestId"]
    updated = by_action["environment.updated"]
    assert updated["actor"]["role"] == "admin"
    assert updated["changes"]["configuration"] == {
        "before": {"db": "pg-15"},
        "after": {"db": "pg-16"},
    }
    deleted = by_action["reservation.deleted"]
    assert deleted["actor"]["role"] == "tester"  # the delete is stamped with who deleted it
    assert deleted["target"] == {"type": "reservation", "id": booked["reservationId"]}
    assert by_action["module.created"]["actor"]["type"] == "system"
    assert all(e["action"].split(".")[0] not in ("execution", "audit") for e in entries)

    only_tester = api.get(f"{BASE}/audit?actor={ids['tester']}", headers=demo.auth("admin"))
    assert {e["action"] for e in only_tester.json_body["items"]} == {
        "reservation.created",
        "reservation.deleted",
    }
    none_before = api.get(f"{BASE}/audit?to=2000-01-01", headers=demo.auth("admin"))
    assert none_before.json_body["items"] == []


def test_audit_is_admin_only_and_never_editable(api: Any, demo: Demo) -> None:
    refused = api.get(f"{BASE}/audit", headers=demo.auth("lead"))
    assert refused.status_code == 403
    assert "admin" in refused.json_body["error"]["message"]
    for method in ("PUT", "POST", "DELETE", "PATCH"):
        response = getattr(api, method.lower())(
            f"{BASE}/audit", headers=demo.auth("admin"), body="{}"
        )
        assert response.status_code in (404, 405), method
    bad = api.get(f"{BASE}/audit?from=yesterday", headers=demo.auth("admin"))
    assert bad.status_code == 422
    assert bad.json_body["error"]["details"][0]["field"] == "from"


def test_retention_is_a_ttl_from_the_setting_and_the_export_writes_the_audit_dataset(
    aws: dict[str, Any], api: Any, demo: Demo, monkeypatch: Any
) -> None:
    monkeypatch.setenv("FAILBRIDGE_AUDIT_RETENTION_DAYS", "7")
    bootstrap.reset()
    with audit_context.serving("req-1", audit_context.key_actor("key_x", "admin", "a@x")):
        bootstrap.container().environments.create("DEMO", {"envId": "qa"}, "a@x")
    pump_stream(aws)
    table = bootstrap.container().repos.table
    [entry] = [
        e for e in table.query_all(keys.audit_log("DEMO")) if e["action"] == "environment.created"
    ]
    import time

    assert abs(entry["expiresAt"] - (time.time() + 7 * 86400)) < 120
    assert entry["requestId"] == "req-1"

    exported = api.post(f"{BASE}/exports", headers=demo.auth("admin"))
    assert exported.status_code in (200, 201, 202), exported.body
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=aws["bucket"], Prefix="exports/audit/project=DEMO/")
    [obj] = listed["Contents"]
    rows = [
        json.loads(line)
        for line in s3.get_object(Bucket=aws["bucket"], Key=obj["Key"])["Body"].read().splitlines()
    ]
    assert any(r["action"] == "environment.created" and r["request_id"] == "req-1" for r in rows)
    assert list(rows[0]) == [
        "at",
        "project",
        "actor",
        "role",
        "action",
        "target",
        "changes",
        "request_id",
    ]


def test_a_decision_through_an_approval_link_is_the_leads_and_the_report_the_ci_keys(
    aws: dict[str, Any], api: Any, demo: Demo, slack: Any
) -> None:
    from tests.integration.test_decisions import form, links, notify, path, report_failure

    ticket_id = report_failure(api, demo)
    notify(aws)
    [link] = links(slack)
    decided = api.post(path(link["approve"]), **form("approve", link=link["approve"]))
    assert decided.status_code == 200
    pump_stream(aws)
    entries = api.get(f"{BASE}/audit?limit=1000", headers=demo.auth("admin")).json_body["items"]
    ticket = [e for e in entries if e["target"] == {"type": "ticket", "id": ticket_id}]
    opened = next(e for e in ticket if e["action"] == "ticket.created")
    assert opened["actor"]["role"] == "ci" and opened["actor"]["type"] == "key"
    approved = next(
        e for e in ticket if (e["changes"].get("status") or {}).get("after") == "approved"
    )
    assert approved["actor"] == {
        "type": "lead",
        "id": "lead@example.com",
        "role": "lead",
        "user": "lead@example.com",
        "via": "approval link",
    }
    assert approved["requestId"] and approved["requestId"] != opened["requestId"]


def test_a_page_filtered_by_actor_is_filled_past_other_actors_entries(
    aws: dict[str, Any], api: Any, demo: Demo
) -> None:
    """A lead's three writes after forty of the system's: `?actor=` with limit 2 answers the
    lead's first two at once (not empty pages to follow), then the third; unfiltered pages
    of 7 hold every entry exactly once."""
    access = bootstrap.container().access
    for i in range(40):
        access.put_module("DEMO", f"m{i}", "b@example.com", None)  # the system's
    for i in range(3):
        body = json.dumps({"envId": f"env-{i}"})
        made = api.post(f"{BASE}/environments", headers=demo.auth("lead"), body=body)
        assert made.status_code == 201, made.body
    pump_stream(aws)

    def page(query: str) -> dict[str, Any]:
        got = api.get(f"{BASE}/audit?{query}", headers=demo.auth("admin"))
        assert got.status_code == 200, got.body
        return dict(got.json_body)

    first = page("actor=lead@example.com&limit=2")
    assert [e["target"]["id"] for e in first["items"]] == ["env-0", "env-1"]
    assert first["next"]
    second = page(f"actor=lead@example.com&limit=2&cursor={first['next']}")
    assert [e["target"]["id"] for e in second["items"]] == ["env-2"]
    assert second["next"] is None

    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        got = page("limit=7" + (f"&cursor={cursor}" if cursor else ""))
        assert len(got["items"]) <= 7
        seen += [(e["at"], e["target"]["id"]) for e in got["items"]]
        cursor = got["next"]
        if not cursor:
            break
    everything = page("limit=1000")["items"]
    assert seen == [(e["at"], e["target"]["id"]) for e in everything]
    assert len(seen) == len(set(seen)) >= 43
