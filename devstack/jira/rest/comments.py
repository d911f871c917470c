"""Comments on an issue."""

from __future__ import annotations

from devstack.httpkit import Response
from devstack.jira.formats import now
from devstack.jira.protocol import HttpError, JiraRequest
from devstack.jira.render import render_comment
from devstack.jira.state import JiraState


def get_comments(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    comments = [render_comment(state, issue, c, req.base, req.version) for c in issue["comments"]]
    if (req.param("orderBy") or "") == "-created":  # newest first; `created`/`+created` as stored
        comments.reverse()
    start = int(req.param("startAt") or 0)
    size = int(req.param("maxResults") or 5000)
    return Response(
        200,
        {
            "startAt": start,
            "maxResults": size,
            "total": len(comments),
            "comments": comments[start : start + size],
        },
    )


def add_comment(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    data = req.json()
    body = data.get("body") if isinstance(data, dict) else None
    if req.version == "3":
        valid = isinstance(body, dict) and body.get("type") == "doc"
    else:
        valid = isinstance(body, str) and bool(body.strip())
    if not valid:
        raise HttpError(400, [], {"comment": "Comment body can not be empty!"})
    comment = state.add_comment(issue, body)
    issue["updated"] = now()
    return Response(201, render_comment(state, issue, comment, req.base, req.version))


def get_comment(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    for comment in issue["comments"]:
        if comment["id"] == req.match["id"]:
            return Response(200, render_comment(state, issue, comment, req.base, req.version))
    raise HttpError(404, ["Can not find a comment for the id: " + req.match["id"] + "."])
