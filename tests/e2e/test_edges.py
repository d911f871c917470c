"""The edges of the API as a client meets them on the local stack: health, unknown routes and
methods, and path parameters with spaces, unicode, an encoded slash and a literal percent."""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import quote, urlsplit

from tests.e2e.conftest import Api, assert_error


def test_health_needs_no_key_and_says_only_ok_and_the_version(api: Api) -> None:
    response = api.get("/v1/health", role=None)
    assert response.status_code == 200
    assert set(response.json()) == {"status", "version"}
    assert response.json()["status"] == "ok"


def test_unknown_routes_are_404_and_unknown_methods_405_in_the_one_shape(api: Api) -> None:
    for role in (None, "viewer"):  # with a key, API Gateway's 403 message differs; ours not
        error = assert_error(api.get("/v1/nope", role=role), 404, "not_found")
        assert error["message"] == "no route for this method and path"
        assert_error(api.request("POST", "/nothing/here", role=role), 404, "not_found")
    assert_error(api.request("DELETE", "/v1/health", role=None), 405)
    assert_error(api.request("TRACE", "/v1/health", role=None), 405)
    assert_error(api.request("TRACE", "/v1/nope", role=None), 404, "not_found")


def test_an_unknown_method_on_a_known_path_is_405_in_the_one_shape_and_changes_nothing(
    api: Api, uid: str
) -> None:
    report = {
        "run": {"id": f"m-{uid}"},
        "results": [{"scenarioId": f"s.{uid}", "testCaseId": f"TC-{uid}", "status": "failed"}],
    }
    created = api.post(f"/v1/projects/{api.project}/results", json=report)
    assert created.status_code == 200, created.text
    ticket_id = created.json()["results"][0]["ticket"]["id"]
    deadline = time.monotonic() + 120  # the workflow's own move first (the pump, asynchronous)
    while "workflowState" not in (before := api.get(f"/v1/tickets/{ticket_id}").json()):
        assert time.monotonic() < deadline, before
        time.sleep(0.5)
    for method, path, role in (
        ("PUT", f"/v1/tickets/{ticket_id}", "lead"),  # GET and PATCH are its methods
        ("DELETE", f"/v1/tickets/{ticket_id}", "admin"),
        ("DELETE", f"/v1/projects/{api.project}/results", "ci"),  # POST only
        ("GET", f"/v1/projects/{api.project}/results", "viewer"),
        ("PATCH", f"/v1/projects/{api.project}/results", None),  # no key: still 405
        ("PUT", "/v1/health", None),
    ):
        response = api.request(method, path, role=role, json={"status": "closed"})
        error = assert_error(response, 405, "method_not_allowed")
        assert method in error["message"], error
    assert api.get(f"/v1/tickets/{ticket_id}").json() == before


def _raw_get(api: Api, raw_path: str, key: str) -> tuple[int, bytes]:
    """A GET with the path sent byte for byte (requests would re-quote some of it)."""
    url = urlsplit(api.base)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(
            f"GET {raw_path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {key}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_path_parameters_are_decoded_exactly_once(api: Api, uid: str) -> None:
    odd = [
        (f"checkout.pay by card {uid}", f"TC PAY {uid}"),
        (f"checkout.zahlung-über-{uid}", f"TC-ÄÖÜ-{uid}"),
        (f"checkout.cards/visa-{uid}", f"TC/visa/{uid}"),
        (f"checkout.discount-100%41-{uid}", f"TC-%41-%2F-{uid}"),
        (f"checkout.literal-%25-{uid}", f"TC-%25-%2525-{uid}"),  # twice decoded: "%", "%25"
    ]
    report = {
        "run": {"id": f"odd-{uid}"},
        "results": [
            {"scenarioId": s, "testCaseId": t, "status": "failed", "module": "checkout"}
            for s, t in odd
        ],
    }
    response = api.post(f"/v1/projects/{api.project}/results", json=report)
    assert response.status_code == 200, response.text
    tickets = [r["ticket"]["id"] for r in response.json()["results"]]
    for (scenario_id, test_case_id), ticket_id in zip(odd, tickets, strict=True):
        path = f"/v1/projects/{api.project}/scenarios/{quote(scenario_id, safe='')}"
        status, body = _raw_get(api, path, api.keys["viewer"])
        assert status == 200, (scenario_id, body)
        scenario: dict[str, Any] = json.loads(body)
        assert scenario["id"] == scenario_id
        assert test_case_id in str(scenario["testCases"])
        ticket = api.get(f"/v1/tickets/{quote(ticket_id, safe='')}").json()
        assert (ticket["scenarioId"], ticket["testCaseId"]) == (scenario_id, test_case_id)
        path = f"/v1/projects/{api.project}/test-cases/{quote(test_case_id, safe='')}"
        status, body = _raw_get(api, path, api.keys["viewer"])
        assert status == 200, (test_case_id, body)
        assert json.loads(body)["testCaseId"] == test_case_id
    error = assert_error(api.get("/v1/tickets/%C3%BC"), 404, "not_found")
    assert error["message"] == "ticket ü does not exist"
    error = assert_error(api.get("/v1/tickets/tk%2541"), 404, "not_found")
    assert error["message"] == "ticket tk%41 does not exist"
    status, body = _raw_get(api, "/v1/tickets/tk%2525", api.keys["viewer"])
    assert status == 404 and json.loads(body)["error"]["message"] == "ticket tk%25 does not exist"
