"""Issues, and what hangs off them, as Jira's REST API renders them (``base``: the URL the client
used; ``version``: "2" or "3", which decides how rich text looks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from devstack.jira.catalogue import (
    ISSUE_TYPES,
    SEVERITY_OPTIONS,
    issuetype_json,
    link_type_json,
    priority_json,
    resolution_json,
    severity_json,
    status_json,
)
from devstack.jira.fields import FIELDS_BY_ID, SEVERITY_FIELD, selected_fields
from devstack.jira.formats import jtime, render_rich, text_from_adf
from devstack.jira.state import JiraState
from devstack.jira.workflow import transitions_for

Issue = dict[str, Any]
_DATES = ("created", "updated", "resolutiondate", "statuscategorychangedate")
_LISTS = ("labels", "components", "fixVersions", "versions", "subtasks")


def user_json(state: JiraState, base: str, account_id: str | None = None) -> dict[str, Any]:
    account_id = account_id or state.account_id
    me = account_id == state.account_id
    user: dict[str, Any] = {
        "self": f"{base}/rest/api/2/user?accountId={quote(account_id)}",
        "accountId": account_id,
        "avatarUrls": {s: f"{base}/avatar/{s}.png" for s in ("48x48", "24x24", "16x16", "32x32")},
        "displayName": state.email.split("@")[0] if me else account_id,
        "active": True,
        "timeZone": "Etc/UTC",
        "accountType": "atlassian",
    }
    if me:
        user["emailAddress"] = state.email
    return user


def project_json(state: JiraState, key: str, base: str, full: bool = False) -> dict[str, Any]:
    proj = state.projects[key]
    out: dict[str, Any] = {
        "self": f"{base}/rest/api/2/project/{proj['id']}",
        "id": proj["id"],
        "key": key,
        "name": proj["name"],
        "projectTypeKey": "software",
        "simplified": False,
        "avatarUrls": {s: f"{base}/avatar/project/{s}.png" for s in ("48x48", "24x24")},
    }
    if full:
        out.update(
            {
                "description": "",
                "lead": user_json(state, base),
                "assigneeType": "UNASSIGNED",
                "style": "classic",
                "isPrivate": False,
                "components": [],
                "versions": [],
                "issueTypes": [issuetype_json(t[0], base) for t in ISSUE_TYPES],
                "roles": {},
                "properties": {},
            }
        )
    return out


# -------------------------------------------------------------------------------- fields


def _user_field(fid: str) -> Callable[[JiraState, Issue, str, str], Any]:
    def render(state: JiraState, issue: Issue, base: str, version: str) -> Any:
        acct = issue["fields"].get(fid)
        return user_json(state, base, acct) if acct else None

    return render


def _comment_page(state: JiraState, issue: Issue, base: str, version: str) -> dict[str, Any]:
    comments = [render_comment(state, issue, c, base, version) for c in issue["comments"]]
    return {
        "comments": comments,
        "self": f"{base}/rest/api/2/issue/{issue['id']}/comment",
        "maxResults": len(comments),
        "total": len(comments),
        "startAt": 0,
    }


def _parent(state: JiraState, issue: Issue, base: str, version: str) -> dict[str, Any] | None:
    pid = issue["fields"].get("parent")
    if not pid or pid not in state.issues:
        return None
    parent = state.issues[pid]
    return {
        "id": pid,
        "key": parent["key"],
        "self": f"{base}/rest/api/2/issue/{pid}",
        "fields": {
            "summary": parent["fields"]["summary"],
            "status": status_json(parent["status"], base),
        },
    }


def _severity(state: JiraState, issue: Issue, base: str, version: str) -> dict[str, Any] | None:
    oid = issue["fields"].get(SEVERITY_FIELD)
    for o_id, name in SEVERITY_OPTIONS:
        if o_id == oid:
            return severity_json(o_id, name, base)
    return None


_RENDERERS: dict[str, Callable[[JiraState, Issue, str, str], Any]] = {
    "project": lambda s, i, base, v: project_json(s, i["project"], base),
    "issuetype": lambda s, i, base, v: issuetype_json(i["fields"]["issuetype"], base),
    "status": lambda s, i, base, v: status_json(i["status"], base),
    "resolution": lambda s, i, base, v: resolution_json(i["resolution"], base),
    "priority": lambda s, i, base, v: priority_json(i["fields"].get("priority"), base),
    "description": lambda s, i, base, v: render_rich(i["fields"].get("description"), v),
    "environment": lambda s, i, base, v: render_rich(i["fields"].get("environment"), v),
    "assignee": _user_field("assignee"),
    "reporter": _user_field("reporter"),
    "creator": _user_field("creator"),
    "issuelinks": lambda s, i, base, v: render_links(s, i, base),
    "attachment": lambda s, i, base, v: [dict(a["json"]) for a in i["attachments"]],
    "comment": _comment_page,
    "parent": _parent,
    "watches": lambda s, i, base, v: {
        "self": f"{base}/rest/api/2/issue/{i['key']}/watchers",
        "watchCount": 1,
        "isWatching": True,
    },
    "workratio": lambda s, i, base, v: -1,
    SEVERITY_FIELD: _severity,
}


def render_field(state: JiraState, issue: Issue, fid: str, base: str, version: str) -> Any:
    render = _RENDERERS.get(fid)
    if render is not None:
        return render(state, issue, base, version)
    if fid in _DATES:
        return jtime(issue[fid])
    if fid in _LISTS:
        return list(issue["fields"].get(fid) or [])
    return issue["fields"].get(fid)


def display(value: Any) -> str | None:
    """A rendered field value as the changelog's ``fromString`` / ``toString`` shows it."""
    if value is None:
        return None
    if isinstance(value, list):
        return " ".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, dict):
        for key in ("name", "value", "displayName", "key"):
            if key in value:
                return str(value[key])
        return text_from_adf(value)
    return str(value)


