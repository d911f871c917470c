"""A test lead's and a product owner's day on the local stack, over HTTP: a TestRail and an Xray
CSV imported (dry run first), exported and imported back unchanged; stories synced from the
Jira emulator; a release run reported; the release view story by story."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import Api, assert_error, wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "testcases"
BASE = "/v1/projects/DEMO/test-cases"


def _import(api: Api, text: str, dry: bool) -> requests.Response:
    return api.post(
        f"{BASE}/import" + ("?dryRun=true" if dry else ""),
        role="lead",
        data=text.encode(),
        headers={"Content-Type": "text/csv"},
    )


def test_testrail_and_xray_csvs_import_and_round_trip(api: Api) -> None:
    for name, count in (("testrail.csv", 3), ("xray.csv", 3)):
        text = (FIXTURES / name).read_text()
        dry = _import(api, text, True)
        assert dry.status_code == 200, dry.text
        assert dry.json()["valid"] and dry.json()["summary"]["testCases"] == count
        done = _import(api, text, False)
        assert done.status_code == 200, done.text
    c1 = api.get(f"{BASE}/C1001")
    assert c1.status_code == 200 and c1.headers["ETag"] == '"1"'
    assert len(c1.json()["steps"]) == 3

    bad = _import(api, "Test Case ID,Title,Priority\nTC-E2E-BAD,,urgent\n", False)
    error = assert_error(bad, 422, "validation_error")
    assert {d["field"] for d in error["details"]} == {"rows[2].Title", "rows[2].Priority"}

    exported = api.get(f"{BASE}/export?format=csv")
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    ids = {row[0] for row in csv.reader(io.StringIO(exported.text))}
    assert {"C1001", "C1002", "C1003", "1", "2", "3"} <= ids
    back = _import(api, exported.text, False).json()
    assert back["summary"]["created"] == 0 and back["summary"]["updated"] == 0, back["summary"]

    # an edit from a stale version loses: 412
    body = {k: c1.json()[k] for k in ("title", "module", "suite", "steps", "requirements")}
    first = api.request(
        "PUT",
        f"{BASE}/C1001",
        role="tester",
        json=body | {"title": "Pay by card (v2)"},
        headers={"If-Match": '"1"'},
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = api.request(
        "PUT", f"{BASE}/C1001", role="tester", json=body, headers={"If-Match": '"1"'}
    )
    assert_error(stale, 412, "precondition_failed")
    versions = api.get(f"{BASE}/C1001/versions").json()["items"]
    assert [v["title"] for v in versions] == ["Pay by card", "Pay by card (v2)"]


def test_a_release_story_by_story(api: Api, stack: dict[str, Any], uid: str) -> None:
    jira = str(stack["jira"]).rstrip("/")
    auth = (stack["jiraUser"]["email"], stack["jiraUser"]["token"])
    release = f"2.4.0-{uid}"
    keys = []
    for summary in ("Checkout with card", "Checkout with voucher"):
        created = requests.post(
            f"{jira}/rest/api/2/issue",
            json={
                "fields": {
                    "project": {"key": "KP"},
                    "issuetype": {"name": "Story"},
                    "summary": f"{summary} {uid}",
                    "fixVersions": [{"name": release}],
                    "customfield_10020": [f"Sprint {uid}"],
                }
            },
            auth=auth,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        keys.append(created.json()["key"])
    synced = api.post("/v1/projects/DEMO/requirements/sync", role="lead")
    assert synced.status_code == 200, synced.text
    tc = f"TC-REL-{uid}"
    made = api.post(
        BASE,
        role="tester",
        json={
            "testCaseId": tc,
            "title": "Card checkout",
            "module": "checkout",
            "requirements": [keys[0]],
        },
    )
    assert made.status_code == 201, made.text
    reported = api.post(
        "/v1/projects/DEMO/results",
        json={
            "run": {"id": f"rc-{uid}", "release": release, "sprint": f"Sprint {uid}"},
            "results": [
                {"scenarioId": f"checkout.rel-{uid}", "testCaseId": tc, "status": "passed"}
            ],
        },
    )
    assert reported.status_code == 200, reported.text

    # the result reaches the release through the change stream: a moment later
    def counted() -> requests.Response | None:
        got = api.get(f"/v1/projects/DEMO/releases/{release}")
        return got if got.json()["fullyTested"] else None

    started = time.monotonic()
    view = wait_for(counted, timeout=90)
    print(f"release view caught up in {time.monotonic() - started:.1f} s")
    assert [s["id"] for s in view.json()["fullyTested"]] == [keys[0]]
    assert [s["id"] for s in view.json()["untested"]] == [keys[1]]
    # the seeded project's saved "release" gate (pass rate >= 90, no critical defect) over the
    # release's own figures
    gate = view.json()["gate"]
    assert (gate["evaluated"], gate["gate"], gate["passed"]) == (True, "release", True), gate
    assert gate["figures"]["passRate"] == 100.0 and gate["figures"]["coverage"] == 50.0
    assert {r["source"] for r in gate["results"]} == {"release"} and gate["reasons"] == []
    sprint = api.get(f"/v1/projects/DEMO/sprints/Sprint%20{uid}").json()
    assert sprint["summary"]["fullyTested"] == 1
    coverage = api.get("/v1/projects/DEMO/coverage?limit=1000").json()
    assert any(r["id"] == keys[0] and r["coverage"] == "complete" for r in coverage["requirements"])


def test_a_large_csv_through_the_presigned_upload(api: Api, uid: str) -> None:
    """The file goes straight to S3; its notification reaches the upload handler through the
    reports queue (the pump here, Lambda in AWS); the import is read back by id."""
    lines = ["Test Case ID,Title,Module,Priority,Steps,Expected Result"]
    lines += [
        f'UP-{uid}-{n},Case {n},bulk,high,"1. Open\n2. Go","1. Shown\n2. Gone"' for n in range(1200)
    ]
    body = ("\n".join(lines) + "\n").encode()
    made = api.post(f"{BASE}/imports", role="lead", json={"format": "csv"})
    assert made.status_code == 201, made.text
    upload = made.json()
    stored = requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("cases.csv", body, "text/csv")},
        timeout=60,
    )
    assert stored.status_code in (200, 201, 204), stored.text

    def finished() -> dict[str, Any] | None:
        got = api.get(f"{BASE}/imports/{upload['importId']}").json()
        assert got["status"] not in ("failed", "invalid"), got
        return got if got["status"] == "completed" else None

    done = wait_for(finished, timeout=90)
    assert done["summary"]["created"] == 1200 and done["written"] == 1200, done
    assert len(api.get(f"{BASE}/UP-{uid}-1199").json()["steps"]) == 2
