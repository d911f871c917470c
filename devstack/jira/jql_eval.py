"""JQL on the emulator's issues: which field a clause names, whether its operator and values are
allowed, what an issue's values are for it, whether it matches, and the ORDER BY sort."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devstack.jira import jql
from devstack.jira.catalogue import (
    PRIORITIES,
    RESOLUTIONS,
    SEVERITY_OPTIONS,
    STATUS_CATEGORIES,
    find_issuetype,
    find_resolution,
    issuetype_json,
    priority_json,
    resolution_json,
    status_by_name,
    status_category,
    status_json,
)
from devstack.jira.fields import (
    FIELD_DEFS,
    FIELDS_BY_ID,
    SEVERITY_FIELD,
    SPRINT_FIELD,
    TEST_CASE_FIELD,
)
from devstack.jira.formats import now, text_from_adf
from devstack.jira.protocol import HttpError
from devstack.jira.state import JiraState

Issue = dict[str, Any]
_DATES = ("created", "updated", "resolutiondate", "statuscategorychangedate")

# The operators each kind of field takes.
_OPS = {
    "text": {"~", "!~", "is", "is not"},
    "value": {"=", "!=", "in", "not in", "is", "is not"},
    "user": {"=", "!=", "in", "not in", "is", "is not"},
    "key": {"=", "!=", "in", "not in", "is", "is not", ">", ">=", "<", "<="},
    "date": {"=", "!=", ">", ">=", "<", "<=", "is", "is not", "in", "not in"},
    "property": {"=", "!=", "in", "not in", "is", "is not", "~", ">", ">=", "<", "<="},
}

# The values a clause on these fields may name (else Jira answers 400).
_DOMAINS: dict[str, Callable[[JiraState, str], bool]] = {
    "project": lambda s, v: s.find_project(v) is not None,
    "status": lambda s, v: status_by_name(v) is not None,
    "issuetype": lambda s, v: find_issuetype(v) is not None,
    "resolution": lambda s, v: (
        v.lower() == "unresolved"
        or find_resolution(v) is not None
        or v in [r[0] for r in RESOLUTIONS]
    ),
    "priority": lambda s, v: any(v.lower() in (p[0], p[1].lower()) for p in PRIORITIES),
    "statusCategory": lambda s, v: any(
        v.lower() in (k, c["name"].lower(), str(c["id"])) for k, c in STATUS_CATEGORIES.items()
    ),
    SEVERITY_FIELD: lambda s, v: any(v.lower() in (o[0], o[1].lower()) for o in SEVERITY_OPTIONS),
}

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def run_jql(state: JiraState, query: str) -> list[Issue]:
    """The searchable issues matching ``query``, sorted; HttpError 400 if the JQL is bad."""
    try:
        tree, order = jql.parse(query)
        visible = [i for i in state.issues.values() if i["visibleAt"] <= time.monotonic()]
        if tree is not None:
            _validate(state, tree)
            visible = [i for i in visible if _eval(state, tree, i)]
        return _sort(state, visible, order)
    except jql.JqlError as e:
        raise HttpError(400, [str(e)]) from None


def jql_field(name: str) -> tuple[str, str]:
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
    raise jql.JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")


def _validate(state: JiraState, node: Any) -> None:
    if isinstance(node, jql.BoolNode):
        for child in node.children:
            _validate(state, child)
        return
    fid, kind = jql_field(node.field)
    if node.op not in _OPS[kind]:
        raise jql.JqlError(
            f"The operator '{node.op.upper()}' is not supported by the '{node.field}' field."
        )
    check = _DOMAINS.get(fid)
    for value in node.values:
        if value.func is not None and value.func not in ("currentuser", "now"):
            raise jql.JqlError(f"Unable to find JQL function '{value.text}()'.")
        if check and value.text is not None and value.func is None and not check(state, value.text):
            raise jql.JqlError(
                f"The value '{value.text}' does not exist for the field '{node.field}'."
            )
        if kind == "date" and value.text is not None and value.func is None:
            jql.parse_date(value.text)


def _eval(state: JiraState, node: Any, issue: Issue) -> bool:
    if isinstance(node, jql.BoolNode):
        if node.op == "and":
            return all(_eval(state, c, issue) for c in node.children)
        if node.op == "or":
            return any(_eval(state, c, issue) for c in node.children)
        return not _eval(state, node.children[0], issue)
    return _eval_clause(state, node, issue)


# -------------------------------------------------------------------------------- issue values


def _property_values(issue: Issue, ref: str) -> list[Any]:
    m = re.match(r"issue\.property\s*\[\s*([^\]]+?)\s*\](.*)$", ref, re.I)
    if not m:
        raise jql.JqlError(f"Invalid issue property reference '{ref}'.")
    value: Any = issue["properties"].get(m.group(1).strip("\"'"))
    for part in [p for p in m.group(2).split(".") if p]:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [json.dumps(v) if isinstance(v, bool) else str(v).lower() for v in items]


def _text_values(state: JiraState, issue: Issue) -> list[Any]:
    f = issue["fields"]
    texts = [
        f.get("summary"),
        f.get("description"),
        f.get("environment"),
        f.get(TEST_CASE_FIELD),
    ] + [c["body"] for c in issue["comments"]]
    return [text_from_adf(t).lower() for t in texts if t]


def _parent_values(state: JiraState, issue: Issue) -> list[Any]:
    pid = issue["fields"].get("parent")
    return [pid, state.issues[pid]["key"].lower()] if pid in state.issues else []


def _project_values(state: JiraState, issue: Issue) -> list[Any]:
    proj = state.projects[issue["project"]]
    return [issue["project"].lower(), proj["id"], proj["name"].lower()]


def _category_values(state: JiraState, issue: Issue) -> list[Any]:
    cat = STATUS_CATEGORIES[status_category(issue["status"])]
    return [cat["key"], cat["name"].lower(), str(cat["id"])]


def _named(entry: dict[str, Any] | None) -> list[Any]:
    return [entry["name"].lower(), entry["id"]] if entry else []


def _user_values(fid: str) -> Callable[[JiraState, Issue], list[Any]]:
    def values(state: JiraState, issue: Issue) -> list[Any]:
        acct = issue["fields"].get(fid)
        if not acct:
            return []
        return [acct.lower()] + ([state.email.lower()] if acct == state.account_id else [])

    return values


def _due_values(state: JiraState, issue: Issue) -> list[Any]:
    due = issue["fields"].get("duedate")
    return [datetime.strptime(due, "%Y-%m-%d").replace(tzinfo=UTC)] if due else []


def _severity_values(state: JiraState, issue: Issue) -> list[Any]:
    oid = issue["fields"].get(SEVERITY_FIELD)
    return [v for o in SEVERITY_OPTIONS if o[0] == oid for v in (o[0], o[1].lower())]


_VALUES: dict[str, Callable[[JiraState, Issue], list[Any]]] = {
    "text": _text_values,
    "comment": lambda s, i: [text_from_adf(c["body"]).lower() for c in i["comments"]],
    "issuekey": lambda s, i: [i["key"].lower(), i["id"]],
    "parent": _parent_values,
    "project": _project_values,
    "status": lambda s, i: _named(status_json(i["status"], "")),
    "statusCategory": _category_values,
    "resolution": lambda s, i: _named(resolution_json(i["resolution"], "")),
    "issuetype": lambda s, i: _named(issuetype_json(i["fields"]["issuetype"], "")),
    "priority": lambda s, i: _named(priority_json(i["fields"].get("priority"), "")),
    "labels": lambda s, i: [lbl.lower() for lbl in i["fields"].get("labels") or []],
    "assignee": _user_values("assignee"),
    "reporter": _user_values("reporter"),
    "creator": _user_values("creator"),
    "duedate": _due_values,
    SEVERITY_FIELD: _severity_values,
    SPRINT_FIELD: lambda s, i: [
        v for sp in i["fields"].get(SPRINT_FIELD) or [] for v in (sp["name"].lower(), str(sp["id"]))
    ],
}


def _issue_values(state: JiraState, issue: Issue, fid: str, kind: str) -> list[Any]:
    """What ``issue`` holds for the clause's field, lower-cased for comparison."""
    if kind == "property":
        return _property_values(issue, fid)
    values = _VALUES.get(fid)
    if values is not None:
        return values(state, issue)
    if fid in ("components", "fixVersions", "versions"):
        return [str(v.get("name", "")).lower() for v in issue["fields"].get(fid) or []]
    if fid in _DATES:
        return [issue[fid]] if issue.get(fid) else []
    value = issue["fields"].get(fid)
    if value is None or value == "":
        return []
    return [text_from_adf(value).lower()]


