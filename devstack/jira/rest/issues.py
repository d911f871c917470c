"""Issues: create, read, delete, and their transitions (edit is in ``edit``)."""

from __future__ import annotations

from typing import Any

from devstack.httpkit import Response
from devstack.jira.catalogue import STATUSES
from devstack.jira.protocol import HttpError, JiraRequest
from devstack.jira.render import render_issue
from devstack.jira.state import JiraState
from devstack.jira.values import normalize_fields
from devstack.jira.workflow import apply_transition, transitions_for


def _added_comments(update: Any) -> list[Any]:
    """The bodies of ``update.comment[].add`` operations."""
    ops = update.get("comment", []) if isinstance(update, dict) else []
    return [
        op["add"].get("body")
        for op in ops
        if isinstance(op, dict) and isinstance(op.get("add"), dict)
    ]


def create_issue(state: JiraState, req: JiraRequest) -> Response:
    data = req.json()
    if not isinstance(data, dict) or not isinstance(data.get("fields", {}), dict):
        raise HttpError(400, ["Can not deserialize the issue: 'fields' must be an object."])
    fields, errors = normalize_fields(state, data.get("fields") or {}, req.version, creating=True)
    update = data.get("update") or {}
    if errors:
        raise HttpError(400, [], errors)
    issue = state.create_issue(fields.pop("project"), fields)
    for body in _added_comments(update):
        state.add_comment(issue, body)
    for prop in data.get("properties") or []:
        if isinstance(prop, dict) and "key" in prop:
            issue["properties"][str(prop["key"])] = prop.get("value")
    if state.config.get("webhookOnCreate"):
        state.emit(issue, "jira:issue_created", "issue_created", None, req.base)
    return Response(
        201,
        {
            "id": issue["id"],
            "key": issue["key"],
            "self": f"{req.base}/rest/api/{req.version}/issue/{issue['id']}",
        },
    )


def get_issue(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    wanted = req.list_param("fields") or None
    expand = req.list_param("expand")
    return Response(200, render_issue(state, issue, req.base, req.version, wanted, expand))


def delete_issue(state: JiraState, req: JiraRequest) -> Response:
    state.delete_issue(state.get_issue(req.match["key"]))
    return Response(204)


def get_transitions(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    with_fields = "transitions.fields" in req.list_param("expand")
    transitions = transitions_for(issue, req.base, with_fields)
    wanted = req.param("transitionId")
    if wanted:
        transitions = [t for t in transitions if t["id"] == wanted]
    return Response(200, {"expand": "transitions", "transitions": transitions})


def do_transition(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    data = req.json()
    ref = (data or {}).get("transition") if isinstance(data, dict) else None
    tid = str(ref.get("id")) if isinstance(ref, dict) and ref.get("id") is not None else None
    if tid is None:
        raise HttpError(400, ["Missing 'transition' identifier."])
    target = next((s for s in STATUSES if s[3] == tid and s[0] != issue["status"]), None)
    if target is None:
        raise HttpError(400, [f"Transition id '{tid}' is not valid for this issue."])
    comments = _added_comments(data.get("update") or {})
    comment = comments[-1] if comments else None
    apply_transition(state, issue, target[0], data.get("fields") or {}, req.base, comment)
    return Response(204)
