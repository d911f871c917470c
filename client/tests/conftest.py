"""A stub failbridge: an HTTP server on a free port that records requests and answers from a
script (a route -> list of (status, body, headers) answers; the last one repeats)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from failbridge_stub import Stub

pytest_plugins = ["pytester"]


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            state.requests.append(
                {
                    "method": self.command,
                    "path": path,
                    "query": self.path.partition("?")[2],
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            script = state.answers.get(f"{self.command} {path}") or [
                (404, {"error": {"code": "not_found", "message": path, "details": []}}, {})
            ]
            status, payload, headers = script.pop(0) if len(script) > 1 else script[0]
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, stub: Stub) -> Stub:
    for name in ("GITHUB_RUN_ID", "BUILD_TAG", "CI_PIPELINE_ID", "BUILD_ID", "FAILBRIDGE_RUN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAILBRIDGE_URL", stub.url)
    monkeypatch.setenv("FAILBRIDGE_API_KEY", "sekret-key-123")
    monkeypatch.setenv("FAILBRIDGE_CONFIG", "")
    return stub
