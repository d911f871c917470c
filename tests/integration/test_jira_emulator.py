"""Drive devstack.jira (the Jira emulator) with the real ``jira`` client (pycontribs)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from jira import JIRA, JIRAError

from devstack.jira import JiraEmulator

EMAIL = "bot@example.com"
TOKEN = "emulator-token"
SECRET = "It's a Secret to Everybody"
REPO = Path(__file__).resolve().parents[2]


class Receiver:
    """A tiny webhook receiver: records deliveries, answers with scripted status codes."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.deliveries.append({"headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/webhooks/jira"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} deliveries, got {len(self.deliveries)}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def emulator(receiver: Receiver) -> Iterator[JiraEmulator]:
    emu = JiraEmulator(
        email=EMAIL,
        api_token=TOKEN,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        projects=("KP", "OPS"),
    )
    emu.set_config(webhook_backoff=0.05)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def jira(emulator: JiraEmulator) -> JIRA:
    return JIRA(server=emulator.url, basic_auth=(EMAIL, TOKEN), max_retries=0, timeout=5)


def new_issue(jira: JIRA, summary: str = "Pay by card fails", **extra: Any) -> Any:
    fields = {"project": {"key": "KP"}, "issuetype": {"name": "Bug"}, "summary": summary}
    fields.update(extra)
    return jira.create_issue(fields=fields)


def response_of(err: JIRAError) -> requests.Response:
    assert err.response is not None
    return err.response


def calls(emulator: JiraEmulator) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in emulator.requests]


def test_constructor_reads_server_info_once(emulator: JiraEmulator, jira: JIRA) -> None:
    assert calls(emulator) == ["GET /rest/api/2/serverInfo"]
    assert jira._is_cloud
    assert jira.myself()["emailAddress"] == EMAIL


def test_wrong_credentials_raise_401(emulator: JiraEmulator) -> None:
    with pytest.raises(JIRAError) as err:
        JIRA(server=emulator.url, basic_auth=(EMAIL, "wrong"), max_retries=0, timeout=5)
    assert err.value.status_code == 401
    no_info = JIRA(
        server=emulator.url,
        basic_auth=("someone@else", TOKEN),
        get_server_info=False,
        max_retries=0,
        timeout=5,
    )
    with pytest.raises(JIRAError) as err:
        no_info.myself()
    assert err.value.status_code == 401
    assert requests.get(emulator.url + "/rest/api/2/serverInfo", timeout=5).status_code == 401


def test_create_get_and_comment(emulator: JiraEmulator, jira: JIRA) -> None:
    emulator.clear_requests()
    issue = new_issue(
        jira,
        labels=["failbridge", "fb-t1"],
        description="Order not confirmed",
        customfield_10100="TC-PAY-001",
        customfield_10101={"value": "Major"},
        priority={"name": "High"},
    )
    assert issue.key == "KP-1"
    # create_issue with prefetch: POST then GET by key (project/issuetype as dicts: no lookups)
    assert calls(emulator) == ["POST /rest/api/2/issue", "GET /rest/api/2/issue/KP-1"]
    assert emulator.requests[0]["json"]["fields"]["project"] == {"key": "KP"}

    got = jira.issue("KP-1")
    assert got.fields.summary == "Pay by card fails"
    assert got.fields.status.name == "To Do"
    assert got.fields.status.statusCategory.key == "new"
    assert got.fields.resolution is None
    assert got.fields.labels == ["failbridge", "fb-t1"]
    assert got.fields.customfield_10100 == "TC-PAY-001"
    assert got.fields.customfield_10101.value == "Major"
    assert got.fields.priority.name == "High"
    assert got.fields.issuelinks == [] and got.fields.attachment == []

    comment = jira.add_comment("KP-1", "Seen again in build 813")
    assert comment.body == "Seen again in build 813"
    assert [c.body for c in jira.comments("KP-1")] == ["Seen again in build 813"]
    assert jira.issue("KP-1").raw["fields"]["comment"]["total"] == 1

    second = new_issue(jira, summary="Another")
    assert second.key == "KP-2"


