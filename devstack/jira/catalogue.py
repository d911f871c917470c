"""The site's fixed catalogue: statuses, resolutions, issue types, priorities, link types and the
severity options; lookups by id or name, and their REST JSON."""

from __future__ import annotations

from typing import Any

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
LinkType = tuple[str, str, str, str]
LINK_TYPES: list[LinkType] = [
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
    ("10004", "Tests", "is tested by", "tests"),
    ("10005", "Defect", "is caused by", "causes"),
]

SEVERITY_OPTIONS: list[tuple[str, str]] = [
    ("10200", "Blocker"),
    ("10201", "Critical"),
    ("10202", "Major"),
    ("10203", "Minor"),
    ("10204", "Trivial"),
]


# -------------------------------------------------------------------------------- statuses


def status_json(status_id: str, base: str) -> dict[str, Any]:
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


def status_by_name(name: str) -> tuple[str, str, str, str] | None:
    for entry in STATUSES:
        if entry[1].lower() == name.lower() or entry[0] == name:
            return entry
    return None


def status_category(status_id: str) -> str:
    return next(cat for sid, _n, cat, _t in STATUSES if sid == status_id)


# -------------------------------------------------------------------------------- resolutions


def resolution_json(res_id: str | None, base: str) -> dict[str, Any] | None:
    for rid, name, desc in RESOLUTIONS:
        if rid == res_id:
            return {
                "self": f"{base}/rest/api/2/resolution/{rid}",
                "id": rid,
                "description": desc,
                "name": name,
            }
    return None


def find_resolution(value: Any) -> str | None:
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


# -------------------------------------------------------------------------------- issue types


def issuetype_json(type_id: str, base: str) -> dict[str, Any]:
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


def find_issuetype(ref: Any) -> str | None:
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


# -------------------------------------------------------------------------------- priorities


def priority_json(pid: str | None, base: str) -> dict[str, Any] | None:
    for p_id, name in PRIORITIES:
        if p_id == pid:
            return {
                "self": f"{base}/rest/api/2/priority/{p_id}",
                "iconUrl": f"{base}/images/icons/priorities/{name.lower()}.svg",
                "name": name,
                "id": p_id,
            }
    return None


# -------------------------------------------------------------------------------- link types


def find_link_type(ref: Any) -> LinkType | None:
    if not isinstance(ref, dict):
        return None
    for entry in LINK_TYPES:
        if (ref.get("id") is not None and str(ref["id"]) == entry[0]) or (
            ref.get("name") is not None and ref["name"] == entry[1]
        ):
            return entry
    return None


def link_type_json(entry: LinkType, base: str) -> dict[str, Any]:
    lid, name, inward, outward = entry
    return {
        "id": lid,
        "name": name,
        "inward": inward,
        "outward": outward,
        "self": f"{base}/rest/api/2/issueLinkType/{lid}",
    }


# -------------------------------------------------------------------------------- severity


def severity_json(option_id: str, name: str, base: str) -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/2/customFieldOption/{option_id}",
        "value": name,
        "id": option_id,
    }
