"""HTTP plumbing shared by the local stand-ins (Jira emulator, Slack sink): a threaded server run in
the background, one handler that reads a request and writes a response, and injected faults.

Standard library only. A stand-in gives ``BackgroundServer`` one function, ``serve(exchange)``,
called once per request with the live ``Exchange``: read ``exchange.read_request()``, answer
with ``exchange.write_response(Response(...))`` (or ``exchange.reset_connection()``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

Serve = Callable[["Exchange"], None]


# --------------------------------------------------------------------------------------------
# Requests and responses
# --------------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str  # percent-decoded
    query: str
    params: dict[str, list[str]]
    headers: Any
    body: bytes
    base: str  # scheme://host[:port] as the client addressed us
    match: dict[str, str] = field(default_factory=dict)  # the route's named groups

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def list_param(self, name: str) -> list[str]:
        """Every value of a repeatable, comma-separated query parameter."""
        out: list[str] = []
        for value in self.params.get(name, []):
            out.extend(v.strip() for v in value.split(",") if v.strip())
        return out


@dataclass
class Response:
    status: int = 200
    payload: Any = None  # JSON-encoded unless ``body`` is given
    body: bytes | None = None
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is not None:
            return self.body
        if self.payload is None:
            return b""
        return json.dumps(self.payload).encode()


def text_response(status: int, text: str) -> Response:
    return Response(status, body=text.encode(), content_type="text/plain; charset=utf-8")


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], serve: Serve, log: logging.Logger) -> None:
        self.serve = serve
        self.log = log
        super().__init__(addr, Exchange)


class Exchange(BaseHTTPRequestHandler):
    """One HTTP/1.1 request on a keep-alive connection."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add
        # ~40 ms to every keep-alive request.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log.debug("%s - %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        try:
            self.server.serve(self)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch  # noqa: N815

    def read_request(self, default_host: str = "") -> Request:
        parts = urlsplit(self.path)
        host = self.headers.get("Host") or default_host
        return Request(
            method=self.command.upper(),
            path=unquote(parts.path) or "/",
            query=parts.query,
            params=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
            base=f"http://{host}",
        )

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline().strip().split(b";")[0]
                size = int(size_line or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def write_response(self, resp: Response) -> None:
        body = resp.encoded()
        self.send_response(resp.status)
        if body or resp.status not in (204, 304):
            self.send_header("Content-Type", resp.content_type)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    def reset_connection(self) -> None:
        """Drop the connection with a TCP RST, as a crashing proxy would."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()


def host_base(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


class BackgroundServer:
    """Serves ``serve`` on ``host:port`` (0: any free port) from a daemon thread."""

    def __init__(self, host: str, port: int, serve: Serve, *, name: str, log: logging.Logger):
        self.host = host
        self.port = port
        self._serve = serve
        self._name = name
        self._log = log
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        port = self._server.server_address[1] if self._server else self.port
        return host_base(self.host, port)

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _Server((self.host, self.port), self._serve, self._log)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self._name}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


@dataclass
class Fault:
    mode: str  # an HTTP status ("503"), "slow", or a stand-in's own modes
    count: int = 1  # < 0: until cleared
    seconds: float = 0.0
    retry_after: str | None = None
    match: str | None = None  # "POST /rest/api/2/issue" or a path prefix; None: any request

    def matches(self, method: str, path: str) -> bool:
        if not self.match:
            return True
        want_method, _, prefix = self.match.strip().partition(" ")
        if not prefix:  # only a path given
            want_method, prefix = "*", want_method
        if want_method not in ("*", method.upper()):
            return False
        return path.startswith(prefix.strip())

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "count": self.count,
            "seconds": self.seconds,
            "retryAfter": self.retry_after,
            "match": self.match,
        }


def valid_fault_mode(mode: str, extra_modes: Iterable[str] = ()) -> bool:
    return mode == "slow" or mode in extra_modes or (mode.isdigit() and len(mode) == 3)


class FaultBook:
    """Faults waiting for requests; each request that matches one uses it up (thread-safe).

    ``applies(fault, method, path)`` decides whether a fault fits a request (default: its
    ``match``)."""

    def __init__(self, applies: Callable[[Fault, str, str], bool] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._applies = applies or (lambda fault, method, path: fault.matches(method, path))

    def add(
        self,
        mode: str | int,
        count: int = 1,
        *,
        seconds: float = 0.0,
        retry_after: Any = None,
        match: str | None = None,
    ) -> None:
        fault = Fault(
            str(mode),
            int(count),
            float(seconds),
            None if retry_after is None else str(retry_after),
            match,
        )
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str = "", path: str = "") -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count != 0 and self._applies(fault, method, path):
                    if fault.count > 0:
                        fault.count -= 1
                    self._faults = [f for f in self._faults if f.count != 0]
                    return fault
        return None

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]
