"""Environments on moto: snapshots per change, reservations that never overlap, also when many
clients book at once against moto's server (each client its own boto3 client and service)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import boto3

from chalicelib import bootstrap
from chalicelib.adapters.dynamo import Repositories
from chalicelib.adapters.dynamo.table import Cursors
from chalicelib.errors import Conflict
from chalicelib.services.environments import EnvironmentService
from tests.integration.conftest import Demo

BASE = "/v1/projects/DEMO/environments"


def _create(api: Any, demo: Demo, env_id: str = "staging-eu") -> dict[str, Any]:
    body = {"envId": env_id, "configuration": {"db": "pg-15", "region": "eu-west-1"}}
    response = api.post(BASE, headers=demo.auth("lead"), body=_json(body))
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def test_every_change_keeps_a_snapshot_and_a_run_can_record_the_current_one(
    api: Any, demo: Demo
) -> None:
    created = _create(api, demo)
    assert created["revision"] == 1 and created["status"] == "available"
    change = {"configuration": {"db": "pg-16", "region": "eu-west-1"}, "status": "degraded"}
    put = api.put(f"{BASE}/staging-eu", headers=demo.auth("admin"), body=_json(change))
    assert put.status_code == 200, put.body
    assert put.json_body["revision"] == 2
    same = api.put(f"{BASE}/staging-eu", headers=demo.auth("admin"), body=_json(change))
    assert same.json_body["revision"] == 2  # nothing changed: no revision
    snapshots = api.get(f"{BASE}/staging-eu/snapshots", headers=demo.auth("viewer")).json_body
    assert [s["revision"] for s in snapshots["items"]] == [2, 1]
    assert snapshots["items"][1]["configuration"]["db"] == "pg-15"
    current = bootstrap.container().environments.current_snapshot("DEMO", "staging-eu")
    assert current["revision"] == 2 and current["configuration"]["db"] == "pg-16"


def test_bad_input_names_the_field_and_changes_nothing(api: Any, demo: Demo) -> None:
    _create(api, demo)
    bad = api.put(
        f"{BASE}/staging-eu", headers=demo.auth("admin"), body=_json({"status": "on fire"})
    )
    assert bad.status_code == 422
    assert bad.json_body["error"]["details"][0]["field"] == "status"
    backwards = {"from": "2026-12-08T14:00:00Z", "to": "2026-12-08T10:00:00Z"}
    refused = api.post(
        f"{BASE}/staging-eu/reservations", headers=demo.auth("tester"), body=_json(backwards)
    )
    assert refused.status_code == 422
    assert refused.json_body["error"]["details"][0]["field"] == "to"
    assert api.get(f"{BASE}/staging-eu", headers=demo.auth("viewer")).json_body["revision"] == 1
    taken = api.post(BASE, headers=demo.auth("lead"), body=_json({"envId": "staging-eu"}))
    assert taken.status_code == 409


def test_an_overlapping_booking_gets_409_naming_the_first(api: Any, demo: Demo) -> None:
    _create(api, demo)
    url = f"{BASE}/staging-eu/reservations"
    first = api.post(
        url,
        headers=demo.auth("tester"),
        body=_json({"from": "2026-12-08T10:00:00Z", "to": "2026-12-08T14:00:00Z", "purpose": "r"}),
    )
    assert first.status_code == 201, first.body
    first_id = first.json_body["reservationId"]
    overlap = {"from": "2026-12-08T13:00:00+01:00", "to": "2026-12-08T15:00:00+01:00"}
    second = api.post(url, headers=demo.auth("ci"), body=_json(overlap))
    assert second.status_code == 409
    assert first_id in second.json_body["error"]["message"]
    after = {"from": "2026-12-08T14:00:00Z", "to": "2026-12-08T16:00:00Z"}  # touching is fine
    assert api.post(url, headers=demo.auth("ci"), body=_json(after)).status_code == 201
    listed = api.get(
        url + "?from=2026-12-08T00:00:00Z&to=2026-12-09T00:00:00Z", headers=demo.auth("viewer")
    ).json_body["items"]
    assert [r["from"] for r in listed] == ["2026-12-08T10:00:00Z", "2026-12-08T14:00:00Z"]
    cancelled = api.delete(f"{url}/{first_id}", headers=demo.auth("tester"))
    assert cancelled.status_code == 204
    assert api.post(url, headers=demo.auth("ci"), body=_json(overlap)).status_code == 201
    assert api.delete(f"{url}/{first_id}", headers=demo.auth("tester")).status_code == 404


def test_many_concurrent_overlapping_bookings_exactly_one_wins_per_slot(
    aws_server: dict[str, Any],
) -> None:
    """Four two-hour slots, twelve clients each asking for the same slot, all at once; each
    client its own boto3 client and service over moto's server: one winner per slot, and the
    losers' 409s name the winner."""
    table = aws_server["table"]
    access = bootstrap.container().access
    access.create_project("DEMO", None, False, default_lead="lead@example.com")
    bootstrap.container().environments.create("DEMO", {"envId": "staging-eu"}, "lead")
    slots = [
        (f"2026-12-08T{h:02d}:00:00Z", f"2026-12-08T{h + 2:02d}:00:00Z") for h in (8, 10, 12, 14)
    ]

    def book(i: int) -> tuple[int, str]:
        service = EnvironmentService(
            Repositories.over(boto3.client("dynamodb"), table).environments, Cursors()
        )
        start, end = slots[i % len(slots)]
        try:
            won = service.reserve("DEMO", "staging-eu", {"from": start, "to": end}, f"c{i}")
            return i, won["reservationId"]
        except Conflict as exc:
            return i, "lost: " + exc.message

    with ThreadPoolExecutor(max_workers=48) as pool:
        outcomes = dict(pool.map(book, range(48)))

    booked = bootstrap.container().environments.reservations(
        "DEMO", "staging-eu", "2026-12-08T00:00:00Z", "2026-12-09T00:00:00Z"
    )["items"]
    assert sorted((r["from"], r["to"]) for r in booked) == slots
    winners = {r["reservationId"] for r in booked}
    assert sorted(o for o in outcomes.values() if not o.startswith("lost")) == sorted(winners)
    for i, outcome in outcomes.items():
        if outcome.startswith("lost"):
            slot_winner = next(r for r in booked if (r["from"], r["to"]) == slots[i % 4])
            assert slot_winner["reservationId"] in outcome


