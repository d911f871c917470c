"""``JiraEmulator``: the emulator as a whole. Serves the REST API (Basic auth, the request log,
injected faults, routing to ``rest`` handlers under the state's lock) and the admin API, sends
webhooks, and offers the admin functions to Python callers (tests, the local stack)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from devstack.httpkit import BackgroundServer, Exchange, Fault, Request, Response
from devstack.jira import admin
from devstack.jira.catalogue import status_by_name
from devstack.jira.formats import jtime, now
from devstack.jira.protocol import HttpError, JiraRequest, error_response
from devstack.jira.render import render_issue
from devstack.jira.rest.routes import ROUTES
from devstack.jira.state import JiraState
from devstack.jira.webhooks import Webhooks
from devstack.jira.workflow import apply_transition

LOG = logging.getLogger("devstack.jira")

_FAULT_MESSAGES = {429: "Rate limit exceeded.", 503: "Service Unavailable"}


class JiraEmulator:
    """In-memory Jira Cloud. ``start()`` serves in a daemon thread; ``stop()`` shuts it down."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        email: str,
        api_token: str,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        projects: Iterable[str] = ("KP",),
    ) -> None:
        self.state = JiraState(
            email=email,
            api_token=api_token,
            projects=projects,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
        )
        self.webhooks_out = Webhooks(self.state)
        self._stopping = threading.Event()
        self._http = BackgroundServer(host, port, self._serve, name="jira-emulator", log=LOG)

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

    @property
    def email(self) -> str:
        return self.state.email

    @property
    def api_token(self) -> str:
        return self.state.api_token

    @property
    def account_id(self) -> str:
        return self.state.account_id

    @property
    def config(self) -> dict[str, Any]:
        return self.state.config

    def start(self) -> JiraEmulator:
        if self._http.running:
            return self
        self._stopping.clear()
        self._http.start()
        self.webhooks_out.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._http.stop()
        self.webhooks_out.stop()

    def __enter__(self) -> JiraEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- programmatic admin

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(r) for r in self.state.requests]

    def clear_requests(self) -> None:
        with self.state.lock:
            self.state.requests.clear()

    def add_fault(
        self,
        mode: str | int,
        count: int = 1,
        *,
        seconds: float = 0.0,
        retry_after: Any = None,
        match: str | None = None,
    ) -> None:
        self.state.faults.add(mode, count, seconds=seconds, retry_after=retry_after, match=match)

    def clear_faults(self) -> None:
        self.state.faults.clear()

    @property
    def faults(self) -> list[dict[str, Any]]:
        return self.state.faults.to_json()

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        return self.webhooks_out.snapshot()

    def clear_webhooks(self) -> None:
        self.webhooks_out.clear()

    def redeliver(self, identifier: str) -> dict[str, Any] | None:
        return self.webhooks_out.redeliver(identifier)

    def wait_webhooks_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued webhook delivery has finished (delivered or given up)."""
        return self.webhooks_out.wait_idle(timeout)

    def set_config(self, **changes: Any) -> dict[str, Any]:
        """Change settings; accepts camelCase keys (``webhookUrl``) or snake_case."""
        return self.state.set_config(**changes)

    def reset(self) -> None:
        """Forget issues, links, requests, faults and deliveries (keeps config and projects)."""
        with self.state.lock:
            self.state.reset()
            self.webhooks_out.clear()

    def issue(self, key: str) -> dict[str, Any]:
        """The issue as ``GET /rest/api/2/issue/{key}`` would render it."""
        with self.state.lock:
            issue = self.state.get_issue(key)
            return render_issue(self.state, issue, self.url, "2", None, ["changelog"])

    def transition(self, key: str, to: str, resolution: str | None = None) -> None:
        """Move an issue as a person in the Jira UI would (fires the webhook)."""
        with self.state.lock:
            issue = self.state.get_issue(key)
            status = status_by_name(to)
            if status is None:
                raise KeyError(f"unknown status {to!r}")
            fields = {"resolution": {"name": resolution}} if resolution else {}
            apply_transition(self.state, issue, status[0], fields, self.url)

    # ---------------------------------------------------------------- serving

    def _serve(self, exchange: Exchange) -> None:
        req = exchange.read_request(default_host=urlsplit(self.url).netloc)
        if req.path.startswith("/_emulator"):
            exchange.write_response(_safe(lambda r: admin.admin(self, r), req))
            return
        record = self._record(req)
        authorized = self._authorized(req)
        fault = self.state.faults.take(req.method, req.path) if authorized else None
        if fault is not None:
            record["fault"] = fault.mode
            if fault.mode == "reset":
                exchange.reset_connection()
                return
        resp = self._answer(req, fault) if authorized else _unauthorized()
        record["status"] = resp.status
        if fault is not None and fault.mode == "create_then_timeout":
            self._stopping.wait(fault.seconds or 5.0)  # the issue exists; the answer is late
        exchange.write_response(resp)

    def _record(self, req: Request) -> dict[str, Any]:
        """Log a REST call (``GET /_emulator/requests``); its status is filled in later."""
        content_type = req.headers.get("Content-Type")
        record: dict[str, Any] = {
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "params": req.params,
            "json": None,
            "contentType": content_type,
            "bodySize": len(req.body),
            "status": None,
            "fault": None,
            "at": jtime(now()),
        }
        if req.body and "json" in (content_type or ""):
            with contextlib.suppress(ValueError):
                record["json"] = json.loads(req.body)
        with self.state.lock:
            self.state.requests.append(record)
        return record

    def _answer(self, req: Request, fault: Fault | None) -> Response:
        """An authorized REST call's response, after its fault if one was taken."""
        if fault is not None and fault.mode == "slow":
            self._stopping.wait(fault.seconds)
        elif fault is not None and fault.mode.isdigit():
            code = int(fault.mode)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return error_response(
                code, _FAULT_MESSAGES.get(code, f"Emulated fault {code}"), headers
            )
        return _safe(self._route, req)

    def _authorized(self, req: Request) -> bool:
        header = req.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.state.email) and hmac.compare_digest(
            password, self.state.api_token
        )

    def _route(self, request: Request) -> Response:
        req = JiraRequest.of(request)
        known_path = False
        for method, pattern, handler in ROUTES:
            m = pattern.fullmatch(req.path)
            if not m:
                continue
            known_path = True
            if method != req.method and not (method == "GET" and req.method == "HEAD"):
                continue
            req.match = {k: v for k, v in m.groupdict().items() if v is not None}
            req.version = "3" if req.match.get("v") == "3" else "2"
            with self.state.lock:
                return handler(self.state, req)
        if known_path:
            raise HttpError(405, [f"Method {req.method} is not allowed for {req.path}"])
        raise HttpError(404, [f"null for uri: {req.base}{req.path}"])


def _unauthorized() -> Response:
    return error_response(
        401,
        "Client must be authenticated to access this resource.",
        {"WWW-Authenticate": 'Basic realm="devstack-jira"'},
    )


def _safe(fn: Callable[[Request], Response], req: Request) -> Response:
    try:
        return fn(req)
    except HttpError as e:
        return e.response()
    except Exception:  # pragma: no cover - surfaced as a 500 like a real server would
        LOG.exception("emulator handler failed: %s %s", req.method, req.path)
        return error_response(500, "Internal server error")
