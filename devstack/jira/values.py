"""Field values coming in on create and edit: checked as Jira checks them, turned into what an
issue stores (ids for projects, types, priorities and options; account ids for users)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from devstack.jira.catalogue import DEFAULT_PRIORITY, PRIORITIES, SEVERITY_OPTIONS, find_issuetype
from devstack.jira.fields import (
    CREATE_ONLY,
    FIELDS_BY_ID,
    REQUIRED_ON_CREATE,
    SEVERITY_FIELD,
    SPRINT_FIELD,
    TEST_CASE_FIELD,
)
from devstack.jira.protocol import HttpError
from devstack.jira.state import JiraState

_REQUIRED_MESSAGES = {
    "summary": "You must specify a summary of the issue.",
    "issuetype": "Specify an issue type",
    "project": "Specify a valid project ID or key",
}


def normalize_fields(
    state: JiraState, fields: dict[str, Any], version: str, *, creating: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate incoming field values; return (internal values, errors by field id)."""
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for fid, value in fields.items():
        fdef = FIELDS_BY_ID.get(fid)
        if fdef is None or not fdef.settable or (not creating and fid in CREATE_ONLY):
            errors[fid] = (
                f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
            )
            continue
        try:
            out[fid] = normalize_value(state, fid, value, version)
        except ValueError as e:
            errors[fid] = str(e)
    if creating:
        for fid in (*REQUIRED_ON_CREATE, *state.config.get("requiredFields", [])):
            if fid not in out and fid not in errors:
                errors[fid] = _REQUIRED_MESSAGES.get(fid, f"{fid} is required.")
    return out, errors


def normalize_value(state: JiraState, fid: str, value: Any, version: str) -> Any:
    """The stored form of one settable field's value; ValueError with Jira's message if bad."""
    return _NORMALIZERS[fid](state, value, version)


def check_label(label: str) -> None:
    if not label:
        raise ValueError("Labels cannot be empty.")
    if any(c.isspace() for c in label):
        raise ValueError(f"The label '{label}' contains spaces which is invalid.")
    if len(label) > 255:
        raise ValueError("The label must not exceed 255 characters.")


def _summary(state: JiraState, value: Any, version: str) -> str:
    if not isinstance(value, str):
        raise ValueError("Operation value must be a string")
    if not value.strip():
        raise ValueError("You must specify a summary of the issue.")
    if "\n" in value or "\r" in value:
        raise ValueError("The summary is invalid because it contains newline characters.")
    if len(value) > 255:
        raise ValueError("Summary must be less than 255 characters.")
    return value


def _rich_text(state: JiraState, value: Any, version: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and version != "3":
        return value
    if isinstance(value, dict) and version == "3" and value.get("type") == "doc":
        return value
    if version == "3":
        raise ValueError(
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        )
    raise ValueError("Operation value must be a string")


def _project(state: JiraState, value: Any, version: str) -> str:
    key = state.find_project(value)
    if key is None:
        raise ValueError("Specify a valid project ID or key")
    return key


def _issuetype(state: JiraState, value: Any, version: str) -> str:
    tid = find_issuetype(value)
    if tid is None:
        raise ValueError("Specify a valid issue type")
    return tid


def _priority(state: JiraState, value: Any, version: str) -> str:
    if value is None:
        return DEFAULT_PRIORITY
    ref = value if isinstance(value, dict) else {}
    for pid, name in PRIORITIES:
        if str(ref.get("id")) == pid or str(ref.get("name", "")).lower() == name.lower():
            return pid
    raise ValueError("Specify a valid 'id' or 'name' for Priority")


def _labels(state: JiraState, value: Any, version: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("Operation value must be an array of strings")
    for label in value:
        check_label(label)
    return list(dict.fromkeys(value))


def _user(fid: str) -> Callable[[JiraState, Any, str], str | None]:
    def normalize(state: JiraState, value: Any, version: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, dict) and isinstance(value.get("accountId"), str):
            return str(value["accountId"])
        raise ValueError("Specify a valid value for " + fid + " (accountId)")

    return normalize


def _named_list(fid: str) -> Callable[[JiraState, Any, str], list[dict[str, Any]]]:
    def normalize(state: JiraState, value: Any, version: str) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ValueError(f"Operation value for {fid} must be an array of objects")
        return [{"name": v.get("name"), "id": str(v.get("id", ""))} for v in value]

    return normalize


def _duedate(state: JiraState, value: Any, version: str) -> str | None:
    if value is None:
        return None
    try:
        datetime.strptime(str(value), "%Y-%m-%d")
    except ValueError:
        raise ValueError("Error parsing date string: " + str(value)) from None
    return str(value)


def _parent(state: JiraState, value: Any, version: str) -> str:
    parent = (value.get("key") or value.get("id")) if isinstance(value, dict) else None
    if not parent:
        raise ValueError("Could not find issue by id or key.")
    try:
        return str(state.get_issue(str(parent))["id"])
    except HttpError:
        raise ValueError("Could not find issue by id or key.") from None


def _test_case(state: JiraState, value: Any, version: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("Operation value must be a string")
    if value is not None and len(value) > 255:
        raise ValueError(
            "The entered text is too long. It exceeds the allowed limit of 255 characters."
        )
    return value


def _severity(state: JiraState, value: Any, version: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        for oid, name in SEVERITY_OPTIONS:
            if str(value.get("id")) == oid or value.get("value") == name:
                return oid
    raise ValueError("Specify a valid 'id' or 'name' for Severity")


def _sprint(state: JiraState, value: Any, version: str) -> list[dict[str, Any]]:
    """Jira Cloud sets a sprint by id; the emulator also takes a name (or `{"name"}`) and makes
    the sprint on first use, so tests can say `"Sprint 14"`."""
    if value is None:
        return []
    out = []
    for v in value if isinstance(value, list) else [value]:
        ref = v.get("id", v.get("name")) if isinstance(v, dict) else v
        if not isinstance(ref, (int, str)) or isinstance(ref, bool) or ref == "":
            raise ValueError("Number value expected as the Sprint id.")
        out.append(state.sprint(ref))
    return out


_NORMALIZERS: dict[str, Callable[[JiraState, Any, str], Any]] = {
    "summary": _summary,
    "description": _rich_text,
    "environment": _rich_text,
    "project": _project,
    "issuetype": _issuetype,
    "priority": _priority,
    "labels": _labels,
    "assignee": _user("assignee"),
    "reporter": _user("reporter"),
    "components": _named_list("components"),
    "fixVersions": _named_list("fixVersions"),
    "versions": _named_list("versions"),
    "duedate": _duedate,
    "parent": _parent,
    TEST_CASE_FIELD: _test_case,
    SEVERITY_FIELD: _severity,
    SPRINT_FIELD: _sprint,
}