def test_create_validation_errors_have_jira_shape(emulator: JiraEmulator, jira: JIRA) -> None:
    with pytest.raises(JIRAError) as err:
        jira.create_issue(fields={"project": {"key": "KP"}, "issuetype": {"name": "Bug"}})
    assert err.value.status_code == 400
    body = response_of(err.value).json()
    assert body["errorMessages"] == [] and "summary" in body["errors"]

    with pytest.raises(JIRAError) as err:
        jira.create_issue(
            fields={
                "project": {"key": "NOPE"},
                "issuetype": {"name": "Nope"},
                "summary": "x",
                "labels": ["has space"],
                "customfield_99999": "x",
            }
        )
    errors = response_of(err.value).json()["errors"]
    assert set(errors) == {"project", "issuetype", "labels", "customfield_99999"}
    assert jira.search_issues("project = KP") == []


def test_issue_link_by_type_name(emulator: JiraEmulator, jira: JIRA) -> None:
    test_case = jira.create_issue(
        fields={"project": {"key": "KP"}, "issuetype": {"name": "Test"}, "summary": "TC"}
    )
    defect = new_issue(jira)
    emulator.clear_requests()
    resp = jira.create_issue_link("Tests", test_case.key, defect.key)
    assert resp.status_code == 201
    # the client re-reads the link types on every call (its cache check is broken)
    assert calls(emulator) == ["GET /rest/api/2/issueLinkType", "POST /rest/api/2/issueLink"]
    assert emulator.requests[1]["json"]["inwardIssue"] == {"key": test_case.key}

    on_defect = jira.issue(defect.key).fields.issuelinks
    assert len(on_defect) == 1
    assert on_defect[0].type.name == "Tests" and on_defect[0].type.inward == "is tested by"
    assert on_defect[0].inwardIssue.key == test_case.key  # defect "is tested by" test case
    on_test = jira.issue(test_case.key).fields.issuelinks
    assert on_test[0].outwardIssue.key == defect.key  # test case "tests" defect

    with pytest.raises(JIRAError) as err:
        jira.create_issue_link("No Such Type", test_case.key, defect.key)
    assert err.value.status_code == 404


def test_remote_link_global_id_upserts(emulator: JiraEmulator, jira: JIRA) -> None:
    issue = new_issue(jira)
    emulator.clear_requests()
    with pytest.warns(Warning, match="applicationlinks"):
        first = jira.add_remote_link(
            issue.key,
            {"url": "https://ci/812", "title": "CI 812"},
            globalId="failbridge:run:812",
            relationship="ci run",
        )
    with pytest.warns(Warning, match="applicationlinks"):
        second = jira.add_remote_link(
            issue.key,
            {"url": "https://ci/813", "title": "CI 813"},
            globalId="failbridge:run:812",
            relationship="ci run",
        )
    assert calls(emulator) == [
        "GET /rest/applinks/latest/listApplicationlinks",
        "POST /rest/api/2/issue/KP-1/remotelink",
        "GET /rest/applinks/latest/listApplicationlinks",
        "POST /rest/api/2/issue/KP-1/remotelink",
    ]
    assert [r["status"] for r in emulator.requests] == [404, 201, 404, 200]
    assert first.id == second.id
    links = jira.remote_links(issue.key)
    assert len(links) == 1
    assert links[0].object.url == "https://ci/813" and links[0].globalId == "failbridge:run:812"


def test_attachment_from_bytesio(emulator: JiraEmulator, jira: JIRA) -> None:
    issue = new_issue(jira)
    emulator.clear_requests()
    data = b"Traceback (most recent call last):\r\n  boom\x00\xff"
    att = jira.add_attachment(issue.key, io.BytesIO(data), filename="trace.log")
    assert att.size == len(data) and att.filename == "trace.log"
    rec = emulator.requests[0]
    assert calls(emulator) == ["POST /rest/api/2/issue/KP-1/attachments"]
    assert rec["contentType"].startswith("multipart/form-data")
    assert jira.issue(issue.key).fields.attachment[0].size == len(data)
    content = requests.get(att.content, auth=(EMAIL, TOKEN), timeout=5)
    assert content.content == data
    # without the XSRF header Jira refuses the upload
    plain = requests.post(
        f"{emulator.url}/rest/api/2/issue/{issue.key}/attachments",
        files={"file": ("x.txt", b"x")},
        auth=(EMAIL, TOKEN),
        timeout=5,
    )
    assert plain.status_code == 403