# -------------------------------------------------------------------------------- matching


def _targets(state: JiraState, clause: jql.Clause, fid: str, kind: str) -> tuple[list[Any], bool]:
    """The clause's values to compare with, and whether it also asks for EMPTY."""
    targets: list[Any] = []
    wants_empty = False
    for v in clause.values:
        if v.text is None:
            wants_empty = True
        elif v.func == "currentuser":
            targets.append(state.account_id.lower())
        elif v.func == "now":
            targets.append(now())
        elif kind == "date":
            targets.append(jql.parse_date(v.text))
        elif fid == "resolution" and v.text.lower() == "unresolved":
            wants_empty = True
        else:
            targets.append(v.text.lower())
    return targets, wants_empty


def _eval_clause(state: JiraState, clause: jql.Clause, issue: Issue) -> bool:
    fid, kind = jql_field(clause.field)
    values = _issue_values(state, issue, fid, kind)
    op = clause.op
    if op == "is":
        return not values
    if op == "is not":
        return bool(values)
    targets, wants_empty = _targets(state, clause, fid, kind)
    if kind == "key":
        targets = [state.keys.get(t.upper(), t) if isinstance(t, str) else t for t in targets]
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
    return _ordering(kind, op, values, targets)


def _ordering(kind: str, op: str, values: list[Any], targets: list[Any]) -> bool:
    """``> >= < <=``: true if any of the issue's values compares so with the first target."""
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
    try:
        return any(_COMPARE[op](v, target) for v in values)
    except TypeError:
        return False


def _sort(state: JiraState, issues: list[Issue], order: jql.Order) -> list[Issue]:
    if not order:
        return sorted(issues, key=lambda i: int(i["id"]), reverse=True)
    result = list(issues)
    for name, desc in reversed(order):
        fid, kind = jql_field(name)

        def keyfn(issue: Issue, fid: str = fid, kind: str = kind) -> Any:
            if fid == "issuekey":
                proj, _, num = issue["key"].partition("-")
                return (proj, int(num))
            if fid in _DATES:
                return (issue.get(fid) or datetime.min.replace(tzinfo=UTC)).timestamp()
            if fid == "priority":
                return int(issue["fields"].get("priority") or 99)
            vals = _issue_values(state, issue, fid, kind)
            return str(vals[0]) if vals else ""

        result.sort(key=keyfn, reverse=desc)
    return result
