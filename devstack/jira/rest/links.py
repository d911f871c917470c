"""Issue links (between two issues, by link type) and remote links (an issue to a URL;
``globalId`` makes a POST an upsert)."""

from __future__ import annotations

from typing import Any

from devstack.httpkit import Response
from devstack.jira.catalogue import find_link_type, link_type_json
from devstack.jira.formats import now
from devstack.jira.protocol import HttpError, JiraRequest
from devstack.jira.render import render_remote_link
from devstack.jira.state import JiraState


def _link_ends(state: JiraState, data: dict[str, Any]) -> list[str]:
    """The ids of the inward and outward issues the body names."""
    ends = []
    for side in ("inwardIssue", "outwardIssue"):
        ref = data.get(side)
        ref = (ref.get("key") or ref.get("id")) if isinstance(ref, dict) else None
        if not ref:
            raise HttpError(400, [f"The {side} must be specified."])
        try:
            ends.append(state.get_issue(str(ref))["id"])
        except HttpError:
            raise HttpError(404, ["Issue Does Not Exist"]) from None
    return ends


def create_link(state: JiraState, req: JiraRequest) -> Response:
    data = req.json()
    if not isinstance(data, dict):
        raise HttpError(400, ["Request body must be a JSON object."])
    entry = find_link_type(data.get("type"))
    if entry is None:
        name = (data.get("type") or {}).get("name") if isinstance(data.get("type"), dict) else None
        raise HttpError(404, [f"No issue link type with name '{name}' found."])
    ends = _link_ends(state, data)
    for link in state.links.values():
        if link["type"] == entry and [link["inward"], link["outward"]] == ends:
            return Response(201)
    link_id = state.next_id()
    state.links[link_id] = {"id": link_id, "type": entry, "inward": ends[0], "outward": ends[1]}
    comment = data.get("comment")
    if isinstance(comment, dict) and comment.get("body"):
        state.add_comment(state.issues[ends[0]], comment["body"])
    return Response(201)


def get_link(state: JiraState, req: JiraRequest) -> Response:
    link = state.links.get(req.match["id"])
    if link is None:
        raise HttpError(404, ["No issue link with id '" + req.match["id"] + "' exists."])
    out: dict[str, Any] = {
        "id": link["id"],
        "self": f"{req.base}/rest/api/2/issueLink/{link['id']}",
        "type": link_type_json(link["type"], req.base),
    }
    for side, iid in (("inwardIssue", link["inward"]), ("outwardIssue", link["outward"])):
        out[side] = {
            "id": iid,
            "key": state.issues[iid]["key"],
            "self": f"{req.base}/rest/api/2/issue/{iid}",
        }
    return Response(200, out)


def delete_link(state: JiraState, req: JiraRequest) -> Response:
    if state.links.pop(req.match["id"], None) is None:
        raise HttpError(404, ["No issue link with id '" + req.match["id"] + "' exists."])
    return Response(204)


# -------------------------------------------------------------------------------- remote links


def get_remote_links(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    global_id = req.param("globalId")
    if global_id is not None:
        for link in issue["remotelinks"]:
            if link.get("globalId") == global_id:
                return Response(200, render_remote_link(issue, link, req.base))
        raise HttpError(404, ["No remote link with global id '" + global_id + "' found."])
    return Response(
        200, [render_remote_link(issue, link, req.base) for link in issue["remotelinks"]]
    )


def _remote_link_object(data: Any) -> dict[str, Any]:
    obj = data.get("object") if isinstance(data, dict) else None
    errors = {}
    if not isinstance(obj, dict):
        errors["object"] = "The remote link object must be specified."
    else:
        if not obj.get("url"):
            errors["url"] = "'url' is required."
        if not obj.get("title"):
            errors["title"] = "'title' is required."
    if errors or not isinstance(obj, dict):
        raise HttpError(400, [], errors)
    return obj


def add_remote_link(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    data = req.json()
    obj = _remote_link_object(data)
    global_id = data.get("globalId")
    fields = {
        "globalId": global_id,
        "application": data.get("application"),
        "relationship": data.get("relationship"),
        "object": obj,
    }
    link = None
    if global_id is not None:
        link = next((x for x in issue["remotelinks"] if x.get("globalId") == global_id), None)
    status = 200 if link is not None else 201
    if link is not None:
        link.update(fields)
    else:
        link = dict(fields, id=int(state.next_id()))
        issue["remotelinks"].append(link)
    issue["updated"] = now()
    return Response(
        status,
        {
            "id": link["id"],
            "self": f"{req.base}/rest/api/2/issue/{issue['key']}/remotelink/{link['id']}",
        },
    )


def _find_remote_link(issue: dict[str, Any], link_id: str) -> dict[str, Any]:
    for link in issue["remotelinks"]:
        if str(link["id"]) == link_id:
            return link
    raise HttpError(404, ["No remote link with id '" + link_id + "' found."])


def get_remote_link(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    link = _find_remote_link(issue, req.match["id"])
    return Response(200, render_remote_link(issue, link, req.base))


def delete_remote_link(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    issue["remotelinks"].remove(_find_remote_link(issue, req.match["id"]))
    return Response(204)