# -------------------------------------------------------------------------------- links, comments


def render_links(state: JiraState, issue: Issue, base: str) -> list[dict[str, Any]]:
    out = []
    for link in state.links.values():
        if issue["id"] not in (link["inward"], link["outward"]):
            continue
        # Jira renders, on each side, the *other* issue: on the POSTed inwardIssue the entry
        # carries "outwardIssue" (read "<this> <outward verb> <other>") and vice versa.
        if link["inward"] == issue["id"]:
            other_id, side = link["outward"], "outwardIssue"
        else:
            other_id, side = link["inward"], "inwardIssue"
        other = state.issues.get(other_id)
        if other is None:
            continue
        out.append(
            {
                "id": link["id"],
                "self": f"{base}/rest/api/2/issueLink/{link['id']}",
                "type": link_type_json(link["type"], base),
                side: _linked_issue(other, base),
            }
        )
    return out


def _linked_issue(other: Issue, base: str) -> dict[str, Any]:
    return {
        "id": other["id"],
        "key": other["key"],
        "self": f"{base}/rest/api/2/issue/{other['id']}",
        "fields": {
            "summary": other["fields"]["summary"],
            "status": status_json(other["status"], base),
            "priority": priority_json(other["fields"].get("priority"), base),
            "issuetype": issuetype_json(other["fields"]["issuetype"], base),
        },
    }


def render_comment(
    state: JiraState, issue: Issue, comment: dict[str, Any], base: str, version: str
) -> dict[str, Any]:
    author = user_json(state, base)
    return {
        "self": f"{base}/rest/api/2/issue/{issue['id']}/comment/{comment['id']}",
        "id": comment["id"],
        "author": author,
        "body": render_rich(comment["body"], version),
        "updateAuthor": author,
        "created": jtime(comment["created"]),
        "updated": jtime(comment["updated"]),
        "jsdPublic": True,
    }


def render_remote_link(issue: Issue, link: dict[str, Any], base: str) -> dict[str, Any]:
    out = {
        "id": link["id"],
        "self": f"{base}/rest/api/2/issue/{issue['key']}/remotelink/{link['id']}",
        "application": link.get("application") or {},
        "object": link["object"],
    }
    if link.get("globalId") is not None:
        out["globalId"] = link["globalId"]
    if link.get("relationship") is not None:
        out["relationship"] = link["relationship"]
    return out


# -------------------------------------------------------------------------------- issues


def render_issue(
    state: JiraState,
    issue: Issue,
    base: str,
    version: str,
    wanted: list[str] | None,
    expand: list[str],
) -> dict[str, Any]:
    """The issue as ``GET issue/{key}?fields=<wanted>&expand=<expand>`` answers it."""
    out: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
        "versionedRepresentations",
        "id": issue["id"],
        "self": f"{base}/rest/api/{version}/issue/{issue['id']}",
        "key": issue["key"],
    }
    selected = selected_fields(wanted)
    if selected:
        out["fields"] = {fid: render_field(state, issue, fid, base, version) for fid in selected}
    if "changelog" in expand:
        histories = [dict(h, author=user_json(state, base)) for h in issue["histories"]]
        out["changelog"] = {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        }
    if "names" in expand:
        out["names"] = {fid: FIELDS_BY_ID[fid].name for fid in selected}
    if "transitions" in expand:
        out["transitions"] = transitions_for(issue, base)
    if "properties" in expand:
        out["properties"] = dict(issue["properties"])
    return out
