"""A local Slack stand-in that writes every message it accepts to a JSON-lines outbox.

Standard library only. Runs in a background thread (``SlackSink(...).start()``) or standalone::

    python -m devstack.slack_sink --port 8002 --outbox .local/slack.jsonl

- ``POST <any path>`` -- Incoming Webhook style: a JSON body (or a form field ``payload``) with
  ``text``, ``blocks`` or ``attachments``; answers ``200 ok`` (text), or ``400 invalid_payload`` /
  ``400 no_text`` like Slack.
- ``POST /api/chat.postMessage`` (also ``chat.update``, ``chat.postEphemeral``) -- Web API style,
  JSON or form body, ``Authorization: Bearer <token>`` required (any token unless the sink was given
  one); answers ``{"ok": true, "channel": ..., "ts": ...}`` or ``{"ok": false, "error": ...}``.
  ``POST /api/auth.test`` answers ok.
- Every accepted message body is appended verbatim as one JSON object per line to the outbox (parent
  directories created, each line flushed). Metadata (path, api, channel, ts) is kept in memory only:
  ``GET /_sink/messages``; ``DELETE /_sink/messages`` clears it and truncates the outbox.
- Faults: ``POST /_sink/faults {"mode": "500", "count": 2}`` (any status code; ``"429"`` with
  ``"retryAfter"``; ``"slow"`` with ``"seconds"``; ``count < 0`` until cleared), ``GET`` lists,
  ``DELETE`` clears. A faulted request writes nothing to the outbox.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from devstack.httpkit import (
    BackgroundServer,
    Exchange,
    FaultBook,
    Request,
    Response,
    text_response,
    valid_fault_mode,
)

LOG = logging.getLogger("devstack.slack_sink")

_MESSAGE_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral"}
_JSON = "application/json; charset=utf-8"


class SlackSink:
    """Accepts Slack webhook / Web API posts and appends each message body to ``outbox_path``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        outbox_path: str | Path = "",
        *,
        token: str | None = None,
    ) -> None:
        if not outbox_path:
            raise ValueError("outbox_path is required")
        self.outbox_path = Path(outbox_path)
        self.token = token
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._faults = FaultBook()
        self._messages: list[dict[str, Any]] = []
        self._ts_counter = 0
        self._http = BackgroundServer(host, port, self._serve, name="slack-sink", log=LOG)

    # ---------------------------------------------------------------- lifecycle

    @property
    def host(self) -> str:
        return self._http.host

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> SlackSink:
        if self._http.running:
            return self
        self.outbox_path.parent.mkdir(parents=True, exist_ok=True)
        self.outbox_path.touch(exist_ok=True)
        self._stopping.clear()
        self._http.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._http.stop()

    def __enter__(self) -> SlackSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- programmatic admin

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Accepted messages with metadata: ``{"api", "path", "channel", "ts", "body"}``."""
        with self._lock:
            return [dict(m) for m in self._messages]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self.outbox_path.parent.mkdir(parents=True, exist_ok=True)
            self.outbox_path.write_text("")

    def add_fault(
        self, mode: str | int, count: int = 1, *, seconds: float = 0.0, retry_after: Any = None
    ) -> None:
        self._faults.add(mode, count, seconds=seconds, retry_after=retry_after)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> list[dict[str, Any]]:
        # The sink's faults apply to every request: no "match".
        return [
            {k: v for k, v in fault.items() if k != "match"} for fault in self._faults.to_json()
        ]

    # ---------------------------------------------------------------- request handling

    def _serve(self, exchange: Exchange) -> None:
        exchange.write_response(self._handle(exchange.read_request()))

    def _handle(self, req: Request) -> Response:
        path = req.path
        if path.startswith("/_sink"):
            return self._admin(req.method, path, req.body)
        if req.method != "POST":
            if req.method in ("GET", "HEAD") and path in ("/", "/health"):
                return text_response(200, "slack sink")
            return text_response(405, "method_not_allowed")
        api_method = path[len("/api/") :] if path.startswith("/api/") else None
        fault = self._faults.take()
        if fault is not None:
            if fault.mode == "slow":
                self._stopping.wait(fault.seconds)
            elif fault.mode.isdigit():
                code = int(fault.mode)
                extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                error = "ratelimited" if code == 429 else "internal_error"
                if api_method is not None:
                    return _json(code, {"ok": False, "error": error}, extra)
                return Response(
                    code,
                    body=error.encode(),
                    content_type="text/plain; charset=utf-8",
                    headers=extra,
                )
        message = _parse_body(req.headers.get("Content-Type") or "", req.body)
        if api_method is not None:
            return self._web_api(api_method, path, req.headers, message)
        if not isinstance(message, dict):
            return text_response(400, "invalid_payload")
        if not any(message.get(k) for k in ("text", "blocks", "attachments")):
            return text_response(400, "no_text")
        self._accept("webhook", path, message.get("channel"), message)
        return text_response(200, "ok")

    def _web_api(self, api_method: str, path: str, headers: Any, message: Any) -> Response:
        auth = headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token and isinstance(message, dict):
            token = str(message.pop("token", "") or "")
        if not token:
            return _json(200, {"ok": False, "error": "not_authed"})
        if self.token is not None and token != self.token:
            return _json(200, {"ok": False, "error": "invalid_auth"})
        if api_method == "auth.test":
            return _json(
                200,
                {
                    "ok": True,
                    "url": self.url + "/",
                    "team": "devstack",
                    "user": "failbridge",
                    "team_id": "T0DEVSTACK",
                    "user_id": "U0DEVSTACK",
                    "bot_id": "B0DEVSTACK",
                },
            )
        if api_method not in _MESSAGE_METHODS:
            return _json(200, {"ok": False, "error": "unknown_method"})
        if not isinstance(message, dict):
            return _json(200, {"ok": False, "error": "invalid_arguments"})
        channel = message.get("channel")
        if not channel:
            return _json(200, {"ok": False, "error": "channel_not_found"})
        if api_method == "chat.update" and not message.get("ts"):
            return _json(200, {"ok": False, "error": "message_not_found"})
        if not any(message.get(k) for k in ("text", "blocks", "attachments")):
            return _json(200, {"ok": False, "error": "no_text"})
        ts = self._accept(api_method, path, channel, message)
        if api_method == "chat.update":
            ts = str(message["ts"])
        reply = {k: message[k] for k in ("text", "blocks", "attachments") if k in message}
        reply.update({"type": "message", "ts": ts, "bot_id": "B0DEVSTACK"})
        if api_method == "chat.postEphemeral":
            return _json(200, {"ok": True, "message_ts": ts})
        return _json(200, {"ok": True, "channel": channel, "ts": ts, "message": reply})

    def _accept(self, api: str, path: str, channel: Any, message: dict[str, Any]) -> str:
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._ts_counter += 1
            ts = f"{int(time.time())}.{self._ts_counter:06d}"
            self.outbox_path.parent.mkdir(parents=True, exist_ok=True)
            with self.outbox_path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
            self._messages.append(
                {"api": api, "path": path, "channel": channel, "ts": ts, "body": message}
            )
        return ts

    def _admin(self, method: str, path: str, body: bytes) -> Response:
        path = path.rstrip("/")
        if path == "/_sink/messages":
            if method == "GET":
                return _json(200, self.messages)
            if method == "DELETE":
                self.clear()
                return Response(204, content_type="text/plain")
        if path == "/_sink/faults":
            if method == "GET":
                return _json(200, self.faults)
            if method == "DELETE":
                self.clear_faults()
                return Response(204, content_type="text/plain")
            if method == "POST":
                try:
                    spec = json.loads(body or b"null")
                except ValueError:
                    return _json(400, {"error": "invalid JSON"})
                specs = spec if isinstance(spec, list) else [spec]
                for item in specs:
                    mode = str(item.get("mode", "")) if isinstance(item, dict) else ""
                    if not valid_fault_mode(mode):
                        return _json(400, {"error": f"unknown fault mode {mode!r}"})
                    self.add_fault(
                        mode,
                        int(item.get("count", 1)),
                        seconds=float(item.get("seconds", 0) or 0),
                        retry_after=item.get("retryAfter"),
                    )
                return _json(201, self.faults)
        if path == "/_sink/health" and method == "GET":
            return _json(200, {"ok": True, "outbox": str(self.outbox_path)})
        return _json(404, {"error": f"no admin endpoint {method} {path}"})


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, payload, content_type=_JSON, headers=dict(headers or {}))


def _parse_body(content_type: str, body: bytes) -> Any:
    """JSON body, or a form body (``payload=<json>`` or plain fields), else None."""
    text = body.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in content_type.lower():
        form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        if "payload" in form:
            try:
                return json.loads(form["payload"])
            except ValueError:
                return None
        out: dict[str, Any] = dict(form)
        for key in ("blocks", "attachments", "metadata"):
            if isinstance(out.get(key), str):
                with contextlib.suppress(ValueError):
                    out[key] = json.loads(out[key])
        return out
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Slack sink (devstack)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--outbox", default=".local/slack.jsonl")
    parser.add_argument(
        "--token", default=None, help="Web API bot token to require (default: any token)"
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    sink = SlackSink(args.host, args.port, args.outbox, token=args.token)
    done = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    sink.start()
    print(json.dumps({"slack": sink.url, "outbox": str(sink.outbox_path)}), flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
