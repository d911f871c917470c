"""A Jira Cloud REST emulator, good enough for the real ``jira`` client (pycontribs).

Standard library only. Runs in a background thread (``JiraEmulator(...).start()``) or standalone::

    python -m devstack.jira_emulator --port 8001 --email dev@example.com --token dev-token \
        --webhook-url http://127.0.0.1:8000/v1/webhooks/jira --webhook-secret s3cret --project KP

REST (Basic auth ``email:api_token`` on every ``/rest`` and ``/secure`` call, else 401 JSON). Paths
accept ``/rest/api/2``, ``/rest/api/3`` and ``/rest/api/latest``; v3 renders ``description`` and
comment bodies as ADF and accepts ADF on input:

- ``GET serverInfo``, ``GET myself``, ``GET field``, ``GET issuetype``, ``GET priority``,
  ``GET resolution``, ``GET status``, ``GET project``, ``GET project/{key}``
- ``GET issue/createmeta/{project}/issuetypes[/{id}]``
- ``GET issueLinkType[/{id}]``, ``POST issueLink``, ``GET/DELETE issueLink/{id}``
- ``POST issue``, ``GET/PUT/DELETE issue/{key}``, ``GET/POST issue/{key}/transitions``,
  ``GET/POST issue/{key}/comment``, ``GET issue/{key}/comment/{id}``,
  ``GET/POST issue/{key}/remotelink`` (``globalId`` upserts), ``GET/DELETE .../remotelink/{id}``,
  ``POST issue/{key}/attachments`` (needs ``X-Atlassian-Token: no-check``), ``GET attachment/{id}``,
  ``GET /secure/attachment/{id}/{name}``,
  ``GET issue/{key}/properties``, ``GET/PUT/DELETE issue/{key}/properties/{propertyKey}``
- ``GET/POST search/jql`` (token paging, default fields = id only, like Cloud) and
  ``GET/POST search`` (legacy startAt paging; ``legacySearch: "gone"`` makes it 410 like Cloud now)
- ``GET /rest/applinks/latest/listApplicationlinks`` -> 404

Admin (no auth), all JSON:

- ``GET/DELETE /_emulator/requests`` -- recorded REST calls (method, path, query, params, json, ...)
- ``GET/POST/DELETE /_emulator/faults`` -- ``{"mode": "429"|"503"|any status|"slow"|"reset"|
  "create_then_timeout", "count": 1, "retryAfter": 1, "seconds": 2,
  "match": "POST /rest/api/2/issue"}`` (count < 0: until cleared)
- ``GET/DELETE /_emulator/webhooks``, ``POST /_emulator/webhooks/{identifier}/redeliver``
- ``GET/POST /_emulator/config`` -- ``webhookUrl``, ``webhookSecret``, ``webhookRetries``,
  ``webhookBackoff``, ``webhookTimeout``, ``webhookDuplicate``, ``webhookOnCreate``,
  ``searchLagSeconds``, ``legacySearch``
- ``GET /_emulator/issues``, ``POST /_emulator/issues/{key}/transition`` (``{"to": "Done",
  "resolution": "Won't Fix"}``, as a person in the Jira UI would), ``POST /_emulator/reset``,
  ``GET /_emulator/health``
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import email.message
import email.utils
import hashlib
import hmac
import json
import logging
import mimetypes
import queue
import re
import signal
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

LOG = logging.getLogger("devstack.jira_emulator")

# --------------------------------------------------------------------------------------------
# Static catalogue
# --------------------------------------------------------------------------------------------

STATUS_CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}

# (status id, name, category key, transition id)
STATUSES: list[tuple[str, str, str, str]] = [
    ("10000", "To Do", "new", "11"),
    ("3", "In Progress", "indeterminate", "21"),
    ("10003", "Done", "done", "31"),
    ("10001", "Deferred", "indeterminate", "41"),
    ("10002", "Blocked", "indeterminate", "51"),
    ("4", "Reopened", "new", "61"),
]
INITIAL_STATUS = "10000"

RESOLUTIONS: list[tuple[str, str, str]] = [
    ("10000", "Done", "Work has been completed on this issue."),
    ("10001", "Won't Fix", "This issue won't be actioned."),
    ("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
    ("10003", "Cannot Reproduce", "This issue couldn't be reproduced."),
]

ISSUE_TYPES: list[tuple[str, str, str]] = [
    ("10004", "Bug", "A problem or error."),
    ("10002", "Task", "A small, distinct piece of work."),
    ("10001", "Story", "A user story."),
    ("10005", "Test", "A test case."),
    ("10006", "Test Execution", "An execution of test cases."),
]

PRIORITIES: list[tuple[str, str]] = [
    ("1", "Highest"),
    ("2", "High"),
    ("3", "Medium"),
    ("4", "Low"),
    ("5", "Lowest"),
]
DEFAULT_PRIORITY = "3"

# (id, name, inward, outward)
LINK_TYPES: list[tuple[str, str, str, str]] = [
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
    ("10004", "Tests", "is tested by", "tests"),
    ("10005", "Defect", "is caused by", "causes"),
]

TEST_CASE_FIELD = "customfield_10100"
SEVERITY_FIELD = "customfield_10101"
SEVERITY_OPTIONS: list[tuple[str, str]] = [
    ("10200", "Blocker"),
    ("10201", "Critical"),
    ("10202", "Major"),
    ("10203", "Minor"),
    ("10204", "Trivial"),
]


@dataclass(frozen=True)
class _FieldDef:
    id: str
    name: str
    schema: dict[str, Any]
    jql: str | None  # "text", "value", "date", "user", "key" or None (not searchable)
    clauses: tuple[str, ...]
    settable: bool = False
    custom: bool = False
    navigable: bool = True


FIELD_DEFS: list[_FieldDef] = [
    _FieldDef("issuekey", "Key", {}, "key", ("id", "issue", "issuekey", "key")),
    _FieldDef(
        "summary",
        "Summary",
        {"type": "string", "system": "summary"},
        "text",
        ("summary",),
        settable=True,
    ),
    _FieldDef(
        "description",
        "Description",
        {"type": "string", "system": "description"},
        "text",
        ("description",),
        settable=True,
    ),
    _FieldDef(
        "environment",
        "Environment",
        {"type": "string", "system": "environment"},
        "text",
        ("environment",),
        settable=True,
    ),
    _FieldDef(
        "issuetype",
        "Issue Type",
        {"type": "issuetype", "system": "issuetype"},
        "value",
        ("issuetype", "type"),
        settable=True,
    ),
    _FieldDef(
        "project",
        "Project",
        {"type": "project", "system": "project"},
        "value",
        ("project",),
        settable=True,
    ),
    _FieldDef(
        "priority",
        "Priority",
        {"type": "priority", "system": "priority"},
        "value",
        ("priority",),
        settable=True,
    ),
    _FieldDef(
        "labels",
        "Labels",
        {"type": "array", "items": "string", "system": "labels"},
        "value",
        ("labels",),
        settable=True,
    ),
    _FieldDef("status", "Status", {"type": "status", "system": "status"}, "value", ("status",)),
    _FieldDef(
        "statusCategory",
        "Status Category",
        {"type": "statusCategory"},
        "value",
        ("statusCategory",),
        navigable=False,
    ),
    _FieldDef(
        "resolution",
        "Resolution",
        {"type": "resolution", "system": "resolution"},
        "value",
        ("resolution",),
    ),
    _FieldDef(
        "resolutiondate",
        "Resolved",
        {"type": "datetime", "system": "resolutiondate"},
        "date",
        ("resolutiondate", "resolved"),
    ),
    _FieldDef(
        "created",
        "Created",
        {"type": "datetime", "system": "created"},
        "date",
        ("created", "createdDate"),
    ),
    _FieldDef(
        "updated",
        "Updated",
        {"type": "datetime", "system": "updated"},
        "date",
        ("updated", "updatedDate"),
    ),
    _FieldDef(
        "statuscategorychangedate",
        "Status Category Changed",
        {"type": "datetime", "system": "statuscategorychangedate"},
        "date",
        ("statusCategoryChangedDate",),
    ),
    _FieldDef(
        "assignee",
        "Assignee",
        {"type": "user", "system": "assignee"},
        "user",
        ("assignee",),
        settable=True,
    ),
    _FieldDef(
        "reporter",
        "Reporter",
        {"type": "user", "system": "reporter"},
        "user",
        ("reporter",),
        settable=True,
    ),
    _FieldDef("creator", "Creator", {"type": "user", "system": "creator"}, "user", ("creator",)),
    _FieldDef(
        "components",
        "Components",
        {"type": "array", "items": "component", "system": "components"},
        "value",
        ("component",),
        settable=True,
    ),
    _FieldDef(
        "fixVersions",
        "Fix versions",
        {"type": "array", "items": "version", "system": "fixVersions"},
        "value",
        ("fixVersion",),
        settable=True,
    ),
    _FieldDef(
        "versions",
        "Affects versions",
        {"type": "array", "items": "version", "system": "versions"},
        "value",
        ("affectedVersion",),
        settable=True,
    ),
    _FieldDef(
        "duedate",
        "Due date",
        {"type": "date", "system": "duedate"},
        "date",
        ("due", "duedate"),
        settable=True,
    ),
    _FieldDef(
        "parent",
        "Parent",
        {"type": "issuelink", "system": "parent"},
        "key",
        ("parent",),
        settable=True,
    ),
    _FieldDef(
        "issuelinks",
        "Linked Issues",
        {"type": "array", "items": "issuelinks", "system": "issuelinks"},
        None,
        ("issueLink",),
    ),
    _FieldDef(
        "subtasks",
        "Sub-tasks",
        {"type": "array", "items": "issuelinks", "system": "subtasks"},
        None,
        ("subtasks",),
    ),
    _FieldDef(
        "attachment",
        "Attachment",
        {"type": "array", "items": "attachment", "system": "attachment"},
        None,
        ("attachments",),
    ),
    _FieldDef(
        "comment",
        "Comment",
        {"type": "comments-page", "system": "comment"},
        "text",
        ("comment",),
        navigable=False,
    ),
    _FieldDef("watches", "Watchers", {"type": "watches", "system": "watches"}, None, ("watchers",)),
    _FieldDef(
        "lastViewed",
        "Last Viewed",
        {"type": "datetime", "system": "lastViewed"},
        None,
        ("lastViewed",),
    ),
    _FieldDef(
        "workratio", "Work Ratio", {"type": "number", "system": "workratio"}, None, ("workratio",)
    ),
    _FieldDef(
        TEST_CASE_FIELD,
        "Test Case ID",
        {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
            "customId": 10100,
        },
        "text",
        ("cf[10100]", "Test Case ID"),
        settable=True,
        custom=True,
    ),
    _FieldDef(
        SEVERITY_FIELD,
        "Severity",
        {
            "type": "option",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
            "customId": 10101,
        },
        "value",
        ("cf[10101]", "Severity"),
        settable=True,
        custom=True,
    ),
]
FIELDS_BY_ID: dict[str, _FieldDef] = {f.id: f for f in FIELD_DEFS}
_CREATE_ONLY = {"project", "issuetype"}
_REQUIRED_ON_CREATE = ("summary", "issuetype", "project")

_JIRA_TIME = "%Y-%m-%dT%H:%M:%S"


def _now() -> datetime:
    return datetime.now(UTC)


def _jtime(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.strftime(_JIRA_TIME) + f".{dt.microsecond // 1000:03d}+0000"


# --------------------------------------------------------------------------------------------
# Errors, requests, responses
# --------------------------------------------------------------------------------------------


class HttpError(Exception):
    """An error answered to the client in Jira's ``errorMessages`` / ``errors`` shape."""

    def __init__(
        self,
        status: int,
        messages: Iterable[str] = (),
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.payload = {"errorMessages": list(messages), "errors": dict(errors or {})}
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {self.payload}")


@dataclass
class Request:
    method: str
    path: str
    query: str
    params: dict[str, list[str]]
    headers: Any
    body: bytes
    base: str
    version: str = "2"
    match: dict[str, str] = field(default_factory=dict)
    _json: Any = None
    _json_done: bool = False

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def list_param(self, name: str) -> list[str]:
        out: list[str] = []
        for value in self.params.get(name, []):
            out.extend(v.strip() for v in value.split(",") if v.strip())
        return out

    def json(self, required: bool = True) -> Any:
        if not self._json_done:
            self._json_done = True
            if self.body.strip():
                try:
                    self._json = json.loads(self.body)
                except ValueError:
                    raise HttpError(
                        400, ["Unexpected character in request body: invalid JSON."]
                    ) from None
        if self._json is None and required:
            raise HttpError(400, ["No content to map due to end-of-input"])
        return self._json


@dataclass
class Response:
    status: int = 200
    payload: Any = None
    body: bytes | None = None
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is not None:
            return self.body
        if self.payload is None:
            return b""
        return json.dumps(self.payload).encode()


@dataclass
class Fault:
    mode: str
    count: int = 1  # < 0: unlimited
    seconds: float = 0.0
    retry_after: str | None = None
    match: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.match:
            want_method, _, prefix = self.match.strip().partition(" ")
            if not prefix:  # only a path given
                want_method, prefix = "*", want_method
            if want_method not in ("*", method.upper()):
                return False
            return path.startswith(prefix.strip())
        if self.mode == "create_then_timeout":
            return method == "POST" and bool(re.fullmatch(r"/rest/api/[^/]+/issue(/bulk)?/?", path))
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "count": self.count,
            "seconds": self.seconds,
            "retryAfter": self.retry_after,
            "match": self.match,
        }


