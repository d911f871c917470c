"""Test cases end to end on moto: CRUD with versions and If-Match, soft delete, registration on
first report with the version recorded on executions and drafts, import (TestRail, Xray, JSON,
dry run, all or nothing), export and its round trip, formula cells neutralised."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from tests.integration.conftest import Demo, report, result
from tests.integration.test_change_stream import drain_stream, poller

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "testcases"
BASE = "/v1/projects/DEMO/test-cases"


def case(**overrides: Any) -> dict[str, Any]:
    body = {
        "testCaseId": "TC-LOGIN-001",
        "title": "Verify login with valid credentials",
        "module": "Authentication",
        "suite": "Login",
        "priority": "High",
        "type": "functional",
        "method": "Manual",
        "status": "Active",
        "preconditions": ["User account exists", "Application is accessible"],
        "steps": [
            {"stepNumber": 1, "action": "Navigate to login page", "expectedResult": "Shown"},
            {"stepNumber": 2, "action": "Enter valid username", "expectedResult": "Accepted"},
        ],
        "postconditions": ["User is logged in"],
        "requirements": ["REQ-AUTH-001"],
    }
    body.update(overrides)
    return body


def test_create_edit_versions_and_lost_update(api: Any, demo: Demo) -> None:
    created = api.post(BASE, headers=demo.auth("tester"), body=json.dumps(case()))
    assert created.status_code == 201, created.body
    body = json.loads(created.body)
    assert body["version"] == 1 and body["priority"] == "high" and body["method"] == "manual"
    assert created.headers["ETag"] == '"1"'
    again = api.post(BASE, headers=demo.auth("tester"), body=json.dumps(case()))
    assert again.status_code == 409

    edit = case(title="Verify login with a valid password")
    headers = {**demo.auth("tester"), "If-Match": '"1"'}
    updated = api.put(f"{BASE}/TC-LOGIN-001", headers=headers, body=json.dumps(edit))
    assert updated.status_code == 200, updated.body
    assert json.loads(updated.body)["version"] == 2
    # a second edit from the same old version lost the race: 412, nothing written
    lost = api.put(f"{BASE}/TC-LOGIN-001", headers=headers, body=json.dumps(case(title="x")))
    assert lost.status_code == 412, lost.body
    assert json.loads(lost.body)["error"]["code"] == "precondition_failed"
    # the same content again is no new version
    same = api.put(
        f"{BASE}/TC-LOGIN-001",
        headers={**demo.auth("tester"), "If-Match": "2"},
        body=json.dumps(edit),
    )
    assert json.loads(same.body)["version"] == 2

    versions = json.loads(
        api.get(f"{BASE}/TC-LOGIN-001/versions", headers=demo.auth("viewer")).body
    )
    assert [v["version"] for v in versions["items"]] == [1, 2]
    assert versions["items"][0]["title"] == "Verify login with valid credentials"

    bad = api.put(
        f"{BASE}/TC-LOGIN-001",
        headers={**demo.auth("tester"), "If-Match": "soon"},
        body=json.dumps(edit),
    )
    assert bad.status_code == 400
    viewer = api.put(f"{BASE}/TC-LOGIN-001", headers=demo.auth("viewer"), body=json.dumps(edit))
    assert viewer.status_code == 403


def test_soft_delete_keeps_the_versions(api: Any, demo: Demo) -> None:
    api.post(BASE, headers=demo.auth("tester"), body=json.dumps(case()))
    deleted = api.delete(f"{BASE}/TC-LOGIN-001", headers=demo.auth("tester"))
    assert deleted.status_code == 200 and json.loads(deleted.body)["version"] == 2
    assert api.get(f"{BASE}/TC-LOGIN-001", headers=demo.auth("viewer")).status_code == 404
    listed = json.loads(api.get(BASE, headers=demo.auth("viewer")).body)
    assert listed["items"] == []
    versions = json.loads(
        api.get(f"{BASE}/TC-LOGIN-001/versions", headers=demo.auth("viewer")).body
    )
    assert [(v["version"], v["deleted"]) for v in versions["items"]] == [(1, False), (2, True)]
    # posting it again brings it back as its next version
    back = api.post(BASE, headers=demo.auth("tester"), body=json.dumps(case()))
    assert back.status_code == 201 and json.loads(back.body)["version"] == 3


def test_first_report_registers_and_executions_record_the_version(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    pump = poller(aws)

    from chalicelib import bootstrap

    out = api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report([result(), result(testCaseId="TC-PAY-002", status="passed")]),
    )
    assert out.status_code == 200, out.body
    drain_stream(pump)  # the last result reaches the test case through the change stream
    registered = json.loads(api.get(f"{BASE}/TC-PAY-001", headers=demo.auth("viewer")).body)
    assert registered["method"] == "automated" and registered["version"] == 1
    assert registered["requirements"] == ["REQ-PAY-1"] and registered["jiraTestKey"] == "KP-42"
    assert registered["lastExecution"]["status"] == "failed"

    edit = {k: registered[k] for k in ("title", "module", "requirements", "method")}
    api.put(f"{BASE}/TC-PAY-001", headers=demo.auth("tester"), body=json.dumps(edit))
    api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report([result()], run_id="build-813"),
    )
    execs = bootstrap.container().repos.executions
    first = execs.of_run("DEMO", "build-812")
    second = execs.of_run("DEMO", "build-813")
    assert {e.test_case_id: e.test_case_version for e in first} == {
        "TC-PAY-001": 1,
        "TC-PAY-002": 1,
    }
    assert [e.test_case_version for e in second] == [2]
    ticket_id = json.loads(out.body)["results"][0]["ticket"]["id"]
    ticket = json.loads(api.get(f"/v1/tickets/{ticket_id}", headers=demo.auth("viewer")).body)
    assert ticket["testCaseVersion"] == 1


def _import(api: Any, demo: Demo, body: str, ctype: str, dry: bool) -> Any:
    return api.post(
        f"{BASE}/import" + ("?dryRun=true" if dry else ""),
        headers=demo.auth("lead", ctype),
        body=body,
    )


def test_testrail_and_xray_csv_import(api: Any, demo: Demo) -> None:
    testrail = (FIXTURES / "testrail.csv").read_text()
    dry = _import(api, demo, testrail, "text/csv", True)
    assert dry.status_code == 200, dry.body
    plan = json.loads(dry.body)
    assert plan["valid"] and plan["summary"]["created"] == 3
    assert api.get(f"{BASE}/C1001", headers=demo.auth("viewer")).status_code == 404

    done = json.loads(_import(api, demo, testrail, "text/csv", False).body)
    assert done["imported"] == 3
    c1 = json.loads(api.get(f"{BASE}/C1001", headers=demo.auth("viewer")).body)
    assert c1["module"] == "Checkout" and c1["suite"] == "Payments"
    assert [s["expectedResult"] for s in c1["steps"]][2] == "The order is confirmed"
    assert c1["requirements"] == ["KP-STORY-1", "REQ-PAY-1"]
    c3 = json.loads(api.get(f"{BASE}/C1003", headers=demo.auth("viewer")).body)
    assert [s["action"] for s in c3["steps"]] == ["Enter SAVE10", "Remove the code"]
    # importing the same file again changes nothing
    again = json.loads(_import(api, demo, testrail, "text/csv", False).body)
    assert again["summary"]["unchanged"] == 3 and again["imported"] == 0

    xray = json.loads(
        _import(api, demo, (FIXTURES / "xray.csv").read_text(), "text/csv", False).body
    )
    assert xray["summary"]["created"] == 3 and xray["unknownColumns"] == ["Labels"]
    x1 = json.loads(api.get(f"{BASE}/1", headers=demo.auth("viewer")).body)
    assert len(x1["steps"]) == 3 and x1["steps"][1]["data"] == "shoes"
    x3 = json.loads(api.get(f"{BASE}/3", headers=demo.auth("viewer")).body)
    assert x3["method"] == "automated"


def test_a_bad_row_names_row_and_column_and_writes_nothing(api: Any, demo: Demo) -> None:
    text = (
        "Test Case ID,Title,Priority,Method\n"
        "TC-1,Fine,high,manual\n"
        "TC-2,,urgent,robot\n"
        "TC-1,Again,low,manual\n"
    )
    dry = json.loads(_import(api, demo, text, "text/csv", True).body)
    assert not dry["valid"]
    bad = {(e["row"], e["column"]) for r in dry["rows"] for e in r.get("errors", [])}
    assert bad == {(3, "Title"), (3, "Priority"), (3, "Method"), (4, "Test Case ID")}
    real = _import(api, demo, text, "text/csv", False)
    assert real.status_code == 422
    fields = {d["field"] for d in json.loads(real.body)["error"]["details"]}
    assert "rows[3].Priority" in fields
    assert api.get(f"{BASE}/TC-1", headers=demo.auth("viewer")).status_code == 404


def test_export_round_trip_and_formula_cells(api: Any, demo: Demo) -> None:
    api.post(BASE, headers=demo.auth("tester"), body=json.dumps(case()))
    api.post(
        BASE,
        headers=demo.auth("tester"),
        body=json.dumps(
            case(
                testCaseId="TC-EVIL",
                title='=HYPERLINK("http://evil")',
                steps=[{"stepNumber": 1, "action": "+1 then @cmd", "expectedResult": "-2"}],
                preconditions=["'=already quoted"],
            )
        ),
    )
    exported = api.get(f"{BASE}/export?format=csv", headers=demo.auth("viewer"))
    assert exported.status_code == 200
    text = exported.body.decode() if isinstance(exported.body, bytes) else exported.body
    rows = list(csv.reader(io.StringIO(text)))
    evil = next(r for r in rows if r[0] == "TC-EVIL")
    assert evil[1].startswith("'=") and evil[13] == "'+1 then @cmd" and evil[15] == "'-2"
    assert evil[8] == "''=already quoted"
    back = json.loads(_import(api, demo, text, "text/csv", False).body)
    assert back["summary"] == {
        "testCases": 2,
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "invalid": 0,
    }, back
    as_json = api.get(f"{BASE}/export?format=json", headers=demo.auth("viewer")).body
    again = json.loads(_import(api, demo, as_json, "application/json", False).body)
    assert again["summary"]["unchanged"] == 2, again


def test_a_limit_that_is_not_a_small_whole_number_is_a_422_naming_it(api: Any, demo: Demo) -> None:
    for bad in ("abc", "0", "1001", "-5"):
        response = api.get(f"{BASE}?limit={bad}", headers=demo.auth("viewer"))
        assert response.status_code == 422, (bad, response.body)
        assert json.loads(response.body)["error"]["details"][0]["field"] == "limit"
    assert api.get(f"{BASE}?limit=5", headers=demo.auth("viewer")).status_code == 200


def test_retried_create_edit_and_delete_count_once(api: Any, demo: Demo) -> None:
    """A module's counters move in the transaction that writes the test case: a client's retry
    of a create, an edit or a delete that landed (409, 412, 404) moves nothing again, and one
    that did not land (a transaction that failed) moved nothing."""
    from chalicelib.bootstrap import container

    r = container().repos

    def counted() -> dict[str, int]:
        return {c["name"]: c["testCases"] for c in r.test_cases.module_counts("DEMO")}

    tester = demo.auth("tester")
    body = json.dumps(case(testCaseId="TC-COUNT-1", module="Billing"))
    assert api.post(BASE, headers=tester, body=body).status_code == 201
    assert api.post(BASE, headers=tester, body=body).status_code == 409  # retried
    assert counted().get("Billing") == 1

    moved = json.dumps(case(testCaseId="TC-COUNT-1", module="Payments"))
    headers = {**tester, "If-Match": '"1"'}
    assert api.put(f"{BASE}/TC-COUNT-1", headers=headers, body=moved).status_code == 200
    assert api.put(f"{BASE}/TC-COUNT-1", headers=headers, body=moved).status_code == 412
    assert (counted().get("Billing"), counted().get("Payments")) == (0, 1)

    # an edit whose transaction fails (the head moved meanwhile) counts nothing
    stale = json.dumps(case(testCaseId="TC-COUNT-1", module="Billing"))
    assert api.put(f"{BASE}/TC-COUNT-1", headers=headers, body=stale).status_code == 412
    assert (counted().get("Billing"), counted().get("Payments")) == (0, 1)

    gone = {**tester, "If-Match": '"2"'}
    assert api.delete(f"{BASE}/TC-COUNT-1", headers=gone).status_code == 200
    assert api.delete(f"{BASE}/TC-COUNT-1", headers=gone).status_code == 404  # retried
    assert (counted().get("Billing"), counted().get("Payments")) == (0, 0)

    assert api.post(BASE, headers=tester, body=body).status_code == 201  # back, in Billing
    assert (counted().get("Billing"), counted().get("Payments")) == (1, 0)


def test_a_create_that_dies_after_its_write_has_counted_it(demo: Demo) -> None:
    """Killed after the test case's transaction (its coverage links fail to write): the retry
    is a 409 and the module counted the test case once, in that transaction."""
    import pytest

    from chalicelib.adapters.dynamo.table import Cursors
    from chalicelib.adapters.dynamo.testcases import RequirementRepository
    from chalicelib.bootstrap import container
    from chalicelib.errors import Conflict
    from chalicelib.models import TestCaseIn
    from chalicelib.services.testcases import TestCaseService

    r = container().repos

    class DiesLinking(RequirementRepository):
        def ensure(self, project: str, ids: Any, at: str) -> None:
            raise RuntimeError("the Lambda timed out")

    service = TestCaseService(r.test_cases, DiesLinking(r.table), Cursors())
    body = TestCaseIn.model_validate(case(testCaseId="TC-COUNT-2", module="Search"))
    with pytest.raises(RuntimeError):
        service.create("DEMO", body, "tester")
    with pytest.raises(Conflict):
        service.create("DEMO", body, "tester")
    assert [c["testCases"] for c in r.test_cases.module_counts("DEMO")] == [1]
