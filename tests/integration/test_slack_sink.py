"""Drive devstack.slack_sink with the real slack_sdk clients."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from devstack.slack_sink import SlackSink

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "slack.jsonl"


@pytest.fixture
def sink(outbox: Path) -> Iterator[SlackSink]:
    s = SlackSink(outbox_path=outbox).start()
    yield s
    s.stop()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_incoming_webhook_appends_to_outbox(sink: SlackSink, outbox: Path) -> None:
    assert outbox.exists() and outbox.read_text() == ""  # parent dirs created on start
    client = WebhookClient(sink.url + "/services/T000/B000/XXXX")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Approve* KP draft"}}]
    resp = client.send(text="New defect draft: Pay by card", blocks=blocks)
    assert resp.status_code == 200 and resp.body == "ok"
    assert lines(outbox) == [{"text": "New defect draft: Pay by card", "blocks": blocks}]
    assert sink.messages[0]["api"] == "webhook"
    assert sink.messages[0]["path"] == "/services/T000/B000/XXXX"
    client.send(text="second")
    assert [m["text"] for m in lines(outbox)] == ["New defect draft: Pay by card", "second"]


def test_web_api_chat_post_message(sink: SlackSink, outbox: Path) -> None:
    client = WebClient(token="xoxb-devstack", base_url=sink.url + "/api/")
    resp = client.chat_postMessage(channel="#qa-leads", text="Approve KP draft?")
    assert resp["ok"] is True
    assert resp["channel"] == "#qa-leads" and resp["ts"]
    assert lines(outbox) == [{"channel": "#qa-leads", "text": "Approve KP draft?"}]
    assert sink.messages[0]["api"] == "chat.postMessage"
    assert sink.messages[0]["ts"] == resp["ts"]
    assert client.auth_test()["ok"] is True


def test_web_api_errors_like_slack(sink: SlackSink, outbox: Path) -> None:
    anonymous = WebClient(base_url=sink.url + "/api/")
    with pytest.raises(SlackApiError) as err:
        anonymous.chat_postMessage(channel="#qa", text="x")
    assert err.value.response["error"] == "not_authed"
    client = WebClient(token="xoxb-devstack", base_url=sink.url + "/api/")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="", text="x")
    assert err.value.response["error"] == "channel_not_found"
    assert WebhookClient(sink.url).send_dict({"unfurl_links": False}).body == "no_text"
    assert outbox.read_text() == ""


def test_500_fault_makes_sends_fail(sink: SlackSink, outbox: Path) -> None:
    resp = requests.post(sink.url + "/_sink/faults", json={"mode": "500", "count": 2}, timeout=5)
    assert resp.status_code == 201
    webhook = WebhookClient(sink.url)
    failed = webhook.send(text="lost")
    assert failed.status_code == 500
    client = WebClient(token="xoxb-devstack", base_url=sink.url + "/api/")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="#qa", text="lost too")
    assert err.value.response.status_code == 500
    assert outbox.read_text() == ""
    assert webhook.send(text="back").status_code == 200  # fault used up
    requests.post(sink.url + "/_sink/faults", json={"mode": "500", "count": -1}, timeout=5)
    assert webhook.send(text="down").status_code == 500
    assert requests.delete(sink.url + "/_sink/faults", timeout=5).status_code == 204
    assert webhook.send(text="up").status_code == 200
    assert [m["text"] for m in lines(outbox)] == ["back", "up"]


def test_concurrent_posts_are_whole_lines(sink: SlackSink, outbox: Path) -> None:
    def post(n: int) -> None:
        WebhookClient(sink.url).send(text=f"msg {n} " + "x" * 2000)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = lines(outbox)
    assert sorted(int(m["text"].split()[1]) for m in got) == list(range(20))
    listed = requests.get(sink.url + "/_sink/messages", timeout=5).json()
    assert len(listed) == 20
    assert requests.delete(sink.url + "/_sink/messages", timeout=5).status_code == 204
    assert outbox.read_text() == "" and sink.messages == []


def test_standalone_main_serves_until_sigterm(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out" / "slack.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.slack_sink", "--port", str(port), "--outbox", str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    try:
        assert proc.stdout is not None
        banner = json.loads(proc.stdout.readline())
        assert banner["slack"] == f"http://127.0.0.1:{port}"
        assert WebhookClient(banner["slack"]).send(text="hello").status_code == 200
        assert lines(out) == [{"text": "hello"}]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
