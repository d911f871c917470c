"""The admin API under ``/_emulator`` (no auth, JSON): the request log, faults, webhook
deliveries, settings, issues as stored, a person's transition, reset, health."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from devstack.httpkit import Request, Response, valid_fault_mode
from devstack.jira.catalogue import status_by_name
from devstack.jira.protocol import HttpError, JiraRequest
from devstack.jira.render import render_issue, render_remote_link
from devstack.jira.workflow import apply_transition

if TYPE_CHECKING:
    from devstack.jira.server import JiraEmulator

AdminHandler = Callable[["JiraEmulator", JiraRequest], Response]

FAULT_MODES = ("reset", "create_then_timeout")  # besides "slow" and any status code


def _health(emu: JiraEmulator, req: JiraRequest) -> Response:
    return Response(200, {"ok": True, "url": emu.url})


def _requests(emu: JiraEmulator, req: JiraRequest) -> Response:
    return Response(200, emu.requests)


def _clear_requests(emu: JiraEmulator, req: JiraRequest) -> Response:
    emu.clear_requests()
    return Response(204)


def _faults(emu: JiraEmulator, req: JiraRequest) -> Response:
    return Response(200, emu.faults)


def _clear_faults(emu: JiraEmulator, req: JiraRequest) -> Response:
    emu.clear_faults()
    return Response(204)


def _add_faults(emu: JiraEmulator, req: JiraRequest) -> Response:
    data = req.json()
    for spec in data if isinstance(data, list) else [data]:
        if not isinstance(spec, dict) or "mode" not in spec:
            raise HttpError(400, ["A fault needs a 'mode'."])
        mode = str(spec["mode"])
        if not valid_fault_mode(mode, FAULT_MODES):
            raise HttpError(400, [f"Unknown fault mode '{mode}'."])
        emu.add_fault(
            mode,
            int(spec.get("count", 1)),
            seconds=float(spec.get("seconds", 0) or 0),
            retry_after=spec.get("retryAfter"),
            match=spec.get("match"),
        )
    return Response(201, emu.faults)


def _webhooks(emu: JiraEmulator, req: JiraRequest) -> Response:
    return Response(200, emu.webhooks)


def _clear_webhooks(emu: JiraEmulator, req: JiraRequest) -> Response:
    emu.clear_webhooks()
    return Response(204)


def _redeliver(emu: JiraEmulator, req: JiraRequest) -> Response:
    delivery = emu.redeliver(req.match["identifier"])
    if delivery is None:
        raise HttpError(404, ["No such delivery."])
    return Response(202, {"identifier": delivery["identifier"]})


def _config(emu: JiraEmulator, req: JiraRequest) -> Response:
    with emu.state.lock:
        return Response(200, dict(emu.config))


def _set_config(emu: JiraEmulator, req: JiraRequest) -> Response:
    data = req.json()
    if not isinstance(data, dict):
        raise HttpError(400, ["Config must be an object."])
    try:
        return Response(200, emu.set_config(**data))
    except KeyError as e:
        raise HttpError(400, [str(e)]) from None


def _issues(emu: JiraEmulator, req: JiraRequest) -> Response:
    state = emu.state
    with state.lock:
        return Response(
            200,
            [
                render_issue(state, i, req.base, "2", None, ["changelog"])
                | {
                    "properties": dict(i["properties"]),
                    "remotelinks": [render_remote_link(i, r, req.base) for r in i["remotelinks"]],
                }
                for i in state.issues.values()
            ],
        )


def _transition(emu: JiraEmulator, req: JiraRequest) -> Response:
    """Move an issue as a person in the Jira UI would: ``{"to": "Done", "resolution": ...}``."""
    data = req.json()
    if not isinstance(data, dict) or not data.get("to"):
        raise HttpError(400, ['Body must be {"to": <status name>}.'])
    state = emu.state
    with state.lock:
        issue = state.get_issue(req.match["key"])
        status = status_by_name(str(data["to"]))
        if status is None:
            raise HttpError(400, [f"Unknown status '{data['to']}'."])
        fields = {"resolution": {"name": data["resolution"]}} if data.get("resolution") else {}
        apply_transition(state, issue, status[0], fields, req.base)
        return Response(200, render_issue(state, issue, req.base, "2", None, []))


def _reset(emu: JiraEmulator, req: JiraRequest) -> Response:
    emu.reset()
    return Response(204)


_TABLE: list[tuple[str, str, AdminHandler]] = [
    ("*", "health", _health),
    ("GET", "requests", _requests),
    ("DELETE", "requests", _clear_requests),
    ("GET", "faults", _faults),
    ("DELETE", "faults", _clear_faults),
    ("POST", "faults", _add_faults),
    ("GET", "webhooks", _webhooks),
    ("DELETE", "webhooks", _clear_webhooks),
    ("POST", r"webhooks/(?P<identifier>[^/]+)/redeliver", _redeliver),
    ("GET", "config", _config),
    ("POST PUT PATCH", "config", _set_config),
    ("GET", "issues", _issues),
    ("POST", r"issues/(?P<key>[^/]+)/transition", _transition),
    ("POST", "reset", _reset),
]
_ROUTES = [(methods, re.compile("/_emulator/" + path), fn) for methods, path, fn in _TABLE]


def admin(emu: JiraEmulator, request: Request) -> Response:
    """Answer one ``/_emulator`` request; HttpError if there is no such endpoint."""
    req = JiraRequest.of(request)
    path = req.path.rstrip("/")
    for methods, pattern, fn in _ROUTES:
        m = pattern.fullmatch(path)
        if m and (methods == "*" or req.method in methods.split()):
            req.match = m.groupdict()
            return fn(emu, req)
    raise HttpError(404, [f"No admin endpoint {req.method} {req.path}"])
