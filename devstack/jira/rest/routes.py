"""The REST routes: (method, path pattern, handler); ``v`` is the API version, ``key`` an issue
key or id."""

from __future__ import annotations

import re

from devstack.jira.protocol import Handler
from devstack.jira.rest import (
    attachments,
    comments,
    edit,
    issues,
    links,
    metadata,
    properties,
    search,
)

_API = r"/rest/api/(?P<v>2|3|latest)/"
_ISSUE = _API + r"issue/(?P<key>[^/]+)"
_CREATEMETA = _API + r"issue/createmeta/(?P<project>[^/]+)/issuetypes"

_TABLE: list[tuple[str, str, Handler]] = [
    ("GET", _API + "serverInfo", metadata.server_info),
    ("GET", _API + "myself", metadata.myself),
    ("GET", _API + "field", metadata.fields),
    ("GET", _API + "issuetype", metadata.issuetypes),
    ("GET", _API + "priority", metadata.priorities),
    ("GET", _API + "resolution", metadata.resolutions),
    ("GET", _API + "status", metadata.statuses),
    ("GET", _API + "project", metadata.projects),
    ("GET", _API + r"project/(?P<project>[^/]+)", metadata.project),
    ("GET", _CREATEMETA, metadata.createmeta_types),
    ("GET", _CREATEMETA + r"/(?P<type>[^/]+)", metadata.createmeta_fields),
    ("GET", _API + "issueLinkType", metadata.link_types),
    ("GET", _API + r"issueLinkType/(?P<id>[^/]+)", metadata.link_type),
    ("POST", _API + "issueLink", links.create_link),
    ("GET", _API + r"issueLink/(?P<id>[^/]+)", links.get_link),
    ("DELETE", _API + r"issueLink/(?P<id>[^/]+)", links.delete_link),
    ("POST", _API + "issue", issues.create_issue),
    ("GET", _ISSUE, issues.get_issue),
    ("PUT", _ISSUE, edit.edit_issue),
    ("DELETE", _ISSUE, issues.delete_issue),
    ("GET", _ISSUE + "/transitions", issues.get_transitions),
    ("POST", _ISSUE + "/transitions", issues.do_transition),
    ("GET", _ISSUE + "/comment", comments.get_comments),
    ("POST", _ISSUE + "/comment", comments.add_comment),
    ("GET", _ISSUE + r"/comment/(?P<id>[^/]+)", comments.get_comment),
    ("GET", _ISSUE + "/remotelink", links.get_remote_links),
    ("POST", _ISSUE + "/remotelink", links.add_remote_link),
    ("GET", _ISSUE + r"/remotelink/(?P<id>[^/]+)", links.get_remote_link),
    ("DELETE", _ISSUE + r"/remotelink/(?P<id>[^/]+)", links.delete_remote_link),
    ("POST", _ISSUE + "/attachments", attachments.add_attachments),
    ("GET", _API + r"attachment/(?P<id>\d+)", attachments.get_attachment),
    ("GET", r"/secure/attachment/(?P<id>\d+)/(?P<name>.*)", attachments.attachment_content),
    ("GET", _ISSUE + "/properties", properties.property_keys),
    ("GET", _ISSUE + r"/properties/(?P<prop>[^/]+)", properties.get_property),
    ("PUT", _ISSUE + r"/properties/(?P<prop>[^/]+)", properties.put_property),
    ("DELETE", _ISSUE + r"/properties/(?P<prop>[^/]+)", properties.delete_property),
    ("GET", _API + "search/jql", search.search_jql),
    ("POST", _API + "search/jql", search.search_jql),
    ("GET", _API + "search", search.search_legacy),
    ("POST", _API + "search", search.search_legacy),
    ("GET", r"/rest/applinks/[^/]+/listApplicationlinks", metadata.applinks),
]

ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(pattern), handler) for method, pattern, handler in _TABLE
]
