"""Flaky test cases across runs and quarantines on the local stack: a test case that flips
between runs is marked flaky by the change stream's reader and its next failure opens no draft;
a quarantined scenario's failures open nothing until the quarantine ends by itself (or is
ended); the flaky list and the dashboard show them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.e2e.conftest import Api, assert_error, wait_for


def _report(api: Api, run: str, scenario: str, status: str, tc: str) -> dict[str, Any]:
    body = {
        "run": {"id": run},
        "results": [
            {"scenarioId": scenario, "testCaseId": tc, "status": status, "module": "checkout"}
        ],
    }
    response = api.post(f"/v1/projects/{api.project}/results", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["results"][0])


def _flaky(api: Api) -> dict[str, Any]:
    response = api.get(f"/v1/projects/{api.project}/flaky")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def test_a_test_flipping_across_runs_is_marked_flaky_and_its_next_failure_opens_no_draft(
    api: Api, uid: str
) -> None:
    settings = api.request(
        "PUT",
        f"/v1/projects/{api.project}/flaky/settings",
        role="admin",
        json={"window": 10, "minExecutions": 4},
    )
    assert settings.status_code == 200, settings.text
    assert settings.json()["settings"]["window"] == 10
    scenario, tc = f"checkout.flaky-{uid}", f"TC-FLAKY-{uid}"
    outcomes = [
        _report(api, f"flip-{uid}-{n}", scenario, status, tc)
        for n, status in enumerate(["passed", "failed", "passed", "failed"])
    ]
    assert outcomes[1]["ticket"]["status"] == "draft"  # not known to be flaky yet

    def listed() -> dict[str, Any] | None:
        return next((i for i in _flaky(api)["items"] if i["testCaseId"] == tc), None)

    item = wait_for(listed, timeout=30)
    assert item["scenarioId"] == scenario and item["flips"] == 3 and item["window"] == 10
    assert [r["status"] for r in item["lastRuns"]] == ["failed", "passed", "failed", "passed"]
    assert item["quarantine"] is None

    out = _report(api, f"flip-{uid}-4", scenario, "failed", tc)
    assert out["ticket"] is None and out["muted"] == "flaky" and out["flaky"] is True
    seen = api.get(f"/v1/projects/{api.project}/scenarios/{scenario}").json()
    assert seen["lastExecution"]["executionId"] == out["executionId"]  # recorded, visible
    assert seen["lastExecution"]["status"] == "failed"

    page = _dashboard(api)
    assert "Flaky test cases across runs" in page and tc in page


def _dashboard(api: Api) -> str:
    link = api.post(
        f"/v1/projects/{api.project}/page-links", role="viewer", json={"page": "dashboard"}
    )
    assert link.status_code in (200, 201), link.text
    url = urlsplit(link.json()["url"])
    # the link is traded for a (Secure) session cookie: sent by hand over the stack's http
    traded = requests.get(f"{api.base}{url.path}?{url.query}", allow_redirects=False, timeout=30)
    assert traded.status_code == 303, traded.text
    cookie = traded.headers["Set-Cookie"].split(";")[0]
    page = requests.get(f"{api.base}{url.path}", headers={"Cookie": cookie}, timeout=30)
    assert page.status_code == 200, page.text
    return page.text


def test_a_quarantined_scenario_opens_nothing_until_its_quarantine_ends_by_itself(
    api: Api, uid: str
) -> None:
    scenario, tc = f"checkout.quarantined-{uid}", f"TC-Q-{uid}"
    _report(api, f"q-{uid}-0", scenario, "passed", tc)
    path = f"/v1/projects/{api.project}/scenarios/{scenario}/quarantine"
    error = assert_error(
        api.request("PUT", path, role="lead", json={"until": "soon", "reason": "x"}), 422
    )
    assert error["details"][0]["field"] == "until"
    error = assert_error(api.request("PUT", path, role="lead", json={"until": _in(60)}), 422)
    assert error["details"][0]["field"] == "reason"
    assert_error(api.request("PUT", path, role="ci", json={"until": _in(60), "reason": "x"}), 403)

    until = _in(6)
    put = api.request("PUT", path, role="lead", json={"until": until, "reason": "sandbox down"})
    assert put.status_code == 200, put.text
    assert put.json()["reason"] == "sandbox down"
    out = _report(api, f"q-{uid}-1", scenario, "failed", tc)
    assert out["ticket"] is None and out["muted"] == "quarantined"
    quarantined = [q["scenarioId"] for q in _flaky(api)["quarantined"]]
    assert scenario in quarantined

    ends = datetime.fromisoformat(put.json()["until"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.5)
    assert scenario not in [q["scenarioId"] for q in _flaky(api)["quarantined"]]
    out = _report(api, f"q-{uid}-2", scenario, "failed", tc)
    assert out["ticket"] is not None and out["ticket"]["status"] == "draft"


def test_a_quarantine_ended_early(api: Api, uid: str) -> None:
    scenario, tc = f"checkout.unmuted-{uid}", f"TC-U-{uid}"
    _report(api, f"u-{uid}-0", scenario, "passed", tc)
    path = f"/v1/projects/{api.project}/scenarios/{scenario}/quarantine"
    put = api.request("PUT", path, role="admin", json={"until": _in(3600), "reason": "triage"})
    assert put.status_code == 200, put.text
    ended = api.request("DELETE", path, role="lead")
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert_error(api.request("DELETE", path, role="lead"), 404)
    out = _report(api, f"u-{uid}-1", scenario, "failed", tc)
    assert out["ticket"] is not None