# --------------------------------------------------------------------------------------------
# ADF helpers (v3 bodies)
# --------------------------------------------------------------------------------------------


def adf_from_text(text: str) -> dict[str, Any]:
    paragraphs = []
    for line in text.split("\n"):
        content = [{"type": "text", "text": line}] if line else []
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def text_from_adf(node: Any) -> str:
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    parts = [text_from_adf(child) for child in node.get("content", []) or []]
    sep = "\n" if node.get("type") in ("doc", "bulletList", "orderedList") else ""
    return sep.join(parts)


def _render_rich(value: Any, version: str) -> Any:
    if value is None:
        return None
    if version == "3":
        return value if isinstance(value, dict) else adf_from_text(str(value))
    return value if isinstance(value, str) else text_from_adf(value)


# --------------------------------------------------------------------------------------------
# JQL (a useful subset)
# --------------------------------------------------------------------------------------------


class JqlError(Exception):
    pass


_JQL_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|!~|>=|<=|=|~|>|<)
      | (?P<punct>[(),])
      | (?P<word>[^\s=!~<>(),"']+)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}


@dataclass
class _Tok:
    kind: str  # str, op, punct, word, kw, end
    text: str


def _tokenize(jql: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    jql = jql.strip()
    while pos < len(jql):
        m = _JQL_TOKEN.match(jql, pos)
        if not m or m.end() == pos:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {pos}.")
        pos = m.end()
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            toks.append(_Tok("str", re.sub(r"\\(.)", r"\1", raw)))
        elif m.group("op") is not None:
            toks.append(_Tok("op", m.group("op")))
        elif m.group("punct") is not None:
            toks.append(_Tok("punct", m.group("punct")))
        elif m.group("word") is not None:
            word = m.group("word")
            if word.lower() in ("&&", "||"):
                word = "and" if word == "&&" else "or"
            kind = "kw" if word.lower() in _KEYWORDS else "word"
            toks.append(_Tok(kind, word))
    toks.append(_Tok("end", ""))
    return toks


@dataclass
class _Value:
    text: str | None  # None: EMPTY
    func: str | None = None


@dataclass
class _Clause:
    field: str
    op: str
    values: list[_Value]


@dataclass
class _BoolNode:
    op: str  # and, or, not
    children: list[Any]


class _JqlParser:
    def __init__(self, jql: str) -> None:
        self.toks = _tokenize(jql)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "kw" and tok.text.lower() in words

    def parse(self) -> tuple[Any | None, list[tuple[str, bool]]]:
        tree = None
        if not self.is_kw("order") and self.peek().kind != "end":
            tree = self.parse_or()
        order: list[tuple[str, bool]] = []
        if self.is_kw("order"):
            self.take()
            if not self.is_kw("by"):
                raise JqlError("Error in the JQL Query: expecting 'by' after 'order'.")
            self.take()
            while True:
                tok = self.take()
                if tok.kind not in ("word", "str"):
                    raise JqlError("Error in the JQL Query: expecting a field name in ORDER BY.")
                desc = False
                if self.is_kw("asc", "desc"):
                    desc = self.take().text.lower() == "desc"
                order.append((tok.text, desc))
                if self.peek().kind == "punct" and self.peek().text == ",":
                    self.take()
                    continue
                break
        if self.peek().kind != "end":
            raise JqlError(f"Error in the JQL Query: unexpected '{self.peek().text}'.")
        return tree, order

    def parse_or(self) -> Any:
        node = self.parse_and()
        children = [node]
        while self.is_kw("or"):
            self.take()
            children.append(self.parse_and())
        return node if len(children) == 1 else _BoolNode("or", children)

    def parse_and(self) -> Any:
        children = [self.parse_not()]
        while self.is_kw("and"):
            self.take()
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else _BoolNode("and", children)

    def parse_not(self) -> Any:
        if self.is_kw("not"):
            self.take()
            return _BoolNode("not", [self.parse_not()])
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            self.take()
            node = self.parse_or()
            if self.take().text != ")":
                raise JqlError("Error in the JQL Query: expecting ')'.")
            return node
        return self.parse_clause()

    def parse_clause(self) -> _Clause:
        tok = self.take()
        if tok.kind not in ("word", "str"):
            raise JqlError(f"Error in the JQL Query: expecting a field name but got '{tok.text}'.")
        fname = tok.text
        op_tok = self.take()
        if op_tok.kind == "op":
            op = op_tok.text
        elif op_tok.kind == "kw" and op_tok.text.lower() == "in":
            op = "in"
        elif op_tok.kind == "kw" and op_tok.text.lower() == "not" and self.is_kw("in"):
            self.take()
            op = "not in"
        elif op_tok.kind == "kw" and op_tok.text.lower() == "is":
            op = "is"
            if self.is_kw("not"):
                self.take()
                op = "is not"
        else:
            raise JqlError(
                f"Error in the JQL Query: expecting an operator after '{fname}' "
                f"but got '{op_tok.text}'."
            )
        if op in ("in", "not in"):
            if self.take().text != "(":
                raise JqlError("Error in the JQL Query: expecting '(' after IN.")
            values = [self.parse_value()]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                values.append(self.parse_value())
            if self.take().text != ")":
                raise JqlError("Error in the JQL Query: expecting ')'.")
        else:
            values = [self.parse_value()]
        if op in ("is", "is not") and values[0].text is not None:
            raise JqlError("Error in the JQL Query: IS only takes EMPTY or NULL.")
        return _Clause(fname, op, values)

    def parse_value(self) -> _Value:
        tok = self.take()
        if tok.kind == "kw" and tok.text.lower() in ("empty", "null"):
            return _Value(None)
        if tok.kind == "str":
            return _Value(tok.text)
        if tok.kind == "word":
            if self.peek().kind == "punct" and self.peek().text == "(":
                self.take()
                while not (self.peek().kind == "punct" and self.peek().text == ")"):
                    if self.peek().kind == "end":
                        raise JqlError("Error in the JQL Query: unterminated function call.")
                    self.take()
                self.take()
                return _Value(tok.text, func=tok.text.lower())
            return _Value(tok.text)
        raise JqlError(f"Error in the JQL Query: expecting a value but got '{tok.text}'.")


_REL_DATE = re.compile(r"^([+-]?)((?:\d+[wdhm])+)$", re.I)


def _parse_jql_date(text: str) -> datetime:
    text = text.strip()
    m = _REL_DATE.match(text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        total = timedelta()
        for num, unit in re.findall(r"(\d+)([wdhm])", m.group(2).lower()):
            mult = {
                "w": timedelta(weeks=1),
                "d": timedelta(days=1),
                "h": timedelta(hours=1),
                "m": timedelta(minutes=1),
            }[unit]
            total += int(num) * mult
        return _now() + sign * total
    for fmt in ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{text}' for field is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
        "or a period format e.g. '-5d', '4w 2d'."
    )


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], app: Any) -> None:
        self.app = app
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add
        # ~40 ms to every keep-alive request.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s - %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        try:
            self.server.app._serve(self)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch  # noqa: N815

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline().strip().split(b";")[0]
                size = int(size_line or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def write_response(self, resp: Response) -> None:
        body = resp.encoded()
        self.send_response(resp.status)
        if body or resp.status not in (204, 304):
            self.send_header("Content-Type", resp.content_type)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    def reset_connection(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()


def _host_base(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


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


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------


Handler = Callable[[Request], Response]


class JiraEmulator:
    """In-memory Jira Cloud. ``start()`` serves in a daemon thread; ``stop()`` shuts it down."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        email: str,
        api_token: str,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        projects: Iterable[str] = ("KP",),
    ) -> None:
        self.host = host
        self.port = port
        self.email = email
        self.api_token = api_token
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wh_thread: threading.Thread | None = None
        self._wh_queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.config: dict[str, Any] = {
            "webhookUrl": webhook_url,
            "webhookSecret": webhook_secret,
            "webhookRetries": 3,
            "webhookBackoff": 0.2,
            "webhookTimeout": 5.0,
            "webhookDuplicate": False,
            "webhookOnCreate": False,
            "searchLagSeconds": 0.0,
            "legacySearch": "ok",
            "requiredFields": [],  # field ids a site's screen makes required on create
        }
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        self.account_id = "557058:" + str(uuid.UUID(digest))
        self._project_keys = [p.upper() for p in projects]
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._build_routes()
        self._reset_state()

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            return _host_base(self.host, self.port)
        return _host_base(self.host, self._server.server_address[1])

    def start(self) -> JiraEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"jira-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._wh_thread = threading.Thread(
            target=self._webhook_worker, name="jira-emulator-webhooks", daemon=True
        )
        self._wh_thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._wh_queue.put(None)
        for thread in (self._thread, self._wh_thread):
            if thread is not None:
                thread.join(timeout=5)
        self._thread = self._wh_thread = None

    def __enter__(self) -> JiraEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- programmatic admin

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._requests]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def add_fault(
        self,
        mode: str | int,
        count: int = 1,
        *,
        seconds: float = 0.0,
        retry_after: Any = None,
        match: str | None = None,
    ) -> None:
        fault = Fault(
            str(mode),
            int(count),
            float(seconds),
            None if retry_after is None else str(retry_after),
            match,
        )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(json.dumps(d)) for d in self._deliveries]

    def clear_webhooks(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def wait_webhooks_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued webhook delivery has finished (delivered or given up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._wh_queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def set_config(self, **changes: Any) -> dict[str, Any]:
        """Change settings; accepts camelCase keys (``webhookUrl``) or snake_case."""
        with self._lock:
            for key, value in changes.items():
                camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
                if camel not in self.config:
                    raise KeyError(f"unknown config key {key!r}")
                self.config[camel] = value
            return dict(self.config)

    def reset(self) -> None:
        """Forget issues, links, requests, faults and deliveries (keeps config and projects)."""
        self._reset_state()

    def issue(self, key: str) -> dict[str, Any]:
        """The issue as ``GET /rest/api/2/issue/{key}`` would render it."""
        with self._lock:
            return self._render_issue(self._get_issue(key), self.url, "2", None, ["changelog"])

    def transition(self, key: str, to: str, resolution: str | None = None) -> None:
        """Move an issue as a person in the Jira UI would (fires the webhook)."""
        with self._lock:
            issue = self._get_issue(key)
            status = self._status_by_name(to)
            if status is None:
                raise KeyError(f"unknown status {to!r}")
            fields = {"resolution": {"name": resolution}} if resolution else {}
            self._apply_transition(issue, status[0], fields, self.url)

    # ---------------------------------------------------------------- state

    def _reset_state(self) -> None:
        with self._lock:
            self._projects: dict[str, dict[str, Any]] = {}
            for n, key in enumerate(self._project_keys):
                self._projects[key] = {
                    "id": str(10000 + n),
                    "key": key,
                    "name": f"{key} project",
                    "counter": 0,
                }
            self._issues: dict[str, dict[str, Any]] = {}  # id -> issue
            self._keys: dict[str, str] = {}  # KEY -> id
            self._links: dict[str, dict[str, Any]] = {}
            self._requests: list[dict[str, Any]] = []
            self._faults: list[Fault] = []
            self._deliveries: list[dict[str, Any]] = []
            self._seq = 10000
            self._history_seq = 10000

    def _next_id(self) -> str:
        self._seq += 1
        return str(self._seq)

    def _user(self, base: str, account_id: str | None = None) -> dict[str, Any]:
        account_id = account_id or self.account_id
        me = account_id == self.account_id
        user: dict[str, Any] = {
            "self": f"{base}/rest/api/2/user?accountId={quote(account_id)}",
            "accountId": account_id,
            "avatarUrls": {
                s: f"{base}/avatar/{s}.png" for s in ("48x48", "24x24", "16x16", "32x32")
            },
            "displayName": self.email.split("@")[0] if me else account_id,
            "active": True,
            "timeZone": "Etc/UTC",
            "accountType": "atlassian",
        }
        if me:
            user["emailAddress"] = self.email
        return user

    def _status(self, status_id: str, base: str) -> dict[str, Any]:
        for sid, name, cat, _tid in STATUSES:
            if sid == status_id:
                category = dict(STATUS_CATEGORIES[cat])
                category["self"] = f"{base}/rest/api/2/statuscategory/{category['id']}"
                return {
                    "self": f"{base}/rest/api/2/status/{sid}",
                    "description": "",
                    "iconUrl": f"{base}/images/icons/statuses/generic.png",
                    "name": name,
                    "id": sid,
                    "statusCategory": category,
                }
        raise KeyError(status_id)

    @staticmethod
    def _status_by_name(name: str) -> tuple[str, str, str, str] | None:
        for entry in STATUSES:
            if entry[1].lower() == name.lower() or entry[0] == name:
                return entry
        return None

    @staticmethod
    def _status_category(status_id: str) -> str:
        return next(cat for sid, _n, cat, _t in STATUSES if sid == status_id)

    def _resolution(self, res_id: str | None, base: str) -> dict[str, Any] | None:
        for rid, name, desc in RESOLUTIONS:
            if rid == res_id:
                return {
                    "self": f"{base}/rest/api/2/resolution/{rid}",
                    "id": rid,
                    "description": desc,
                    "name": name,
                }
        return None

    @staticmethod
    def _find_resolution(value: Any) -> str | None:
        if isinstance(value, dict):
            wanted_id, wanted_name = value.get("id"), value.get("name")
        else:
            wanted_id, wanted_name = None, value
        for rid, name, _d in RESOLUTIONS:
            if (wanted_id is not None and str(wanted_id) == rid) or (
                isinstance(wanted_name, str) and wanted_name.lower() == name.lower()
            ):
                return rid
        return None

    def _issuetype(self, type_id: str, base: str) -> dict[str, Any]:
        for tid, name, desc in ISSUE_TYPES:
            if tid == type_id:
                return {
                    "self": f"{base}/rest/api/2/issuetype/{tid}",
                    "id": tid,
                    "description": desc,
                    "iconUrl": f"{base}/images/icons/{tid}.svg",
                    "name": name,
                    "subtask": False,
                    "avatarId": int(tid),
                    "hierarchyLevel": 0,
                }
        raise KeyError(type_id)

    def _priority(self, pid: str | None, base: str) -> dict[str, Any] | None:
        for p_id, name in PRIORITIES:
            if p_id == pid:
                return {
                    "self": f"{base}/rest/api/2/priority/{p_id}",
                    "iconUrl": f"{base}/images/icons/priorities/{name.lower()}.svg",
                    "name": name,
                    "id": p_id,
                }
        return None

    def _project(self, key: str, base: str, full: bool = False) -> dict[str, Any]:
        proj = self._projects[key]
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
                    "lead": self._user(base),
                    "assigneeType": "UNASSIGNED",
                    "style": "classic",
                    "isPrivate": False,
                    "components": [],
                    "versions": [],
                    "issueTypes": [self._issuetype(t[0], base) for t in ISSUE_TYPES],
                    "roles": {},
                    "properties": {},
                }
            )
        return out

    def _find_project(self, ref: Any) -> str | None:
        if isinstance(ref, dict):
            ref = ref.get("key") or ref.get("id")
        if ref is None:
            return None
        ref = str(ref)
        for key, proj in self._projects.items():
            if ref.upper() == key or ref == proj["id"]:
                return key
        return None

    @staticmethod
    def _find_issuetype(ref: Any) -> str | None:
        if isinstance(ref, dict):
            wanted_id, wanted_name = ref.get("id"), ref.get("name")
        else:
            wanted_id, wanted_name = ref, ref
        for tid, name, _d in ISSUE_TYPES:
            if (wanted_id is not None and str(wanted_id) == tid) or (
                isinstance(wanted_name, str) and wanted_name.lower() == name.lower()
            ):
                return tid
        return None

    def _get_issue(self, ref: str) -> dict[str, Any]:
        issue_id = self._keys.get(ref.upper(), ref)
        issue = self._issues.get(issue_id)
        if issue is None:
            raise HttpError(404, ["Issue does not exist or you do not have permission to see it."])
        return issue

    def _link_type(self, ref: Any) -> tuple[str, str, str, str] | None:
        if not isinstance(ref, dict):
            return None
        for entry in LINK_TYPES:
            if (ref.get("id") is not None and str(ref["id"]) == entry[0]) or (
                ref.get("name") is not None and ref["name"] == entry[1]
            ):
                return entry
        return None

    @staticmethod
    def _link_type_json(entry: tuple[str, str, str, str], base: str) -> dict[str, Any]:
        lid, name, inward, outward = entry
        return {
            "id": lid,
            "name": name,
            "inward": inward,
            "outward": outward,
            "self": f"{base}/rest/api/2/issueLinkType/{lid}",
        }

    # ---------------------------------------------------------------- field values

    def _normalize_fields(
        self,
        fields: dict[str, Any],
        version: str,
        *,
        creating: bool,
        issue: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Validate incoming field values; return (internal values, errors)."""
        out: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for fid, value in fields.items():
            fdef = FIELDS_BY_ID.get(fid)
            if fdef is None or not fdef.settable or (not creating and fid in _CREATE_ONLY):
                errors[fid] = (
                    f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
                )
                continue
            try:
                out[fid] = self._normalize_value(fid, value, version)
            except ValueError as e:
                errors[fid] = str(e)
        if creating:
            for fid in (*_REQUIRED_ON_CREATE, *self.config.get("requiredFields", [])):
                if fid not in out and fid not in errors:
                    errors[fid] = {
                        "summary": "You must specify a summary of the issue.",
                        "issuetype": "Specify an issue type",
                        "project": "Specify a valid project ID or key",
                    }.get(fid, f"{fid} is required.")
        return out, errors

    def _normalize_value(self, fid: str, value: Any, version: str) -> Any:
        if fid == "summary":
            if not isinstance(value, str):
                raise ValueError("Operation value must be a string")
            if not value.strip():
                raise ValueError("You must specify a summary of the issue.")
            if "\n" in value or "\r" in value:
                raise ValueError("The summary is invalid because it contains newline characters.")
            if len(value) > 255:
                raise ValueError("Summary must be less than 255 characters.")
            return value
        if fid in ("description", "environment"):
            if value is None:
                return None
            if isinstance(value, str) and version != "3":
                return value
            if isinstance(value, dict) and version == "3" and value.get("type") == "doc":
                return value
            if version == "3":
                raise ValueError(
                    "Operation value must be an Atlassian Document (see the "
                    "Atlassian Document Format)"
                )
            raise ValueError("Operation value must be a string")
        if fid == "project":
            key = self._find_project(value)
            if key is None:
                raise ValueError("Specify a valid project ID or key")
            return key
        if fid == "issuetype":
            tid = self._find_issuetype(value)
            if tid is None:
                raise ValueError("Specify a valid issue type")
            return tid
        if fid == "priority":
            if value is None:
                return DEFAULT_PRIORITY
            ref = value if isinstance(value, dict) else {}
            for pid, name in PRIORITIES:
                if str(ref.get("id")) == pid or str(ref.get("name", "")).lower() == name.lower():
                    return pid
            raise ValueError("Specify a valid 'id' or 'name' for Priority")
        if fid == "labels":
            if value is None:
                return []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError("Operation value must be an array of strings")
            for label in value:
                self._check_label(label)
            return list(dict.fromkeys(value))
        if fid in ("assignee", "reporter"):
            if value is None:
                return None
            if isinstance(value, dict) and isinstance(value.get("accountId"), str):
                return value["accountId"]
            raise ValueError("Specify a valid value for " + fid + " (accountId)")
        if fid in ("components", "fixVersions", "versions"):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ValueError(f"Operation value for {fid} must be an array of objects")
            return [{"name": v.get("name"), "id": str(v.get("id", ""))} for v in value]
        if fid == "duedate":
            if value is None:
                return None
            try:
                datetime.strptime(str(value), "%Y-%m-%d")
            except ValueError:
                raise ValueError("Error parsing date string: " + str(value)) from None
            return str(value)
        if fid == "parent":
            parent = (value.get("key") or value.get("id")) if isinstance(value, dict) else None
            if not parent:
                raise ValueError("Could not find issue by id or key.")
            try:
                return self._get_issue(str(parent))["id"]
            except HttpError:
                raise ValueError("Could not find issue by id or key.") from None
        if fid == TEST_CASE_FIELD:
            if value is not None and not isinstance(value, str):
                raise ValueError("Operation value must be a string")
            if value is not None and len(value) > 255:
                raise ValueError(
                    "The entered text is too long. It exceeds the allowed limit of 255 characters."
                )
            return value
        if fid == SEVERITY_FIELD:
            if value is None:
                return None
            if isinstance(value, dict):
                for oid, name in SEVERITY_OPTIONS:
                    if str(value.get("id")) == oid or value.get("value") == name:
                        return oid
            raise ValueError("Specify a valid 'id' or 'name' for Severity")
        raise ValueError(f"Field '{fid}' cannot be set.")  # pragma: no cover

    @staticmethod
    def _check_label(label: str) -> None:
        if not label:
            raise ValueError("Labels cannot be empty.")
        if any(c.isspace() for c in label):
            raise ValueError(f"The label '{label}' contains spaces which is invalid.")
        if len(label) > 255:
            raise ValueError("The label must not exceed 255 characters.")

    def _render_field(self, issue: dict[str, Any], fid: str, base: str, version: str) -> Any:
        f = issue["fields"]
        if fid == "project":
            return self._project(issue["project"], base)
        if fid == "issuetype":
            return self._issuetype(f["issuetype"], base)
        if fid == "status":
            return self._status(issue["status"], base)
        if fid == "resolution":
            return self._resolution(issue["resolution"], base)
        if fid == "priority":
            return self._priority(f.get("priority"), base)
        if fid in ("created", "updated", "resolutiondate", "statuscategorychangedate"):
            return _jtime(issue[fid])
        if fid in ("description", "environment"):
            return _render_rich(f.get(fid), version)
        if fid in ("assignee", "reporter", "creator"):
            acct = f.get(fid)
            return self._user(base, acct) if acct else None
        if fid == "issuelinks":
            return self._render_links(issue, base)
        if fid == "attachment":
            return [dict(a["json"]) for a in issue["attachments"]]
        if fid == "comment":
            comments = [self._render_comment(issue, c, base, version) for c in issue["comments"]]
            return {
                "comments": comments,
                "self": f"{base}/rest/api/2/issue/{issue['id']}/comment",
                "maxResults": len(comments),
                "total": len(comments),
                "startAt": 0,
            }
        if fid == "parent":
            pid = f.get("parent")
            if not pid or pid not in self._issues:
                return None
            parent = self._issues[pid]
            return {
                "id": pid,
                "key": parent["key"],
                "self": f"{base}/rest/api/2/issue/{pid}",
                "fields": {
                    "summary": parent["fields"]["summary"],
                    "status": self._status(parent["status"], base),
                },
            }
        if fid == "watches":
            return {
                "self": f"{base}/rest/api/2/issue/{issue['key']}/watchers",
                "watchCount": 1,
                "isWatching": True,
            }
        if fid == "workratio":
            return -1
        if fid == SEVERITY_FIELD:
            oid = f.get(SEVERITY_FIELD)
            for o_id, name in SEVERITY_OPTIONS:
                if o_id == oid:
                    return {
                        "self": f"{base}/rest/api/2/customFieldOption/{o_id}",
                        "value": name,
                        "id": o_id,
                    }
            return None
        if fid in ("labels", "components", "fixVersions", "versions", "subtasks"):
            return list(f.get(fid) or [])
        return f.get(fid)

    def _render_links(self, issue: dict[str, Any], base: str) -> list[dict[str, Any]]:
        out = []
        for link in self._links.values():
            if issue["id"] not in (link["inward"], link["outward"]):
                continue
            entry: dict[str, Any] = {
                "id": link["id"],
                "self": f"{base}/rest/api/2/issueLink/{link['id']}",
                "type": self._link_type_json(link["type"], base),
            }
            # Jira renders, on each side, the *other* issue: on the POSTed inwardIssue the entry
            # carries "outwardIssue" (read "<this> <outward verb> <other>") and vice versa.
            if link["inward"] == issue["id"]:
                other_id, side = link["outward"], "outwardIssue"
            else:
                other_id, side = link["inward"], "inwardIssue"
            other = self._issues.get(other_id)
            if other is None:
                continue
            entry[side] = {
                "id": other["id"],
                "key": other["key"],
                "self": f"{base}/rest/api/2/issue/{other['id']}",
                "fields": {
                    "summary": other["fields"]["summary"],
                    "status": self._status(other["status"], base),
                    "priority": self._priority(other["fields"].get("priority"), base),
                    "issuetype": self._issuetype(other["fields"]["issuetype"], base),
                },
            }
            out.append(entry)
        return out

    def _render_comment(
        self, issue: dict[str, Any], comment: dict[str, Any], base: str, version: str
    ) -> dict[str, Any]:
        author = self._user(base)
        return {
            "self": f"{base}/rest/api/2/issue/{issue['id']}/comment/{comment['id']}",
            "id": comment["id"],
            "author": author,
            "body": _render_rich(comment["body"], version),
            "updateAuthor": author,
            "created": _jtime(comment["created"]),
            "updated": _jtime(comment["updated"]),
            "jsdPublic": True,
        }

    def _selected_fields(self, wanted: list[str] | None) -> list[str]:
        all_ids = [f.id for f in FIELD_DEFS if f.id not in ("issuekey", "statusCategory")]
        if wanted is None:
            return all_ids
        chosen: list[str] = []
        for item in wanted:
            if item == "*all":
                chosen.extend(all_ids)
            elif item == "*navigable":
                chosen.extend(f for f in all_ids if FIELDS_BY_ID[f].navigable)
            elif item.startswith("-"):
                continue
            elif item in FIELDS_BY_ID or item.startswith("customfield_"):
                chosen.append(item)
            else:
                for fdef in FIELD_DEFS:
                    if item.lower() in (c.lower() for c in fdef.clauses):
                        chosen.append(fdef.id)
        removed = {item[1:] for item in wanted if item.startswith("-")}
        hidden = {"issuekey", "statusCategory"}
        return [
            f
            for f in dict.fromkeys(chosen)
            if f not in removed and f not in hidden and f in FIELDS_BY_ID
        ]

    def _render_issue(
        self,
        issue: dict[str, Any],
        base: str,
        version: str,
        wanted: list[str] | None,
        expand: list[str],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
            "versionedRepresentations",
            "id": issue["id"],
            "self": f"{base}/rest/api/{version}/issue/{issue['id']}",
            "key": issue["key"],
        }
        selected = self._selected_fields(wanted)
        if selected:
            out["fields"] = {fid: self._render_field(issue, fid, base, version) for fid in selected}
        if "changelog" in expand:
            histories = [dict(h, author=self._user(base)) for h in issue["histories"]]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            }
        if "names" in expand:
            out["names"] = {fid: FIELDS_BY_ID[fid].name for fid in selected}
        if "transitions" in expand:
            out["transitions"] = self._transitions_for(issue, base)
        if "properties" in expand:
            out["properties"] = dict(issue["properties"])
        return out

    def _transitions_for(
        self, issue: dict[str, Any], base: str, with_fields: bool = False
    ) -> list[dict[str, Any]]:
        out = []
        for sid, name, cat, tid in STATUSES:
            if sid == issue["status"]:
                continue
            entry: dict[str, Any] = {
                "id": tid,
                "name": name,
                "to": self._status(sid, base),
                "hasScreen": cat == "done",
                "isGlobal": True,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            if with_fields:
                entry["fields"] = {}
                if cat == "done":
                    entry["fields"]["resolution"] = {
                        "required": False,
                        "schema": {"type": "resolution", "system": "resolution"},
                        "name": "Resolution",
                        "key": "resolution",
                        "operations": ["set"],
                        "allowedValues": [self._resolution(r[0], base) for r in RESOLUTIONS],
                    }
            out.append(entry)
        return out

    # ---------------------------------------------------------------- mutations

    def _add_history(self, issue: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        self._history_seq += 1
        history = {"id": str(self._history_seq), "created": _jtime(_now()), "items": items}
        issue["histories"].append(history)
        return history

    def _apply_transition(
        self,
        issue: dict[str, Any],
        status_id: str,
        fields: dict[str, Any],
        base: str,
        comment: Any = None,
    ) -> None:
        target_cat = self._status_category(status_id)
        items: list[dict[str, Any]] = []
        old_res = issue["resolution"]
        new_res = old_res
        if "resolution" in fields:
            if target_cat != "done":
                raise HttpError(
                    400,
                    [],
                    {
                        "resolution": "Field 'resolution' cannot be set. It is "
                        "not on the appropriate screen, or unknown."
                    },
                )
            new_res = self._find_resolution(fields["resolution"])
            if new_res is None:
                raise HttpError(400, [], {"resolution": "Could not find resolution by id or name."})
        elif target_cat == "done":
            new_res = new_res or RESOLUTIONS[0][0]
        if target_cat != "done":
            new_res = None
        extra = {k: v for k, v in fields.items() if k != "resolution"}
        if extra:
            raise HttpError(
                400,
                [],
                {
                    k: f"Field '{k}' cannot be set. It is not on the "
                    "appropriate screen, or unknown."
                    for k in extra
                },
            )
        now = _now()
        if new_res != old_res:
            items.append(
                {
                    "field": "resolution",
                    "fieldtype": "jira",
                    "fieldId": "resolution",
                    "from": old_res,
                    "fromString": (self._resolution(old_res, base) or {}).get("name"),
                    "to": new_res,
                    "toString": (self._resolution(new_res, base) or {}).get("name"),
                }
            )
            issue["resolution"] = new_res
            issue["resolutiondate"] = now if new_res else None
        old_status = issue["status"]
        items.append(
            {
                "field": "status",
                "fieldtype": "jira",
                "fieldId": "status",
                "from": old_status,
                "fromString": self._status(old_status, base)["name"],
                "to": status_id,
                "toString": self._status(status_id, base)["name"],
            }
        )
        if self._status_category(old_status) != target_cat:
            issue["statuscategorychangedate"] = now
        issue["status"] = status_id
        issue["updated"] = now
        if comment is not None:
            self._add_comment(issue, comment)
        history = self._add_history(issue, items)
        self._emit(issue, "jira:issue_updated", "issue_generic", history, base)

    def _add_comment(self, issue: dict[str, Any], body: Any) -> dict[str, Any]:
        now = _now()
        comment = {"id": self._next_id(), "body": body, "created": now, "updated": now}
        issue["comments"].append(comment)
        return comment

    # ---------------------------------------------------------------- webhooks

    def _emit(
        self,
        issue: dict[str, Any],
        event: str,
        type_name: str,
        history: dict[str, Any] | None,
        base: str,
    ) -> None:
        url = self.config.get("webhookUrl")
        if not url:
            return
        wanted = [f for f in self._selected_fields(None) if f != "comment"]
        payload: dict[str, Any] = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": type_name,
            "user": self._user(base),
            "issue": self._render_issue(issue, base, "2", wanted, []),
            "matchedWebhookIds": [1],
        }
        payload["issue"].pop("expand", None)
        if history is not None:
            payload["changelog"] = {"id": history["id"], "items": history["items"]}
        delivery = {
            "identifier": str(uuid.uuid4()),
            "event": event,
            "issueKey": issue["key"],
            "url": url,
            "status": "pending",
            "attempts": [],
            "lastStatusCode": None,
            "payload": payload,
        }
        self._deliveries.append(delivery)
        self._wh_queue.put(delivery)
        if self.config.get("webhookDuplicate"):
            self._wh_queue.put(delivery)

    def _webhook_worker(self) -> None:
        while True:
            delivery = self._wh_queue.get()
            try:
                if delivery is None:
                    return
                if not self._stopping.is_set():
                    self._deliver(delivery)
            except Exception:  # pragma: no cover - never kill the worker
                LOG.exception("webhook delivery crashed")
            finally:
                self._wh_queue.task_done()

    def _deliver(self, delivery: dict[str, Any]) -> None:
        with self._lock:
            body = json.dumps(delivery["payload"]).encode()
            secret = self.config.get("webhookSecret")
            retries = int(self.config.get("webhookRetries") or 0)
            backoff = float(self.config.get("webhookBackoff") or 0)
            timeout = float(self.config.get("webhookTimeout") or 5)
            url = delivery["url"]
            delivery["status"] = "pending"
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client (devstack emulator)",
            "X-Atlassian-Webhook-Identifier": delivery["identifier"],
            "X-Atlassian-Webhook-Flow": "Primary",
        }
        if secret:
            digest = hmac.new(str(secret).encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        for attempt in range(retries + 1):
            if attempt:
                headers["X-Atlassian-Webhook-Retry"] = str(attempt)
                if self._stopping.wait(backoff * (2 ** (attempt - 1))):
                    return
            code: int | None = None
            error: str | None = None
            try:
                req = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    code = resp.status
                    resp.read()
            except urllib.error.HTTPError as e:
                code = e.code
                e.close()
            except (OSError, ValueError) as e:
                error = f"{type(e).__name__}: {e}"
            with self._lock:
                delivery["attempts"].append(
                    {"retry": attempt, "statusCode": code, "error": error, "at": _jtime(_now())}
                )
                delivery["lastStatusCode"] = code
                if code is not None and 200 <= code < 300:
                    delivery["status"] = "delivered"
                    return
                retryable = code is None or code in (408, 409, 425, 429) or code >= 500
                if not retryable:
                    delivery["status"] = "failed"
                    return
        with self._lock:
            delivery["status"] = "failed"

    # ---------------------------------------------------------------- serving

    def _serve(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path) or "/"
        body = h.read_body()
        host = h.headers.get("Host") or urlsplit(self.url).netloc
        req = Request(
            method=h.command.upper(),
            path=path,
            query=parts.query,
            params=parse_qs(parts.query, keep_blank_values=True),
            headers=h.headers,
            body=body,
            base=f"http://{host}",
        )
        if path.startswith("/_emulator"):
            h.write_response(self._safe(self._admin, req))
            return
        record: dict[str, Any] = {
            "method": req.method,
            "path": path,
            "query": parts.query,
            "params": req.params,
            "json": None,
            "contentType": h.headers.get("Content-Type"),
            "bodySize": len(body),
            "status": None,
            "fault": None,
            "at": _jtime(_now()),
        }
        if body and "json" in (record["contentType"] or ""):
            with contextlib.suppress(ValueError):
                record["json"] = json.loads(body)
        with self._lock:
            self._requests.append(record)
        resp, delay = self._handle_rest(req, record, h)
        if resp is None:
            return
        record["status"] = resp.status
        if delay:
            self._stopping.wait(delay)
        h.write_response(resp)

    def _handle_rest(
        self, req: Request, record: dict[str, Any], h: _Handler
    ) -> tuple[Response | None, float]:
        if not self._authorized(req):
            return Response(
                401,
                {
                    "errorMessages": ["Client must be authenticated to access this resource."],
                    "errors": {},
                },
                headers={"WWW-Authenticate": 'Basic realm="devstack-jira"'},
            ), 0.0
        fault = self._take_fault(req.method, req.path)
        delay = 0.0
        if fault is not None:
            record["fault"] = fault.mode
            if fault.mode == "slow":
                self._stopping.wait(fault.seconds)
            elif fault.mode == "reset":
                h.reset_connection()
                return None, 0.0
            elif fault.mode == "create_then_timeout":
                delay = fault.seconds or 5.0
            elif fault.mode.isdigit():
                code = int(fault.mode)
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                message = {429: "Rate limit exceeded.", 503: "Service Unavailable"}.get(
                    code, f"Emulated fault {code}"
                )
                return Response(
                    code, {"errorMessages": [message], "errors": {}}, headers=headers
                ), 0.0
        return self._safe(self._route, req), delay

    def _authorized(self, req: Request) -> bool:
        header = req.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.email) and hmac.compare_digest(
            password, self.api_token
        )

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count != 0 and fault.matches(method, path):
                    if fault.count > 0:
                        fault.count -= 1
                    self._faults = [f for f in self._faults if f.count != 0]
                    return fault
        return None

    @staticmethod
    def _safe(fn: Handler, req: Request) -> Response:
        try:
            return fn(req)
        except HttpError as e:
            return Response(e.status, e.payload, headers=e.headers)
        except Exception:  # pragma: no cover - surfaced as a 500 like a real server would
            LOG.exception("emulator handler failed: %s %s", req.method, req.path)
            return Response(500, {"errorMessages": ["Internal server error"], "errors": {}})

    def _route(self, req: Request) -> Response:
        known_path = False
        for method, pattern, fn in self._routes:
            m = pattern.fullmatch(req.path)
            if not m:
                continue
            known_path = True
            if method != req.method and not (method == "GET" and req.method == "HEAD"):
                continue
            req.match = {k: v for k, v in m.groupdict().items() if v is not None}
            req.version = "3" if req.match.get("v") == "3" else "2"
            with self._lock:
                return fn(req)
        if known_path:
            raise HttpError(405, [f"Method {req.method} is not allowed for {req.path}"])
        raise HttpError(404, [f"null for uri: {req.base}{req.path}"])

    def _build_routes(self) -> None:
        api = r"/rest/api/(?P<v>2|3|latest)/"
        issue = api + r"issue/(?P<key>[^/]+)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", api + "serverInfo", self._h_server_info),
            ("GET", api + "myself", self._h_myself),
            ("GET", api + "field", self._h_fields),
            ("GET", api + "issuetype", self._h_issuetypes),
            ("GET", api + "priority", self._h_priorities),
            ("GET", api + "resolution", self._h_resolutions),
            ("GET", api + "status", self._h_statuses),
            ("GET", api + "project", self._h_projects),
            ("GET", api + r"project/(?P<project>[^/]+)", self._h_project),
            (
                "GET",
                api + r"issue/createmeta/(?P<project>[^/]+)/issuetypes",
                self._h_createmeta_types,
            ),
            (
                "GET",
                api + r"issue/createmeta/(?P<project>[^/]+)/issuetypes/(?P<type>[^/]+)",
                self._h_createmeta_fields,
            ),
            ("GET", api + "issueLinkType", self._h_link_types),
            ("GET", api + r"issueLinkType/(?P<id>[^/]+)", self._h_link_type),
            ("POST", api + "issueLink", self._h_create_link),
            ("GET", api + r"issueLink/(?P<id>[^/]+)", self._h_get_link),
            ("DELETE", api + r"issueLink/(?P<id>[^/]+)", self._h_delete_link),
            ("POST", api + "issue", self._h_create_issue),
            ("GET", issue, self._h_get_issue),
            ("PUT", issue, self._h_edit_issue),
            ("DELETE", issue, self._h_delete_issue),
            ("GET", issue + "/transitions", self._h_get_transitions),
            ("POST", issue + "/transitions", self._h_do_transition),
            ("GET", issue + "/comment", self._h_get_comments),
            ("POST", issue + "/comment", self._h_add_comment),
            ("GET", issue + r"/comment/(?P<id>[^/]+)", self._h_get_comment),
            ("GET", issue + "/remotelink", self._h_get_remote_links),
            ("POST", issue + "/remotelink", self._h_add_remote_link),
            ("GET", issue + r"/remotelink/(?P<id>[^/]+)", self._h_get_remote_link),
            ("DELETE", issue + r"/remotelink/(?P<id>[^/]+)", self._h_delete_remote_link),
            ("POST", issue + "/attachments", self._h_add_attachments),
            ("GET", api + r"attachment/(?P<id>\d+)", self._h_get_attachment),
            ("GET", r"/secure/attachment/(?P<id>\d+)/(?P<name>.*)", self._h_attachment_content),
            ("GET", issue + "/properties", self._h_property_keys),
            ("GET", issue + r"/properties/(?P<prop>[^/]+)", self._h_get_property),
            ("PUT", issue + r"/properties/(?P<prop>[^/]+)", self._h_put_property),
            ("DELETE", issue + r"/properties/(?P<prop>[^/]+)", self._h_delete_property),
            ("GET", api + "search/jql", self._h_search_jql),
            ("POST", api + "search/jql", self._h_search_jql),
            ("GET", api + "search", self._h_search_legacy),
            ("POST", api + "search", self._h_search_legacy),
            ("GET", r"/rest/applinks/[^/]+/listApplicationlinks", self._h_applinks),
        ]
        self._routes = [(m, re.compile(p), fn) for m, p, fn in table]

    # ---------------------------------------------------------------- metadata handlers

    def _h_server_info(self, req: Request) -> Response:
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
                "serverTime": _jtime(_now()),
                "scmInfo": "devstack-emulator",
                "serverTitle": "Jira (devstack emulator)",
                "defaultLocale": {"locale": "en_US"},
                "serverTimeZone": "Etc/UTC",
            },
        )

    def _h_myself(self, req: Request) -> Response:
        user = self._user(req.base)
        user.update(
            {
                "locale": "en_US",
                "groups": {"size": 1, "items": []},
                "applicationRoles": {"size": 1, "items": []},
            }
        )
        return Response(200, user)

    def _h_fields(self, req: Request) -> Response:
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

    def _h_issuetypes(self, req: Request) -> Response:
        return Response(200, [self._issuetype(t[0], req.base) for t in ISSUE_TYPES])

    def _h_priorities(self, req: Request) -> Response:
        return Response(200, [self._priority(p[0], req.base) for p in PRIORITIES])

    def _h_resolutions(self, req: Request) -> Response:
        return Response(200, [self._resolution(r[0], req.base) for r in RESOLUTIONS])

    def _h_statuses(self, req: Request) -> Response:
        return Response(200, [self._status(s[0], req.base) for s in STATUSES])

    def _h_projects(self, req: Request) -> Response:
        return Response(200, [self._project(k, req.base) for k in self._projects])

    def _require_project(self, ref: str) -> str:
        key = self._find_project(ref)
        if key is None:
            raise HttpError(404, ["No project could be found with key '" + ref + "'."])
        return key

    def _h_project(self, req: Request) -> Response:
        key = self._require_project(req.match["project"])
        return Response(200, self._project(key, req.base, full=True))

    def _page(self, req: Request, items: list[Any], cloud_key: str) -> dict[str, Any]:
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

    def _h_createmeta_types(self, req: Request) -> Response:
        self._require_project(req.match["project"])
        types = [self._issuetype(t[0], req.base) for t in ISSUE_TYPES]
        return Response(200, self._page(req, types, "issueTypes"))

    def _h_createmeta_fields(self, req: Request) -> Response:
        key = self._require_project(req.match["project"])
        type_id = self._find_issuetype({"id": req.match["type"]})
        if type_id is None:
            raise HttpError(404, ["Issue type with id '" + req.match["type"] + "' not found."])
        out = []
        for f in FIELD_DEFS:
            if not f.settable:
                continue
            entry: dict[str, Any] = {
                "required": f.id in _REQUIRED_ON_CREATE
                or f.id in self.config.get("requiredFields", []),
                "schema": f.schema,
                "name": f.name,
                "key": f.id,
                "fieldId": f.id,
                "hasDefaultValue": f.id == "priority",
                "operations": ["set"] if f.id != "labels" else ["add", "set", "remove"],
            }
            if f.id == "project":
                entry["allowedValues"] = [self._project(key, req.base)]
            elif f.id == "issuetype":
                entry["allowedValues"] = [self._issuetype(type_id, req.base)]
            elif f.id == "priority":
                entry["allowedValues"] = [self._priority(p[0], req.base) for p in PRIORITIES]
                entry["defaultValue"] = self._priority(DEFAULT_PRIORITY, req.base)
            elif f.id == SEVERITY_FIELD:
                entry["allowedValues"] = [
                    {
                        "self": f"{req.base}/rest/api/2/customFieldOption/{oid}",
                        "value": name,
                        "id": oid,
                    }
                    for oid, name in SEVERITY_OPTIONS
                ]
            out.append(entry)
        return Response(200, self._page(req, out, "fields"))

    def _h_link_types(self, req: Request) -> Response:
        return Response(
            200, {"issueLinkTypes": [self._link_type_json(e, req.base) for e in LINK_TYPES]}
        )

    def _h_link_type(self, req: Request) -> Response:
        entry = self._link_type({"id": req.match["id"]})
        if entry is None:
            raise HttpError(404, ["No issue link type with id '" + req.match["id"] + "' found."])
        return Response(200, self._link_type_json(entry, req.base))

    def _h_applinks(self, req: Request) -> Response:
        raise HttpError(404, ["Application links are not available on this site."])

    # ---------------------------------------------------------------- issue handlers

    def _h_create_issue(self, req: Request) -> Response:
        data = req.json()
        if not isinstance(data, dict) or not isinstance(data.get("fields", {}), dict):
            raise HttpError(400, ["Can not deserialize the issue: 'fields' must be an object."])
        fields, errors = self._normalize_fields(
            data.get("fields") or {}, req.version, creating=True
        )
        update = data.get("update") or {}
        if errors:
            raise HttpError(400, [], errors)
        key = fields.pop("project")
        proj = self._projects[key]
        proj["counter"] += 1
        now = _now()
        issue_id = self._next_id()
        issue = {
            "id": issue_id,
            "key": f"{key}-{proj['counter']}",
            "project": key,
            "fields": {
                "priority": DEFAULT_PRIORITY,
                "labels": [],
                "description": None,
                "environment": None,
                "components": [],
                "fixVersions": [],
                "versions": [],
                "assignee": None,
                "reporter": self.account_id,
                "creator": self.account_id,
                "duedate": None,
                "subtasks": [],
                TEST_CASE_FIELD: None,
                SEVERITY_FIELD: None,
                "lastViewed": None,
            },
            "status": INITIAL_STATUS,
            "resolution": None,
            "created": now,
            "updated": now,
            "resolutiondate": None,
            "statuscategorychangedate": now,
            "comments": [],
            "remotelinks": [],
            "attachments": [],
            "properties": {},
            "histories": [],
            "visibleAt": time.monotonic() + float(self.config.get("searchLagSeconds") or 0),
        }
        issue["fields"].update(fields)
        for op in update.get("comment", []) if isinstance(update, dict) else []:
            if isinstance(op, dict) and isinstance(op.get("add"), dict):
                self._add_comment(issue, op["add"].get("body"))
        for prop in data.get("properties") or []:
            if isinstance(prop, dict) and "key" in prop:
                issue["properties"][str(prop["key"])] = prop.get("value")
        self._issues[issue_id] = issue
        self._keys[issue["key"]] = issue_id
        if self.config.get("webhookOnCreate"):
            self._emit(issue, "jira:issue_created", "issue_created", None, req.base)
        return Response(
            201,
            {
                "id": issue_id,
                "key": issue["key"],
                "self": f"{req.base}/rest/api/{req.version}/issue/{issue_id}",
            },
        )

    def _h_get_issue(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        wanted = req.list_param("fields") or None
        expand = req.list_param("expand")
        out = self._render_issue(issue, req.base, req.version, wanted, expand)
        return Response(200, out)

    def _h_edit_issue(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        data = req.json()
        if not isinstance(data, dict):
            raise HttpError(400, ["Request body must be a JSON object."])
        fields = data.get("fields") or {}
        update = data.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise HttpError(400, ["'fields' and 'update' must be objects."])
        errors: dict[str, str] = {}
        overlap = set(fields) & set(update)
        for fid in overlap:
            errors[fid] = f"Field '{fid}' cannot be set in both 'fields' and 'update'."
        normalized, field_errors = self._normalize_fields(
            fields, req.version, creating=False, issue=issue
        )
        errors.update(field_errors)
        label_ops: list[tuple[str, Any]] = []
        comments: list[Any] = []
        for fid, ops in update.items():
            if not isinstance(ops, list):
                errors[fid] = "Operations must be a list."
                continue
            if fid == "comment":
                comments.extend(
                    op["add"].get("body")
                    for op in ops
                    if isinstance(op, dict) and isinstance(op.get("add"), dict)
                )
                continue
            if fid != "labels":
                # Treat single "set" operations on other fields like "fields".
                sets = [op["set"] for op in ops if isinstance(op, dict) and "set" in op]
                if len(sets) == 1:
                    more, errs = self._normalize_fields({fid: sets[0]}, req.version, creating=False)
                    normalized.update(more)
                    errors.update(errs)
                else:
                    errors[fid] = (
                        f"Field '{fid}' cannot be set. It is not on the appropriate "
                        "screen, or unknown."
                    )
                continue
            for op in ops:
                for verb, value in op.items() if isinstance(op, dict) else []:
                    try:
                        if verb in ("add", "remove"):
                            self._check_label(str(value))
                        elif verb == "set":
                            self._normalize_value("labels", value, req.version)
                        else:
                            raise ValueError(f"Unsupported operation '{verb}' on labels.")
                    except ValueError as e:
                        errors["labels"] = str(e)
                    label_ops.append((verb, value))
        if errors:
            raise HttpError(400, [], errors)
        items: list[dict[str, Any]] = []
        if label_ops:
            labels = list(normalized.get("labels", issue["fields"]["labels"]))
            for verb, value in label_ops:
                if verb == "add" and value not in labels:
                    labels.append(value)
                elif verb == "remove" and value in labels:
                    labels.remove(value)
                elif verb == "set":
                    labels = list(dict.fromkeys(value))
            normalized["labels"] = labels
        for fid, value in normalized.items():
            old = issue["fields"].get(fid)
            if old == value:
                continue
            before = self._render_field(issue, fid, req.base, "2")
            issue["fields"][fid] = value
            after = self._render_field(issue, fid, req.base, "2")
            fdef = FIELDS_BY_ID[fid]
            items.append(
                {
                    "field": fdef.name if fdef.custom else fid,
                    "fieldtype": "custom" if fdef.custom else "jira",
                    "fieldId": fid,
                    "from": None,
                    "fromString": self._display(before),
                    "to": None,
                    "toString": self._display(after),
                }
            )
        for body in comments:
            self._add_comment(issue, body)
        if items or comments:
            issue["updated"] = _now()
        if items:
            history = self._add_history(issue, items)
            self._emit(issue, "jira:issue_updated", "issue_updated", history, req.base)
        if (req.param("returnIssue") or "").lower() == "true":
            return Response(200, self._render_issue(issue, req.base, req.version, None, []))
        return Response(204)

    @staticmethod
    def _display(value: Any) -> str | None:
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

    def _h_delete_issue(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        del self._issues[issue["id"]]
        self._keys.pop(issue["key"], None)
        for link_id in [
            k for k, v in self._links.items() if issue["id"] in (v["inward"], v["outward"])
        ]:
            del self._links[link_id]
        return Response(204)

    def _h_get_transitions(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        with_fields = "transitions.fields" in req.list_param("expand")
        transitions = self._transitions_for(issue, req.base, with_fields)
        wanted = req.param("transitionId")
        if wanted:
            transitions = [t for t in transitions if t["id"] == wanted]
        return Response(200, {"expand": "transitions", "transitions": transitions})

    def _h_do_transition(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        data = req.json()
        ref = (data or {}).get("transition") if isinstance(data, dict) else None
        tid = str(ref.get("id")) if isinstance(ref, dict) and ref.get("id") is not None else None
        if tid is None:
            raise HttpError(400, ["Missing 'transition' identifier."])
        target = next((s for s in STATUSES if s[3] == tid and s[0] != issue["status"]), None)
        if target is None:
            raise HttpError(400, [f"Transition id '{tid}' is not valid for this issue."])
        comment = None
        update = data.get("update") or {}
        for op in update.get("comment", []) if isinstance(update, dict) else []:
            if isinstance(op, dict) and isinstance(op.get("add"), dict):
                comment = op["add"].get("body")
        self._apply_transition(issue, target[0], data.get("fields") or {}, req.base, comment)
        return Response(204)

    def _h_get_comments(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        comments = [
            self._render_comment(issue, c, req.base, req.version) for c in issue["comments"]
        ]
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

    def _h_add_comment(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        data = req.json()
        body = data.get("body") if isinstance(data, dict) else None
        if req.version == "3":
            valid = isinstance(body, dict) and body.get("type") == "doc"
        else:
            valid = isinstance(body, str) and bool(body.strip())
        if not valid:
            raise HttpError(400, [], {"comment": "Comment body can not be empty!"})
        comment = self._add_comment(issue, body)
        issue["updated"] = _now()
        return Response(201, self._render_comment(issue, comment, req.base, req.version))

    def _h_get_comment(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        for comment in issue["comments"]:
            if comment["id"] == req.match["id"]:
                return Response(200, self._render_comment(issue, comment, req.base, req.version))
        raise HttpError(404, ["Can not find a comment for the id: " + req.match["id"] + "."])

    def _h_create_link(self, req: Request) -> Response:
        data = req.json()
        if not isinstance(data, dict):
            raise HttpError(400, ["Request body must be a JSON object."])
        entry = self._link_type(data.get("type"))
        if entry is None:
            name = (
                (data.get("type") or {}).get("name") if isinstance(data.get("type"), dict) else None
            )
            raise HttpError(404, [f"No issue link type with name '{name}' found."])
        ends = []
        for side in ("inwardIssue", "outwardIssue"):
            ref = data.get(side)
            ref = (ref.get("key") or ref.get("id")) if isinstance(ref, dict) else None
            if not ref:
                raise HttpError(400, [f"The {side} must be specified."])
            try:
                ends.append(self._get_issue(str(ref))["id"])
            except HttpError:
                raise HttpError(404, ["Issue Does Not Exist"]) from None
        for link in self._links.values():
            if link["type"] == entry and [link["inward"], link["outward"]] == ends:
                return Response(201)
        link_id = self._next_id()
        self._links[link_id] = {"id": link_id, "type": entry, "inward": ends[0], "outward": ends[1]}
        comment = data.get("comment")
        if isinstance(comment, dict) and comment.get("body"):
            self._add_comment(self._issues[ends[0]], comment["body"])
        return Response(201)

    def _h_get_link(self, req: Request) -> Response:
        link = self._links.get(req.match["id"])
        if link is None:
            raise HttpError(404, ["No issue link with id '" + req.match["id"] + "' exists."])
        out: dict[str, Any] = {
            "id": link["id"],
            "self": f"{req.base}/rest/api/2/issueLink/{link['id']}",
            "type": self._link_type_json(link["type"], req.base),
        }
        for side, iid in (("inwardIssue", link["inward"]), ("outwardIssue", link["outward"])):
            other = self._issues[iid]
            out[side] = {
                "id": iid,
                "key": other["key"],
                "self": f"{req.base}/rest/api/2/issue/{iid}",
            }
        return Response(200, out)

    def _h_delete_link(self, req: Request) -> Response:
        if self._links.pop(req.match["id"], None) is None:
            raise HttpError(404, ["No issue link with id '" + req.match["id"] + "' exists."])
        return Response(204)

    def _render_remote_link(
        self, issue: dict[str, Any], link: dict[str, Any], base: str
    ) -> dict[str, Any]:
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

    def _h_get_remote_links(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        global_id = req.param("globalId")
        if global_id is not None:
            for link in issue["remotelinks"]:
                if link.get("globalId") == global_id:
                    return Response(200, self._render_remote_link(issue, link, req.base))
            raise HttpError(404, ["No remote link with global id '" + global_id + "' found."])
        return Response(
            200, [self._render_remote_link(issue, link, req.base) for link in issue["remotelinks"]]
        )

    def _h_add_remote_link(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        data = req.json()
        obj = data.get("object") if isinstance(data, dict) else None
        errors = {}
        if not isinstance(obj, dict):
            errors["object"] = "The remote link object must be specified."
        else:
            if not obj.get("url"):
                errors["url"] = "'url' is required."
            if not obj.get("title"):
                errors["title"] = "'title' is required."
        if errors:
            raise HttpError(400, [], errors)
        assert isinstance(data, dict) and isinstance(obj, dict)
        global_id = data.get("globalId")
        fields = {
            "globalId": global_id,
            "application": data.get("application"),
            "relationship": data.get("relationship"),
            "object": obj,
        }
        status = 201
        link = None
        if global_id is not None:
            link = next((x for x in issue["remotelinks"] if x.get("globalId") == global_id), None)
        if link is not None:
            link.update(fields)
            status = 200
        else:
            link = dict(fields, id=int(self._next_id()))
            issue["remotelinks"].append(link)
        issue["updated"] = _now()
        return Response(
            status,
            {
                "id": link["id"],
                "self": f"{req.base}/rest/api/2/issue/{issue['key']}/remotelink/{link['id']}",
            },
        )

    def _find_remote_link(self, issue: dict[str, Any], link_id: str) -> dict[str, Any]:
        for link in issue["remotelinks"]:
            if str(link["id"]) == link_id:
                return link
        raise HttpError(404, ["No remote link with id '" + link_id + "' found."])

    def _h_get_remote_link(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        link = self._find_remote_link(issue, req.match["id"])
        return Response(200, self._render_remote_link(issue, link, req.base))

    def _h_delete_remote_link(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        link = self._find_remote_link(issue, req.match["id"])
        issue["remotelinks"].remove(link)
        return Response(204)

    def _h_add_attachments(self, req: Request) -> Response:
        if (req.headers.get("X-Atlassian-Token") or "").lower() != "no-check":
            raise HttpError(403, ["XSRF check failed"])
        issue = self._get_issue(req.match["key"])
        ctype = req.headers.get("Content-Type") or ""
        if not ctype.lower().startswith("multipart/form-data"):
            raise HttpError(415, ["Content type must be multipart/form-data."])
        created = []
        now = _now()
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
            att_id = self._next_id()
            att_json = {
                "self": f"{req.base}/rest/api/2/attachment/{att_id}",
                "id": att_id,
                "filename": filename,
                "author": self._user(req.base),
                "created": _jtime(now),
                "size": len(data),
                "mimeType": mime,
                "content": f"{req.base}/secure/attachment/{att_id}/{quote(filename)}",
            }
            issue["attachments"].append({"id": att_id, "json": att_json, "data": data})
            created.append(att_json)
        if not created:
            raise HttpError(400, ["No file was attached: expecting multipart part 'file'."])
        issue["updated"] = now
        return Response(200, created)

    def _find_attachment(self, att_id: str) -> dict[str, Any]:
        for issue in self._issues.values():
            for att in issue["attachments"]:
                if att["id"] == att_id:
                    return att
        raise HttpError(404, ["The attachment with id '" + att_id + "' does not exist"])

    def _h_get_attachment(self, req: Request) -> Response:
        return Response(200, dict(self._find_attachment(req.match["id"])["json"]))

    def _h_attachment_content(self, req: Request) -> Response:
        att = self._find_attachment(req.match["id"])
        return Response(200, body=att["data"], content_type=att["json"]["mimeType"])

    def _h_property_keys(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        return Response(
            200,
            {
                "keys": [
                    {
                        "self": f"{req.base}/rest/api/2/issue/{issue['id']}/properties/{quote(k)}",
                        "key": k,
                    }
                    for k in issue["properties"]
                ]
            },
        )

    def _h_get_property(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        prop = req.match["prop"]
        if prop not in issue["properties"]:
            raise HttpError(404, [f"The property with key '{prop}' does not exist."])
        return Response(200, {"key": prop, "value": issue["properties"][prop]})

    def _h_put_property(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        prop = req.match["prop"]
        if len(prop) > 255:
            raise HttpError(400, ["The property key can not be longer than 255 characters."])
        if len(req.body) > 32768:
            raise HttpError(400, ["The property value is too long (32768 bytes max)."])
        value = req.json()
        existed = prop in issue["properties"]
        issue["properties"][prop] = value
        return Response(200 if existed else 201)

    def _h_delete_property(self, req: Request) -> Response:
        issue = self._get_issue(req.match["key"])
        if issue["properties"].pop(req.match["prop"], None) is None:
            raise HttpError(
                404, ["The property with key '" + req.match["prop"] + "' does not exist."]
            )
        return Response(204)

    # ---------------------------------------------------------------- search

    def _search_args(self, req: Request) -> tuple[str, list[str] | None, dict[str, Any]]:
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

    def _run_jql(self, jql: str) -> list[dict[str, Any]]:
        try:
            tree, order = _JqlParser(jql).parse()
            visible = [i for i in self._issues.values() if i["visibleAt"] <= time.monotonic()]
            if tree is not None:
                self._validate_jql(tree)
                visible = [i for i in visible if self._eval(tree, i)]
            return self._sort(visible, order)
        except JqlError as e:
            raise HttpError(400, [str(e)]) from None

    def _expand_list(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return [str(v) for v in value]
        return [v.strip() for v in str(value or "").split(",") if v.strip()]

    def _h_search_jql(self, req: Request) -> Response:
        jql, fields, args = self._search_args(req)
        if not jql.strip():
            raise HttpError(
                400,
                [
                    "Unbounded JQL queries are not allowed here. Please add a "
                    "search restriction to your query."
                ],
            )
        matches = self._run_jql(jql)
        size = max(1, min(int(args.get("maxResults") or 50), 5000 if not fields else 100))
        token = args.get("nextPageToken")
        start = 0
        if token:
            try:
                start = int(base64.urlsafe_b64decode(str(token).encode()).decode())
            except (ValueError, binascii.Error):
                raise HttpError(400, ["Invalid nextPageToken."]) from None
        page = matches[start : start + size]
        expand = self._expand_list(args.get("expand"))
        # Cloud's enhanced search returns only ids unless fields are asked for.
        wanted = fields if fields else ["-all"]
        issues = [self._render_search_hit(i, req, wanted, expand, args) for i in page]
        out: dict[str, Any] = {"issues": issues, "isLast": start + size >= len(matches)}
        if not out["isLast"]:
            out["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return Response(200, out)

    def _render_search_hit(
        self,
        issue: dict[str, Any],
        req: Request,
        wanted: list[str],
        expand: list[str],
        args: dict[str, Any],
    ) -> dict[str, Any]:
        rendered = self._render_issue(issue, req.base, req.version, wanted, expand)
        props = self._expand_list(args.get("properties"))
        if props:
            rendered["properties"] = {
                k: issue["properties"][k] for k in props if k in issue["properties"]
            }
        return rendered

    def _h_search_legacy(self, req: Request) -> Response:
        if self.config.get("legacySearch") == "gone":
            raise HttpError(
                410,
                [
                    "The requested API has been removed. Please migrate to the "
                    "/rest/api/3/search/jql API."
                ],
            )
        jql, fields, args = self._search_args(req)
        matches = self._run_jql(jql)
        start = int(args.get("startAt") or 0)
        size = max(0, min(int(args.get("maxResults") or 50), 100))
        expand = self._expand_list(args.get("expand"))
        wanted = fields if fields else ["*navigable"]
        issues = [
            self._render_search_hit(i, req, wanted, expand, args)
            for i in matches[start : start + size]
        ]
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

    # JQL evaluation -----------------------------------------------------------------------

    @staticmethod
    def _jql_field(name: str) -> tuple[str, str]:
        """Map a JQL field reference to (field id, kind)."""
        low = name.lower()
        if low == "text":
            return "text", "text"
        if low.startswith("issue.property[") or low.startswith("issue.property ["):
            return name, "property"
        if low.startswith("customfield_") and low in FIELDS_BY_ID:
            fdef = FIELDS_BY_ID[low]
            return fdef.id, fdef.jql or "value"
        for fdef in FIELD_DEFS:
            if fdef.jql and low in (c.lower() for c in fdef.clauses):
                return fdef.id, fdef.jql
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")

    _OPS = {
        "text": {"~", "!~", "is", "is not"},
        "value": {"=", "!=", "in", "not in", "is", "is not"},
        "user": {"=", "!=", "in", "not in", "is", "is not"},
        "key": {"=", "!=", "in", "not in", "is", "is not", ">", ">=", "<", "<="},
        "date": {"=", "!=", ">", ">=", "<", "<=", "is", "is not", "in", "not in"},
        "property": {"=", "!=", "in", "not in", "is", "is not", "~", ">", ">=", "<", "<="},
    }

    def _validate_jql(self, node: Any) -> None:
        if isinstance(node, _BoolNode):
            for child in node.children:
                self._validate_jql(child)
            return
        fid, kind = self._jql_field(node.field)
        if node.op not in self._OPS[kind]:
            raise JqlError(
                f"The operator '{node.op.upper()}' is not supported by the '{node.field}' field."
            )
        domains: dict[str, Callable[[str], bool]] = {
            "project": lambda v: self._find_project(v) is not None,
            "status": lambda v: self._status_by_name(v) is not None,
            "issuetype": lambda v: self._find_issuetype(v) is not None,
            "resolution": lambda v: (
                v.lower() == "unresolved"
                or self._find_resolution(v) is not None
                or v in [r[0] for r in RESOLUTIONS]
            ),
            "priority": lambda v: any(v.lower() in (p[0], p[1].lower()) for p in PRIORITIES),
            "statusCategory": lambda v: any(
                v.lower() in (k, c["name"].lower(), str(c["id"]))
                for k, c in STATUS_CATEGORIES.items()
            ),
            SEVERITY_FIELD: lambda v: any(
                v.lower() in (o[0], o[1].lower()) for o in SEVERITY_OPTIONS
            ),
        }
        check = domains.get(fid)
        for value in node.values:
            if value.func is not None and value.func not in ("currentuser", "now"):
                raise JqlError(f"Unable to find JQL function '{value.text}()'.")
            if check and value.text is not None and value.func is None and not check(value.text):
                raise JqlError(
                    f"The value '{value.text}' does not exist for the field '{node.field}'."
                )
            if kind == "date" and value.text is not None and value.func is None:
                _parse_jql_date(value.text)

    def _eval(self, node: Any, issue: dict[str, Any]) -> bool:
        if isinstance(node, _BoolNode):
            if node.op == "and":
                return all(self._eval(c, issue) for c in node.children)
            if node.op == "or":
                return any(self._eval(c, issue) for c in node.children)
            return not self._eval(node.children[0], issue)
        return self._eval_clause(node, issue)

    def _issue_values(self, issue: dict[str, Any], fid: str, kind: str) -> list[Any]:
        f = issue["fields"]
        if kind == "property":
            m = re.match(r"issue\.property\s*\[\s*([^\]]+?)\s*\](.*)$", fid, re.I)
            if not m:
                raise JqlError(f"Invalid issue property reference '{fid}'.")
            value: Any = issue["properties"].get(m.group(1).strip("\"'"))
            for part in [p for p in m.group(2).split(".") if p]:
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                return []
            items = value if isinstance(value, list) else [value]
            return [json.dumps(v) if isinstance(v, bool) else str(v).lower() for v in items]
        if fid == "text":
            texts = [
                f.get("summary"),
                f.get("description"),
                f.get("environment"),
                f.get(TEST_CASE_FIELD),
            ] + [c["body"] for c in issue["comments"]]
            return [text_from_adf(t).lower() for t in texts if t]
        if fid == "comment":
            return [text_from_adf(c["body"]).lower() for c in issue["comments"]]
        if fid == "issuekey":
            return [issue["key"].lower(), issue["id"]]
        if fid == "parent":
            pid = f.get("parent")
            return [pid, self._issues[pid]["key"].lower()] if pid in self._issues else []
        if fid == "project":
            proj = self._projects[issue["project"]]
            return [issue["project"].lower(), proj["id"], proj["name"].lower()]
        if fid == "status":
            st = self._status(issue["status"], "")
            return [st["name"].lower(), st["id"]]
        if fid == "statusCategory":
            cat = STATUS_CATEGORIES[self._status_category(issue["status"])]
            return [cat["key"], cat["name"].lower(), str(cat["id"])]
        if fid == "resolution":
            res = self._resolution(issue["resolution"], "")
            return [res["name"].lower(), res["id"]] if res else []
        if fid == "issuetype":
            it = self._issuetype(f["issuetype"], "")
            return [it["name"].lower(), it["id"]]
        if fid == "priority":
            pr = self._priority(f.get("priority"), "")
            return [pr["name"].lower(), pr["id"]] if pr else []
        if fid == "labels":
            return [lbl.lower() for lbl in f.get("labels") or []]
        if fid in ("components", "fixVersions", "versions"):
            return [str(v.get("name", "")).lower() for v in f.get(fid) or []]
        if fid in ("assignee", "reporter", "creator"):
            acct = f.get(fid)
            if not acct:
                return []
            vals = [acct.lower()]
            if acct == self.account_id:
                vals.append(self.email.lower())
            return vals
        if fid in ("created", "updated", "resolutiondate", "statuscategorychangedate"):
            return [issue[fid]] if issue.get(fid) else []
        if fid == "duedate":
            due = f.get("duedate")
            return [datetime.strptime(due, "%Y-%m-%d").replace(tzinfo=UTC)] if due else []
        if fid == SEVERITY_FIELD:
            oid = f.get(SEVERITY_FIELD)
            return [v for o in SEVERITY_OPTIONS if o[0] == oid for v in (o[0], o[1].lower())]
        value = f.get(fid)
        if value is None or value == "":
            return []
        return [text_from_adf(value).lower()]

    def _eval_clause(self, clause: _Clause, issue: dict[str, Any]) -> bool:
        fid, kind = self._jql_field(clause.field)
        values = self._issue_values(issue, fid, kind)
        op = clause.op
        if op == "is":
            return not values
        if op == "is not":
            return bool(values)
        targets: list[Any] = []
        wants_empty = False
        for v in clause.values:
            if v.text is None:
                wants_empty = True
            elif v.func == "currentuser":
                targets.append(self.account_id.lower())
            elif v.func == "now":
                targets.append(_now())
            elif kind == "date":
                targets.append(_parse_jql_date(v.text))
            elif fid == "resolution" and v.text.lower() == "unresolved":
                wants_empty = True
            else:
                targets.append(v.text.lower())
        if kind == "key":
            targets = [self._keys.get(t.upper(), t) if isinstance(t, str) else t for t in targets]
            values = [issue["id"]] if fid == "issuekey" else [v for v in values if v.isdigit()]
        if op in ("~", "!~"):
            needle = str(targets[0]).replace("*", "").replace("?", "").strip() if targets else ""
            found = any(needle in v for v in values)
            return found if op == "~" else (bool(values) and not found)
        if op in ("=", "in"):
            if not values:
                return wants_empty
            if kind == "date":
                return any(v == t for v in values for t in targets)
            return any(v in targets for v in values)
        if op in ("!=", "not in"):
            if not values:
                return False
            if wants_empty and not targets:
                return True
            return not any(v in targets for v in values)
        # ordering comparisons
        if not values or not targets:
            return False
        target = targets[0]
        if kind == "key":
            values = [int(v) for v in values]
            target = int(target) if str(target).isdigit() else -1
        elif kind == "property":
            try:
                values = [float(v) for v in values]
                target = float(target)
            except ValueError:
                pass
        cmp = {
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
        }[op]
        try:
            return any(cmp(v, target) for v in values)
        except TypeError:
            return False

    def _sort(
        self, issues: list[dict[str, Any]], order: list[tuple[str, bool]]
    ) -> list[dict[str, Any]]:
        if not order:
            return sorted(issues, key=lambda i: int(i["id"]), reverse=True)
        result = list(issues)
        for name, desc in reversed(order):
            fid, _kind = self._jql_field(name)

            def keyfn(issue: dict[str, Any], fid: str = fid, kind: str = _kind) -> Any:
                if fid == "issuekey":
                    proj, _, num = issue["key"].partition("-")
                    return (proj, int(num))
                if fid in ("created", "updated", "resolutiondate", "statuscategorychangedate"):
                    return (issue.get(fid) or datetime.min.replace(tzinfo=UTC)).timestamp()
                if fid == "priority":
                    return int(issue["fields"].get("priority") or 99)
                vals = self._issue_values(issue, fid, kind)
                return str(vals[0]) if vals else ""

            result.sort(key=keyfn, reverse=desc)
        return result

    # ---------------------------------------------------------------- admin API

    def _admin(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        m_method = req.method
        if path == "/_emulator/health":
            return Response(200, {"ok": True, "url": self.url})
        if path == "/_emulator/requests":
            if m_method == "GET":
                return Response(200, self.requests)
            if m_method == "DELETE":
                self.clear_requests()
                return Response(204)
        if path == "/_emulator/faults":
            if m_method == "GET":
                return Response(200, self.faults)
            if m_method == "DELETE":
                self.clear_faults()
                return Response(204)
            if m_method == "POST":
                data = req.json()
                specs = data if isinstance(data, list) else [data]
                for spec in specs:
                    if not isinstance(spec, dict) or "mode" not in spec:
                        raise HttpError(400, ["A fault needs a 'mode'."])
                    mode = str(spec["mode"])
                    if mode not in ("slow", "reset", "create_then_timeout") and not (
                        mode.isdigit() and len(mode) == 3
                    ):
                        raise HttpError(400, [f"Unknown fault mode '{mode}'."])
                    self.add_fault(
                        mode,
                        int(spec.get("count", 1)),
                        seconds=float(spec.get("seconds", 0) or 0),
                        retry_after=spec.get("retryAfter"),
                        match=spec.get("match"),
                    )
                return Response(201, self.faults)
        if path == "/_emulator/webhooks":
            if m_method == "GET":
                return Response(200, self.webhooks)
            if m_method == "DELETE":
                self.clear_webhooks()
                return Response(204)
        m = re.fullmatch(r"/_emulator/webhooks/([^/]+)/redeliver", path)
        if m and m_method == "POST":
            with self._lock:
                delivery = next(
                    (d for d in self._deliveries if d["identifier"] == m.group(1)), None
                )
            if delivery is None:
                raise HttpError(404, ["No such delivery."])
            self._wh_queue.put(delivery)
            return Response(202, {"identifier": delivery["identifier"]})
        if path == "/_emulator/config":
            if m_method == "GET":
                with self._lock:
                    return Response(200, dict(self.config))
            if m_method in ("POST", "PUT", "PATCH"):
                data = req.json()
                if not isinstance(data, dict):
                    raise HttpError(400, ["Config must be an object."])
                try:
                    return Response(200, self.set_config(**data))
                except KeyError as e:
                    raise HttpError(400, [str(e)]) from None
        if path == "/_emulator/issues" and m_method == "GET":
            with self._lock:
                return Response(
                    200,
                    [
                        self._render_issue(i, req.base, "2", None, ["changelog"])
                        | {
                            "properties": dict(i["properties"]),
                            "remotelinks": [
                                self._render_remote_link(i, r, req.base) for r in i["remotelinks"]
                            ],
                        }
                        for i in self._issues.values()
                    ],
                )
        m = re.fullmatch(r"/_emulator/issues/([^/]+)/transition", path)
        if m and m_method == "POST":
            data = req.json()
            if not isinstance(data, dict) or not data.get("to"):
                raise HttpError(400, ['Body must be {"to": <status name>}.'])
            with self._lock:
                issue = self._get_issue(m.group(1))
                status = self._status_by_name(str(data["to"]))
                if status is None:
                    raise HttpError(400, [f"Unknown status '{data['to']}'."])
                fields = (
                    {"resolution": {"name": data["resolution"]}} if data.get("resolution") else {}
                )
                self._apply_transition(issue, status[0], fields, req.base)
                return Response(200, self._render_issue(issue, req.base, "2", None, []))
        if path == "/_emulator/reset" and m_method == "POST":
            self.reset()
            return Response(204)
        raise HttpError(404, [f"No admin endpoint {req.method} {req.path}"])


# --------------------------------------------------------------------------------------------
# Standalone
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Jira Cloud REST emulator (devstack)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--email", default="dev@example.com")
    parser.add_argument("--token", default="dev-token")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default=None)
    parser.add_argument(
        "--project", action="append", dest="projects", help="project key (repeatable); default KP"
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    emulator = JiraEmulator(
        args.host,
        args.port,
        email=args.email,
        api_token=args.token,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        projects=args.projects or ("KP",),
    )
    done = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    emulator.start()
    print(
        json.dumps(
            {
                "jira": emulator.url,
                "email": args.email,
                "token": args.token,
                "projects": args.projects or ["KP"],
            }
        ),
        flush=True,
    )
    try:
        while not done.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
