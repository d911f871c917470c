"""The field catalogue, as one table: what ``GET field`` lists, what create and edit may set, and
what JQL may search (and how)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEST_CASE_FIELD = "customfield_10100"
SEVERITY_FIELD = "customfield_10101"
SPRINT_FIELD = "customfield_10020"  # Jira Cloud's Sprint (Jira Software), the usual id

# schema: the REST schema type, "[items]" for arrays ("" for none); JQL: how a clause compares
# ("text", "value", "date", "user", "key"; "-" not searchable); clauses: JQL clause names, in
# ``GET field`` order; flags: s = settable on create/edit screens, h = not navigable,
# x = no "system" in the schema. Fields named customfield_* are custom fields.
_TABLE = """
id                       | name                    | schema         | JQL   | clauses                  | flags
issuekey                 | Key                     |                | key   | id, issue, issuekey, key |
summary                  | Summary                 | string         | text  | summary                  | s
description              | Description             | string         | text  | description              | s
environment              | Environment             | string         | text  | environment              | s
issuetype                | Issue Type              | issuetype      | value | issuetype, type          | s
project                  | Project                 | project        | value | project                  | s
priority                 | Priority                | priority       | value | priority                 | s
labels                   | Labels                  | [string]       | value | labels                   | s
status                   | Status                  | status         | value | status                   |
statusCategory           | Status Category         | statusCategory | value | statusCategory           | hx
resolution               | Resolution              | resolution     | value | resolution               |
resolutiondate           | Resolved                | datetime       | date  | resolutiondate, resolved |
created                  | Created                 | datetime       | date  | created, createdDate     |
updated                  | Updated                 | datetime       | date  | updated, updatedDate     |
statuscategorychangedate | Status Category Changed | datetime       | date  | statusCategoryChangedDate |
assignee                 | Assignee                | user           | user  | assignee                 | s
reporter                 | Reporter                | user           | user  | reporter                 | s
creator                  | Creator                 | user           | user  | creator                  |
components               | Components              | [component]    | value | component                | s
fixVersions              | Fix versions            | [version]      | value | fixVersion               | s
versions                 | Affects versions        | [version]      | value | affectedVersion          | s
duedate                  | Due date                | date           | date  | due, duedate             | s
parent                   | Parent                  | issuelink      | key   | parent                   | s
issuelinks               | Linked Issues           | [issuelinks]   | -     | issueLink                |
subtasks                 | Sub-tasks               | [issuelinks]   | -     | subtasks                 |
attachment               | Attachment              | [attachment]   | -     | attachments              |
comment                  | Comment                 | comments-page  | text  | comment                  | h
watches                  | Watchers                | watches        | -     | watchers                 |
lastViewed               | Last Viewed             | datetime       | -     | lastViewed               |
workratio                | Work Ratio              | number         | -     | workratio                |
customfield_10100        | Test Case ID            | string         | text  | cf[10100], Test Case ID  | s
customfield_10101        | Severity                | option         | value | cf[10101], Severity      | s
customfield_10020        | Sprint                  | [json]         | value | cf[10020], Sprint        | s
"""  # noqa: E501

# The custom field type behind each custom schema type.
_CUSTOM_TYPES = {
    "string": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
    "option": "com.atlassian.jira.plugin.system.customfieldtypes:select",
}


@dataclass(frozen=True)
class FieldDef:
    id: str
    name: str
    schema: dict[str, Any]
    jql: str | None  # "text", "value", "date", "user", "key" or None (not searchable)
    clauses: tuple[str, ...]
    settable: bool = False
    custom: bool = False
    navigable: bool = True


def _schema(fid: str, kind: str, flags: str) -> dict[str, Any]:
    if not kind:
        return {}
    if fid == SPRINT_FIELD:
        return {
            "type": "array",
            "items": "json",
            "custom": "com.pyxis.greenhopper.jira:gh-sprint",
            "customId": 10020,
        }
    if fid.startswith("customfield_"):
        return {"type": kind, "custom": _CUSTOM_TYPES[kind], "customId": int(fid.split("_")[1])}
    schema: dict[str, Any] = {"type": kind}
    if kind.startswith("["):
        schema = {"type": "array", "items": kind.strip("[]")}
    if "x" not in flags:
        schema["system"] = fid
    return schema


def _rows(table: str) -> list[FieldDef]:
    rows = []
    for line in table.strip().splitlines()[1:]:
        fid, name, kind, jql, clauses, flags = (cell.strip() for cell in line.split("|"))
        rows.append(
            FieldDef(
                fid,
                name,
                _schema(fid, kind, flags),
                None if jql == "-" else jql,
                tuple(c.strip() for c in clauses.split(",")),
                settable="s" in flags,
                custom=fid.startswith("customfield_"),
                navigable="h" not in flags,
            )
        )
    return rows


FIELD_DEFS: list[FieldDef] = _rows(_TABLE)
FIELDS_BY_ID: dict[str, FieldDef] = {f.id: f for f in FIELD_DEFS}
CREATE_ONLY = {"project", "issuetype"}
REQUIRED_ON_CREATE = ("summary", "issuetype", "project")
_HIDDEN = {"issuekey", "statusCategory"}  # searchable, never rendered as an issue field


def selected_fields(wanted: list[str] | None) -> list[str]:
    """The field ids a ``fields=`` list asks for (``*all``, ``*navigable``, ``-name``, names)."""
    all_ids = [f.id for f in FIELD_DEFS if f.id not in _HIDDEN]
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
    return [
        f
        for f in dict.fromkeys(chosen)
        if f not in removed and f not in _HIDDEN and f in FIELDS_BY_ID
    ]