def test_concurrent_bookings_of_staggered_overlapping_windows_never_overlap(
    aws_server: dict[str, Any],
) -> None:
    """Windows that overlap without being equal (two hours, starting every 30 minutes), five
    clients each, all at once over moto's server: the winners never overlap one another, every
    loser's 409 names a winner its window overlaps, and every winner is stored. (Its own
    project: moto's server keeps the other server tests' items in this process.)"""
    table = aws_server["table"]
    bootstrap.container().access.create_project(
        "STAGGER", None, False, default_lead="lead@example.com"
    )
    bootstrap.container().environments.create("STAGGER", {"envId": "staging-eu"}, "lead")
    windows = [
        (
            f"2026-12-08T{8 + m // 60:02d}:{m % 60:02d}:00Z",
            f"2026-12-08T{10 + m // 60:02d}:{m % 60:02d}:00Z",
        )
        for m in range(0, 240, 30)
    ]

    def book(i: int) -> tuple[int, str]:
        service = EnvironmentService(
            Repositories.over(boto3.client("dynamodb"), table).environments, Cursors()
        )
        start, end = windows[i % len(windows)]
        try:
            won = service.reserve("STAGGER", "staging-eu", {"from": start, "to": end}, f"c{i}")
            return i, won["reservationId"]
        except Conflict as exc:
            return i, "lost: " + exc.message

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = dict(pool.map(book, range(40)))

    booked = bootstrap.container().environments.reservations(
        "STAGGER", "staging-eu", "2026-12-08T00:00:00Z", "2026-12-09T00:00:00Z"
    )["items"]
    spans = sorted((r["from"], r["to"], r["reservationId"]) for r in booked)
    assert spans, outcomes
    for (_, end, _), (start, _, _) in pairwise(spans):
        assert end <= start, f"winners overlap: {spans}"
    won = [o for o in outcomes.values() if not o.startswith("lost")]
    assert sorted(won) == sorted(r[2] for r in spans)
    for i, outcome in outcomes.items():
        if outcome.startswith("lost"):
            start, end = windows[i % len(windows)]
            named = [r for r in spans if r[2] in outcome]
            assert named and all(r[0] < end and start < r[1] for r in named), (outcome, spans)


def test_ids_and_cursors_that_are_not_ours_are_4xx_not_500(api: Any, demo: Demo) -> None:
    _create(api, demo)
    long_id = "x" * 2000
    assert api.get(f"{BASE}/{long_id}", headers=demo.auth("viewer")).status_code == 404
    cancel = api.delete(f"{BASE}/staging-eu/reservations/{long_id}", headers=demo.auth("tester"))
    assert cancel.status_code == 404
    import base64

    # DynamoDB refuses a start key that is not the table's (ValidationException -> our 400);
    # moto accepts it and finds nothing: either way, not a 500
    forged = base64.urlsafe_b64encode(b'{"pk": {"S": "nope"}}').decode()
    for path in (BASE, f"{BASE}/staging-eu/snapshots", "/v1/projects/DEMO/audit"):
        response = api.get(f"{path}?cursor={forged}", headers=demo.auth("admin"))
        assert response.status_code in (200, 400), (path, response.body)
        garbled = api.get(f"{path}?cursor=not-a-cursor", headers=demo.auth("admin"))
        assert garbled.status_code == 400, (path, garbled.body)
        assert garbled.json_body["error"]["details"][0]["field"] == "cursor"
