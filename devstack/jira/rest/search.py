"""Search: ``search/jql`` (Cloud's enhanced search: token paging, ids only unless fields are
asked for) and the legacy ``search`` (startAt paging; ``legacySearch: "gone"`` makes it 410)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from devstack.httpkit import Response
from devstack.jira.jql_eval import run_jql
from devstack.jira.protocol import HttpError, JiraRequest
from devstack.jira.render import render_issue
from devstack.jira.state import JiraState


def _search_args(req: JiraRequest) -> tuple[str, list[str] | None, dict[str, Any]]:
    """(jql, fields, the other arguments) from the POST body or the GET query."""
    if req.method == "POST":
        data = req.json(required=False) or {}
        if not isinstance(data, dict):
            raise HttpError(400, ["Request body must be a JSON object."])
        fields = data.get("fields")
        if isinstance(fields, str):
            fields = [f.strip() for f in fields.split(",") if f.strip()]
        return str(data.get("jql") or ""), fields, data
    params: dict[str, Any] = {k: v[0] for k, v in req.params.items() if v}
    params["expand"] = ",".join(req.list_param("expand"))
    params["properties"] = req.list_param("properties")
    return req.param("jql") or "", req.list_param("fields") or None, params


def _expand_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def _hit(
    state: JiraState,
    issue: dict[str, Any],
    req: JiraRequest,
    wanted: list[str],
    args: dict[str, Any],
) -> dict[str, Any]:
    expand = _expand_list(args.get("expand"))
    rendered = render_issue(state, issue, req.base, req.version, wanted, expand)
    props = _expand_list(args.get("properties"))
    if props:
        rendered["properties"] = {
            k: issue["properties"][k] for k in props if k in issue["properties"]
        }
    return rendered


def _page_start(token: Any) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(str(token).encode()).decode())
    except (ValueError, binascii.Error):
        raise HttpError(400, ["Invalid nextPageToken."]) from None


def search_jql(state: JiraState, req: JiraRequest) -> Response:
    jql, fields, args = _search_args(req)
    if not jql.strip():
        raise HttpError(
            400,
            [
                "Unbounded JQL queries are not allowed here. Please add a "
                "search restriction to your query."
            ],
        )
    matches = run_jql(state, jql)
    size = max(1, min(int(args.get("maxResults") or 50), 5000 if not fields else 100))
    start = _page_start(args.get("nextPageToken"))
    # Cloud's enhanced search returns only ids unless fields are asked for.
    wanted = fields if fields else ["-all"]
    issues = [_hit(state, i, req, wanted, args) for i in matches[start : start + size]]
    out: dict[str, Any] = {"issues": issues, "isLast": start + size >= len(matches)}
    if not out["isLast"]:
        out["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return Response(200, out)


def search_legacy(state: JiraState, req: JiraRequest) -> Response:
    if state.config.get("legacySearch") == "gone":
        raise HttpError(
            410,
            [
                "The requested API has been removed. Please migrate to the "
                "/rest/api/3/search/jql API."
            ],
        )
    jql, fields, args = _search_args(req)
    matches = run_jql(state, jql)
    start = int(args.get("startAt") or 0)
    size = max(0, min(int(args.get("maxResults") or 50), 100))
    wanted = fields if fields else ["*navigable"]
    issues = [_hit(state, i, req, wanted, args) for i in matches[start : start + size]]
    return Response(
        200,
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(matches),
            "issues": issues,
        },
    )
