"""Webhooks as Jira Cloud sends them: one JSON POST per issue event to ``webhookUrl``, signed
with ``webhookSecret`` (``X-Hub-Signature: sha256=<hex HMAC of the body>``), retried with
exponential backoff on connection errors, 408/409/425/429 and 5xx, from one worker thread."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from devstack.jira.fields import selected_fields
from devstack.jira.formats import jtime, now
from devstack.jira.render import render_issue, user_json
from devstack.jira.state import JiraState

LOG = logging.getLogger("devstack.jira.webhooks")

Delivery = dict[str, Any]


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _retryable(code: int | None) -> bool:
    return code is None or code in (408, 409, 425, 429) or code >= 500


class Webhooks:
    """Queues a delivery for each issue event of ``state`` and sends them in the background."""

    def __init__(self, state: JiraState) -> None:
        self.state = state
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        state.listener = self.emit

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._work, name="jira-emulator-webhooks", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery has finished (delivered or given up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    # ---------------------------------------------------------------- the log

    def snapshot(self) -> list[Delivery]:
        with self.state.lock:
            return [json.loads(json.dumps(d)) for d in self.deliveries]

    def clear(self) -> None:
        with self.state.lock:
            self.deliveries.clear()

    def redeliver(self, identifier: str) -> Delivery | None:
        with self.state.lock:
            delivery = next((d for d in self.deliveries if d["identifier"] == identifier), None)
        if delivery is not None:
            self._queue.put(delivery)
        return delivery

    # ---------------------------------------------------------------- sending

    def emit(
        self,
        issue: dict[str, Any],
        event: str,
        type_name: str,
        history: dict[str, Any] | None,
        base: str,
    ) -> None:
        """Queue the webhook for an issue event (the caller holds the state's lock)."""
        url = self.state.config.get("webhookUrl")
        if not url:
            return
        delivery = {
            "identifier": str(uuid.uuid4()),
            "event": event,
            "issueKey": issue["key"],
            "url": url,
            "status": "pending",
            "attempts": [],
            "lastStatusCode": None,
            "payload": self._payload(issue, event, type_name, history, base),
        }
        self.deliveries.append(delivery)
        self._queue.put(delivery)
        if self.state.config.get("webhookDuplicate"):
            self._queue.put(delivery)

    def _payload(
        self,
        issue: dict[str, Any],
        event: str,
        type_name: str,
        history: dict[str, Any] | None,
        base: str,
    ) -> dict[str, Any]:
        wanted = [f for f in selected_fields(None) if f != "comment"]
        payload: dict[str, Any] = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": type_name,
            "user": user_json(self.state, base),
            "issue": render_issue(self.state, issue, base, "2", wanted, []),
            "matchedWebhookIds": [1],
        }
        payload["issue"].pop("expand", None)
        if history is not None:
            payload["changelog"] = {"id": history["id"], "items": history["items"]}
        return payload

    def _work(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                if delivery is None:
                    return
                if not self._stopping.is_set():
                    self._deliver(delivery)
            except Exception:  # pragma: no cover - never kill the worker
                LOG.exception("webhook delivery crashed")
            finally:
                self._queue.task_done()

    def _deliver(self, delivery: Delivery) -> None:
        with self.state.lock:
            config = dict(self.state.config)
            body = json.dumps(delivery["payload"]).encode()
            delivery["status"] = "pending"
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client (devstack emulator)",
            "X-Atlassian-Webhook-Identifier": delivery["identifier"],
            "X-Atlassian-Webhook-Flow": "Primary",
        }
        if config.get("webhookSecret"):
            headers["X-Hub-Signature"] = sign(str(config["webhookSecret"]), body)
        retries = int(config.get("webhookRetries") or 0)
        backoff = float(config.get("webhookBackoff") or 0)
        timeout = float(config.get("webhookTimeout") or 5)
        for attempt in range(retries + 1):
            if attempt:
                headers["X-Atlassian-Webhook-Retry"] = str(attempt)
                if self._stopping.wait(backoff * (2 ** (attempt - 1))):
                    return
            code, error = _post(delivery["url"], body, headers, timeout)
            with self.state.lock:
                delivery["attempts"].append(
                    {"retry": attempt, "statusCode": code, "error": error, "at": jtime(now())}
                )
                delivery["lastStatusCode"] = code
                if code is not None and 200 <= code < 300:
                    delivery["status"] = "delivered"
                    return
                if not _retryable(code):
                    delivery["status"] = "failed"
                    return
        with self.state.lock:
            delivery["status"] = "failed"


def _post(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    """POST once: (status code, None), or (None, the connection error)."""
    try:
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return resp.status, None
    except urllib.error.HTTPError as e:
        e.close()
        return e.code, None
    except (OSError, ValueError) as e:
        return None, f"{type(e).__name__}: {e}"
