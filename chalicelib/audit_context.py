"""Who is writing, and for which request: the audit's request context.

Every write through `adapters.dynamo.table.Table` carries the current actor and request id on
the item it writes (`auditActor`, `auditRequestId`), so the change stream, which sees only items,
can say who did what (`services.audit`). The edge says who it is serving: an API route (its
key's id and role), the Jira webhook and its queued changes (Jira), a Slack click or an approval
link (the lead). Nothing said means the system (schedules, workflows, queues).

A context variable: Lambda serves one request at a time per container, and the local server's
threads each see their own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from chalicelib.clock import now_iso

SYSTEM: dict[str, Any] = {"type": "system", "id": "system"}
JIRA: dict[str, Any] = {"type": "jira", "id": "jira"}

_actor: ContextVar[dict[str, Any] | None] = ContextVar("failbridge_audit_actor", default=None)
_request: ContextVar[str | None] = ContextVar("failbridge_audit_request", default=None)


def key_actor(key_id: str, role: str, user: str | None) -> dict[str, Any]:
    return {"type": "key", "id": key_id, "role": role, "user": user}


def lead_actor(lead: str, via: str) -> dict[str, Any]:
    return {"type": "lead", "id": lead, "role": "lead", "user": lead, "via": via}


def actor() -> dict[str, Any]:
    return dict(_actor.get() or SYSTEM)


def request_id() -> str | None:
    return _request.get()


def act_as(who: dict[str, Any]) -> None:
    """Say who the current request acts for (inside `serving`, which undoes it)."""
    _actor.set({k: v for k, v in who.items() if v is not None})


@contextlib.contextmanager
def serving(request: str | None, who: dict[str, Any] | None = None) -> Iterator[None]:
    """The context of one request or task; restored when it ends."""
    actor_token = _actor.set(who)
    request_token = _request.set(request)
    try:
        yield
    finally:
        _actor.reset(actor_token)
        _request.reset(request_token)


def stamp() -> dict[str, Any]:
    """The attributes a write carries."""
    out: dict[str, Any] = {"auditActor": actor(), "auditAt": now_iso()}
    rid = request_id()
    if rid:
        out["auditRequestId"] = rid
    return out


STAMP_ATTRS = ("auditActor", "auditRequestId", "auditAt")
