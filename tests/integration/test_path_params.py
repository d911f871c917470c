"""Path parameters reach the app percent-decoded exactly once, as API Gateway hands them over
(encoded; see docs/decisions.md): spaces, unicode, an encoded slash and a literal percent sign in
scenario ids, test case ids and ticket ids."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.integration.conftest import Demo, report, result

# (scenario id, test case id): a space, unicode, %2F inside one segment, a literal %41 (which a
# second decoding would turn into "A")
ODD_IDS = [
    ("checkout.pay by card", "TC PAY 001"),
    ("checkout.zahlung-über-karte", "TC-ÄÖÜ-ß"),
    ("checkout.cards/visa", "TC/visa/1"),
    ("checkout.discount-100%41", "TC-%41-%2F"),
    ("checkout.literal-%25-percent", "TC-%25-%2525"),  # decoded twice: "%", "%25"
]


def encoded(value: str) -> str:
    return quote(value, safe="")


def test_scenario_test_case_and_ticket_ids_are_decoded_exactly_once(api: Any, demo: Demo) -> None:
    reported = api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report([result(scenarioId=s, testCaseId=t) for s, t in ODD_IDS], run_id="odd-ids"),
    )
    assert reported.status_code == 200, reported.json_body
    tickets = [r["ticket"]["id"] for r in reported.json_body["results"]]
    for (scenario_id, test_case_id), ticket_id in zip(ODD_IDS, tickets, strict=True):
        path = f"/v1/projects/DEMO/scenarios/{encoded(scenario_id)}"
        response = api.get(path, headers=demo.auth("viewer", None))
        assert response.status_code == 200, (scenario_id, response.json_body)
        scenario = response.json_body
        assert scenario["id"] == scenario_id
        assert test_case_id in str(scenario["testCases"]), scenario["testCases"]
        ticket = api.get(f"/v1/tickets/{encoded(ticket_id)}", headers=demo.auth("viewer", None))
        assert ticket.json_body["scenarioId"] == scenario_id
        assert ticket.json_body["testCaseId"] == test_case_id
        test_case = api.get(
            f"/v1/projects/DEMO/test-cases/{encoded(test_case_id)}",
            headers=demo.auth("viewer", None),
        )
        assert test_case.status_code == 200, (test_case_id, test_case.json_body)
        assert test_case.json_body["testCaseId"] == test_case_id


def test_unknown_ids_are_named_decoded_once_in_the_404(api: Any, demo: Demo) -> None:
    for ticket_id in ("ü", "tk 1/2", "tk%41", "tk%25", "tk%2525"):
        response = api.get(f"/v1/tickets/{encoded(ticket_id)}", headers=demo.auth("viewer", None))
        assert response.status_code == 404
        assert response.json_body["error"]["message"] == f"ticket {ticket_id} does not exist"
    response = api.get(
        "/v1/projects/DEMO/scenarios/checkout%20pay%20by%20card", headers=demo.auth("viewer", None)
    )
    assert response.status_code == 404
    assert response.json_body["error"]["message"] == "scenario checkout pay by card does not exist"