def test_search_by_label_uses_enhanced_search(emulator: JiraEmulator, jira: JIRA) -> None:
    new_issue(jira, labels=["fb-ticket-1"])
    new_issue(jira, summary="other", labels=["fb-ticket-2"])
    emulator.clear_requests()
    found = jira.search_issues('labels = "fb-ticket-1"')
    assert [i.key for i in found] == ["KP-1"]
    assert found[0].fields.summary == "Pay by card fails"
    assert calls(emulator) == ["GET /rest/api/2/field", "GET /rest/api/2/search/jql"]
    assert emulator.requests[1]["params"]["fields"] == ["*all"]
    assert [i.key for i in jira.search_issues("project = KP ORDER BY key ASC")] == ["KP-1", "KP-2"]
    assert [i.key for i in jira.search_issues("key = KP-2")] == ["KP-2"]
    with pytest.raises(JIRAError) as err:
        jira.search_issues("project = NOPE")
    assert err.value.status_code == 400
    with pytest.raises(JIRAError) as err:
        jira.search_issues('summary = "exact"')  # text fields only support ~
    assert err.value.status_code == 400


def test_search_jql_endpoints_and_paging(emulator: JiraEmulator, jira: JIRA) -> None:
    for n in range(3):
        new_issue(jira, summary=f"s{n}", labels=["batch"])
    auth = (EMAIL, TOKEN)
    v3 = requests.get(
        f"{emulator.url}/rest/api/3/search/jql",
        params={"jql": "labels = batch ORDER BY key ASC", "maxResults": "2"},
        auth=auth,
        timeout=5,
    ).json()
    assert [i["key"] for i in v3["issues"]] == ["KP-1", "KP-2"]
    assert "fields" not in v3["issues"][0]  # Cloud returns ids only unless fields are asked for
    assert v3["isLast"] is False
    page2 = requests.post(
        f"{emulator.url}/rest/api/3/search/jql",
        auth=auth,
        timeout=5,
        json={
            "jql": "labels = batch ORDER BY key ASC",
            "maxResults": 2,
            "fields": ["summary"],
            "nextPageToken": v3["nextPageToken"],
        },
    )
    assert [(i["key"], i["fields"]) for i in page2.json()["issues"]] == [
        ("KP-3", {"summary": "s2"})
    ]
    legacy = requests.get(
        f"{emulator.url}/rest/api/2/search",
        auth=auth,
        timeout=5,
        params={"jql": "project = KP AND status = 'To Do'"},
    ).json()
    assert legacy["total"] == 3 and legacy["issues"][0]["fields"]["status"]["name"] == "To Do"


def test_entity_properties_and_property_jql(emulator: JiraEmulator, jira: JIRA) -> None:
    issue = new_issue(jira)
    new_issue(jira, summary="other")
    resp = jira.add_issue_property(issue.key, "failbridge", {"ticketId": "T-1", "n": 2})
    assert resp.status_code == 201
    assert (
        jira.add_issue_property(issue.key, "failbridge", {"ticketId": "T-1", "n": 3}).status_code
        == 200
    )
    assert jira.issue_property(issue.key, "failbridge").value.n == 3
    found = jira.search_issues('issue.property[failbridge].ticketId = "T-1"')
    assert [i.key for i in found] == [issue.key]


