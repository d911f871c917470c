"""Issue entity properties: JSON values by key (searchable as ``issue.property[key]``)."""

from __future__ import annotations

from urllib.parse import quote

from devstack.httpkit import Response
from devstack.jira.protocol import HttpError, JiraRequest
from devstack.jira.state import JiraState


def property_keys(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    base = f"{req.base}/rest/api/2/issue/{issue['id']}/properties"
    keys = [{"self": f"{base}/{quote(k)}", "key": k} for k in issue["properties"]]
    return Response(200, {"keys": keys})


def get_property(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    prop = req.match["prop"]
    if prop not in issue["properties"]:
        raise HttpError(404, [f"The property with key '{prop}' does not exist."])
    return Response(200, {"key": prop, "value": issue["properties"][prop]})


def put_property(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    prop = req.match["prop"]
    if len(prop) > 255:
        raise HttpError(400, ["The property key can not be longer than 255 characters."])
    if len(req.body) > 32768:
        raise HttpError(400, ["The property value is too long (32768 bytes max)."])
    value = req.json()
    existed = prop in issue["properties"]
    issue["properties"][prop] = value
    return Response(200 if existed else 201)


def delete_property(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    if issue["properties"].pop(req.match["prop"], None) is None:
        raise HttpError(404, ["The property with key '" + req.match["prop"] + "' does not exist."])
    return Response(204)
