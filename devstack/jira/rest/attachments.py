"""Attachments: multipart upload (``X-Atlassian-Token: no-check``), metadata and content."""

from __future__ import annotations

import email.message
import email.utils
import mimetypes
from typing import Any
from urllib.parse import quote, unquote

from devstack.httpkit import Response
from devstack.jira.formats import jtime, now
from devstack.jira.protocol import HttpError, JiraRequest
from devstack.jira.render import user_json
from devstack.jira.state import JiraState


def parse_multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart/form-data body into (lower-cased headers, raw bytes) parts."""
    msg = email.message.Message()
    msg["content-type"] = content_type
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise HttpError(400, ["Missing multipart boundary."])
    delim = b"--" + boundary.encode()
    parts: list[tuple[dict[str, str], bytes]] = []
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, data))
    return parts


def _disposition_params(value: str) -> dict[str, str]:
    msg = email.message.Message()
    msg["content-disposition"] = value
    out: dict[str, str] = {}
    for key in ("name", "filename"):
        got = msg.get_param(key, header="content-disposition")
        if isinstance(got, tuple):
            got = email.utils.collapse_rfc2231_value(got)
        if isinstance(got, str):
            out[key] = unquote(got) if "%" in got else got
    return out


def add_attachments(state: JiraState, req: JiraRequest) -> Response:
    if (req.headers.get("X-Atlassian-Token") or "").lower() != "no-check":
        raise HttpError(403, ["XSRF check failed"])
    issue = state.get_issue(req.match["key"])
    ctype = req.headers.get("Content-Type") or ""
    if not ctype.lower().startswith("multipart/form-data"):
        raise HttpError(415, ["Content type must be multipart/form-data."])
    created = []
    at = now()
    for headers, data in parse_multipart(req.body, ctype):
        params = _disposition_params(headers.get("content-disposition", ""))
        if params.get("name") != "file":
            continue
        filename = params.get("filename") or "attachment"
        mime = (
            mimetypes.guess_type(filename)[0]
            or headers.get("content-type")
            or "application/octet-stream"
        )
        att_id = state.next_id()
        att_json = _attachment_json(state, att_id, filename, mime, len(data), at, req.base)
        issue["attachments"].append({"id": att_id, "json": att_json, "data": data})
        created.append(att_json)
    if not created:
        raise HttpError(400, ["No file was attached: expecting multipart part 'file'."])
    issue["updated"] = at
    return Response(200, created)


def _attachment_json(
    state: JiraState, att_id: str, filename: str, mime: str, size: int, at: Any, base: str
) -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/2/attachment/{att_id}",
        "id": att_id,
        "filename": filename,
        "author": user_json(state, base),
        "created": jtime(at),
        "size": size,
        "mimeType": mime,
        "content": f"{base}/secure/attachment/{att_id}/{quote(filename)}",
    }


def _find_attachment(state: JiraState, att_id: str) -> dict[str, Any]:
    for issue in state.issues.values():
        for att in issue["attachments"]:
            if att["id"] == att_id:
                return att
    raise HttpError(404, ["The attachment with id '" + att_id + "' does not exist"])


def get_attachment(state: JiraState, req: JiraRequest) -> Response:
    return Response(200, dict(_find_attachment(state, req.match["id"])["json"]))


def attachment_content(state: JiraState, req: JiraRequest) -> Response:
    att = _find_attachment(state, req.match["id"])
    return Response(200, body=att["data"], content_type=att["json"]["mimeType"])