def test_transition_to_done_sends_signed_webhook(
    emulator: JiraEmulator, jira: JIRA, receiver: Receiver
) -> None:
    issue = new_issue(jira, labels=["fb-t9"])
    emulator.clear_requests()
    started = time.monotonic()
    jira.transition_issue(issue.key, "Done", fields={"resolution": {"name": "Won't Fix"}})
    assert time.monotonic() - started < 1.0  # the REST call does not wait for the webhook
    assert calls(emulator) == [
        "GET /rest/api/2/issue/KP-1/transitions",
        "POST /rest/api/2/issue/KP-1/transitions",
    ]
    assert emulator.requests[1]["json"]["transition"] == {"id": "31"}

    delivery = receiver.wait_for(1)[0]
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    method, _, signature = headers["x-hub-signature"].partition("=")
    assert method == "sha256"
    expected = hmac.new(SECRET.encode(), delivery["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert headers["x-atlassian-webhook-identifier"]
    assert "x-atlassian-webhook-retry" not in headers

    payload = json.loads(delivery["body"])
    assert payload["webhookEvent"] == "jira:issue_updated"
    assert payload["issue_event_type_name"] == "issue_generic"
    assert isinstance(payload["timestamp"], int) and payload["timestamp"] > 1_600_000_000_000
    assert payload["user"]["accountId"]
    fields = payload["issue"]["fields"]
    assert payload["issue"]["key"] == issue.key
    assert fields["status"]["name"] == "Done"
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert fields["resolution"]["name"] == "Won't Fix"
    assert fields["labels"] == ["fb-t9"]
    items = {i["field"]: i for i in payload["changelog"]["items"]}
    assert items["status"]["fromString"] == "To Do" and items["status"]["toString"] == "Done"
    assert items["resolution"]["fromString"] is None
    assert items["resolution"]["toString"] == "Won't Fix"
    assert [i["field"] for i in payload["changelog"]["items"]] == ["resolution", "status"]

    got = jira.issue(issue.key)
    assert got.fields.status.statusCategory.key == "done"
    assert got.fields.resolution is not None
    assert got.fields.resolution.name == "Won't Fix" and got.fields.resolutiondate

    # reopening clears the resolution and says so in the changelog
    jira.transition_issue(issue.key, "Reopened")
    again = json.loads(receiver.wait_for(2)[1]["body"])
    items = {i["field"]: i for i in again["changelog"]["items"]}
    assert items["resolution"]["fromString"] == "Won't Fix" and items["resolution"]["to"] is None
    assert again["issue"]["fields"]["status"]["statusCategory"]["key"] == "new"
    assert jira.issue(issue.key).fields.resolution is None
    logged = emulator.webhooks
    assert [d["status"] for d in logged] == ["delivered", "delivered"]
    assert logged[0]["attempts"][0]["statusCode"] == 200


def test_webhook_retries_keep_identifier(
    emulator: JiraEmulator, jira: JIRA, receiver: Receiver
) -> None:
    issue = new_issue(jira)
    receiver.statuses = [503, 429]
    jira.transition_issue(issue.key, "In Progress")
    first, second, third = receiver.wait_for(3)
    ids = {d["headers"]["X-Atlassian-Webhook-Identifier"] for d in (first, second, third)}
    assert len(ids) == 1
    assert "X-Atlassian-Webhook-Retry" not in first["headers"]
    assert second["headers"]["X-Atlassian-Webhook-Retry"] == "1"
    assert third["headers"]["X-Atlassian-Webhook-Retry"] == "2"
    assert first["body"] == third["body"]
    assert emulator.wait_webhooks_idle(5)
    admin = requests.get(emulator.url + "/_emulator/webhooks", timeout=5).json()
    assert [a["statusCode"] for a in admin[0]["attempts"]] == [503, 429, 200]
    assert admin[0]["status"] == "delivered"


def test_webhook_not_retried_on_400_and_redeliverable(
    emulator: JiraEmulator, jira: JIRA, receiver: Receiver
) -> None:
    issue = new_issue(jira)
    receiver.statuses = [400]
    jira.transition_issue(issue.key, "Blocked")
    assert emulator.wait_webhooks_idle(5)
    [delivery] = emulator.webhooks
    assert delivery["status"] == "failed" and len(delivery["attempts"]) == 1
    resp = requests.post(
        f"{emulator.url}/_emulator/webhooks/{delivery['identifier']}/redeliver", timeout=5
    )
    assert resp.status_code == 202
    again = receiver.wait_for(2)[1]
    assert again["headers"]["X-Atlassian-Webhook-Identifier"] == delivery["identifier"]


def test_field_update_sends_issue_updated(
    emulator: JiraEmulator, jira: JIRA, receiver: Receiver
) -> None:
    issue = new_issue(jira, labels=["a"])
    emulator.clear_requests()
    issue.update(fields={"summary": "Renamed"}, labels=[{"add": "b"}])
    assert calls(emulator) == ["PUT /rest/api/2/issue/10001", "GET /rest/api/2/issue/10001"]
    assert issue.fields.summary == "Renamed" and issue.fields.labels == ["a", "b"]
    payload = json.loads(receiver.wait_for(1)[0]["body"])
    assert payload["issue_event_type_name"] == "issue_updated"
    fields_changed = {i["field"] for i in payload["changelog"]["items"]}
    assert fields_changed == {"summary", "labels"}


def test_429_fault_with_retry_after_raises(emulator: JiraEmulator, jira: JIRA) -> None:
    resp = requests.post(
        emulator.url + "/_emulator/faults",
        timeout=5,
        json={"mode": "429", "retryAfter": 1, "count": 1, "match": "POST /rest/api/2/issue"},
    )
    assert resp.status_code == 201
    started = time.monotonic()
    with pytest.raises(JIRAError) as err:
        new_issue(jira)
    assert time.monotonic() - started < 1.0  # max_retries=0: no sleeping, no retry
    assert err.value.status_code == 429
    assert response_of(err.value).headers["Retry-After"] == "1"
    assert jira.search_issues("project = KP") == []  # nothing was created
    assert new_issue(jira).key == "KP-1"  # fault used up
    assert [r["fault"] for r in emulator.requests if r["fault"]] == ["429"]


def test_503_fault_count_and_admin_requests(emulator: JiraEmulator, jira: JIRA) -> None:
    requests.post(emulator.url + "/_emulator/faults", json={"mode": "503", "count": 2}, timeout=5)
    for _ in range(2):
        with pytest.raises(JIRAError) as err:
            jira.myself()
        assert err.value.status_code == 503
    assert jira.myself()["accountId"]
    logged = requests.get(emulator.url + "/_emulator/requests", timeout=5).json()
    assert [r["status"] for r in logged][-3:] == [503, 503, 200]
    assert requests.delete(emulator.url + "/_emulator/requests", timeout=5).status_code == 204
    assert emulator.requests == []
    requests.post(emulator.url + "/_emulator/faults", json={"mode": "503", "count": -1}, timeout=5)
    requests.delete(emulator.url + "/_emulator/faults", timeout=5)
    assert jira.myself()["accountId"]


def test_create_then_timeout_creates_the_issue(emulator: JiraEmulator) -> None:
    impatient = JIRA(server=emulator.url, basic_auth=(EMAIL, TOKEN), max_retries=0, timeout=0.5)
    emulator.add_fault("create_then_timeout", seconds=2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        impatient.create_issue(
            fields={
                "project": {"key": "KP"},
                "issuetype": {"name": "Bug"},
                "summary": "lost answer",
                "labels": ["fb-lost"],
            }
        )
    found = impatient.search_issues('labels = "fb-lost"')
    assert [i.key for i in found] == ["KP-1"]


def test_slow_fault_and_config_over_http(emulator: JiraEmulator, jira: JIRA) -> None:
    requests.post(
        emulator.url + "/_emulator/faults",
        json={"mode": "slow", "seconds": 0.3, "match": "GET /rest/api/2/myself"},
        timeout=5,
    )
    started = time.monotonic()
    jira.myself()
    assert time.monotonic() - started >= 0.3
    config = requests.post(
        emulator.url + "/_emulator/config", timeout=5, json={"webhookUrl": None}
    ).json()
    assert config["webhookUrl"] is None
    issue = new_issue(jira)
    jira.transition_issue(issue.key, "Done")
    assert emulator.webhooks == []


def test_admin_transition_like_a_person(
    emulator: JiraEmulator, jira: JIRA, receiver: Receiver
) -> None:
    issue = new_issue(jira)
    resp = requests.post(
        f"{emulator.url}/_emulator/issues/{issue.key}/transition",
        timeout=5,
        json={"to": "Done", "resolution": "Duplicate"},
    )
    assert resp.status_code == 200
    assert resp.json()["fields"]["resolution"]["name"] == "Duplicate"
    payload = json.loads(receiver.wait_for(1)[0]["body"])
    assert payload["issue"]["fields"]["status"]["name"] == "Done"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_standalone_main_serves_until_sigterm() -> None:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.jira",
            "--port",
            str(port),
            "--email",
            EMAIL,
            "--token",
            TOKEN,
            "--project",
            "KP",
            "--project",
            "DEMO",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        banner = json.loads(proc.stdout.readline())
        assert banner["jira"] == f"http://127.0.0.1:{port}"
        client = JIRA(server=banner["jira"], basic_auth=(EMAIL, TOKEN), max_retries=0, timeout=5)
        created = client.create_issue(
            fields={"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}, "summary": "x"}
        )
        assert created.key == "DEMO-1"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
