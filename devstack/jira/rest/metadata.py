"""Site metadata: server info, the current user, fields, issue types, priorities, resolutions,
statuses, projects, create metadata and issue link types."""

from __future__ import annotations

from typing import Any

from devstack.httpkit import Response
from devstack.jira.catalogue import (
    DEFAULT_PRIORITY,
    ISSUE_TYPES,
    LINK_TYPES,
    PRIORITIES,
    RESOLUTIONS,
    SEVERITY_OPTIONS,
    STATUSES,
    find_issuetype,
    find_link_type,
    issuetype_json,
    link_type_json,
    priority_json,
    resolution_json,
    severity_json,
    status_json,
)
from devstack.jira.fields import FIELD_DEFS, REQUIRED_ON_CREATE, SEVERITY_FIELD, FieldDef
from devstack.jira.formats import jtime, now
from devstack.jira.protocol import HttpError, JiraRequest
from devstack.jira.render import project_json, user_json
from devstack.jira.state import JiraState


def server_info(state: JiraState, req: JiraRequest) -> Response:
    return Response(
        200,
        {
            "baseUrl": req.base,
            "displayUrl": req.base,
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100280,
            "buildDate": "2025-01-01T00:00:00.000+0000",
            "serverTime": jtime(now()),
            "scmInfo": "devstack-emulator",
            "serverTitle": "Jira (devstack emulator)",
            "defaultLocale": {"locale": "en_US"},
            "serverTimeZone": "Etc/UTC",
        },
    )


def myself(state: JiraState, req: JiraRequest) -> Response:
    user = user_json(state, req.base)
    user.update(
        {
            "locale": "en_US",
            "groups": {"size": 1, "items": []},
            "applicationRoles": {"size": 1, "items": []},
        }
    )
    return Response(200, user)


def fields(state: JiraState, req: JiraRequest) -> Response:
    out = []
    for f in FIELD_DEFS:
        entry: dict[str, Any] = {
            "id": f.id,
            "key": f.id,
            "name": f.name,
            "custom": f.custom,
            "orderable": f.settable,
            "navigable": f.navigable,
            "searchable": bool(f.jql),
            "clauseNames": list(f.clauses),
            "schema": f.schema,
        }
        if f.custom:
            entry["untranslatedName"] = f.name
        out.append(entry)
    return Response(200, out)


def issuetypes(state: JiraState, req: JiraRequest) -> Response:
    return Response(200, [issuetype_json(t[0], req.base) for t in ISSUE_TYPES])


def priorities(state: JiraState, req: JiraRequest) -> Response:
    return Response(200, [priority_json(p[0], req.base) for p in PRIORITIES])


def resolutions(state: JiraState, req: JiraRequest) -> Response:
    return Response(200, [resolution_json(r[0], req.base) for r in RESOLUTIONS])


def statuses(state: JiraState, req: JiraRequest) -> Response:
    return Response(200, [status_json(s[0], req.base) for s in STATUSES])


def projects(state: JiraState, req: JiraRequest) -> Response:
    return Response(200, [project_json(state, k, req.base) for k in state.projects])


def project(state: JiraState, req: JiraRequest) -> Response:
    key = state.require_project(req.match["project"])
    return Response(200, project_json(state, key, req.base, full=True))


def _page(req: JiraRequest, items: list[Any], cloud_key: str) -> dict[str, Any]:
    start = int(req.param("startAt") or 0)
    size = int(req.param("maxResults") or 50)
    page = items[start : start + size]
    return {
        "startAt": start,
        "maxResults": size,
        "total": len(items),
        "isLast": start + size >= len(items),
        cloud_key: page,
        "values": page,
    }


def createmeta_types(state: JiraState, req: JiraRequest) -> Response:
    state.require_project(req.match["project"])
    types = [issuetype_json(t[0], req.base) for t in ISSUE_TYPES]
    return Response(200, _page(req, types, "issueTypes"))


def createmeta_fields(state: JiraState, req: JiraRequest) -> Response:
    key = state.require_project(req.match["project"])
    type_id = find_issuetype({"id": req.match["type"]})
    if type_id is None:
        raise HttpError(404, ["Issue type with id '" + req.match["type"] + "' not found."])
    out = [_create_field(state, f, key, type_id, req.base) for f in FIELD_DEFS if f.settable]
    return Response(200, _page(req, out, "fields"))


def _create_field(
    state: JiraState, f: FieldDef, project: str, type_id: str, base: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "required": f.id in REQUIRED_ON_CREATE or f.id in state.config.get("requiredFields", []),
        "schema": f.schema,
        "name": f.name,
        "key": f.id,
        "fieldId": f.id,
        "hasDefaultValue": f.id == "priority",
        "operations": ["set"] if f.id != "labels" else ["add", "set", "remove"],
    }
    if f.id == "project":
        entry["allowedValues"] = [project_json(state, project, base)]
    elif f.id == "issuetype":
        entry["allowedValues"] = [issuetype_json(type_id, base)]
    elif f.id == "priority":
        entry["allowedValues"] = [priority_json(p[0], base) for p in PRIORITIES]
        entry["defaultValue"] = priority_json(DEFAULT_PRIORITY, base)
    elif f.id == SEVERITY_FIELD:
        entry["allowedValues"] = [severity_json(oid, name, base) for oid, name in SEVERITY_OPTIONS]
    return entry


def link_types(state: JiraState, req: JiraRequest) -> Response:
    return Response(200, {"issueLinkTypes": [link_type_json(e, req.base) for e in LINK_TYPES]})


def link_type(state: JiraState, req: JiraRequest) -> Response:
    entry = find_link_type({"id": req.match["id"]})
    if entry is None:
        raise HttpError(404, ["No issue link type with id '" + req.match["id"] + "' found."])
    return Response(200, link_type_json(entry, req.base))


def applinks(state: JiraState, req: JiraRequest) -> Response:
    raise HttpError(404, ["Application links are not available on this site."])
