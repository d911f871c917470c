"""The workflow: every status can move to every other; entering a done status sets a resolution,
leaving it clears it. Transitions write the changelog and fire ``jira:issue_updated``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devstack.jira.catalogue import (
    RESOLUTIONS,
    STATUSES,
    find_resolution,
    resolution_json,
    status_category,
    status_json,
)
from devstack.jira.formats import now
from devstack.jira.protocol import HttpError

if TYPE_CHECKING:
    from devstack.jira.state import JiraState

_NOT_ON_SCREEN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."


def transitions_for(
    issue: dict[str, Any], base: str, with_fields: bool = False
) -> list[dict[str, Any]]:
    """The transitions open to ``issue``, as ``GET issue/{key}/transitions`` lists them."""
    out = []
    for sid, name, cat, tid in STATUSES:
        if sid == issue["status"]:
            continue
        entry: dict[str, Any] = {
            "id": tid,
            "name": name,
            "to": status_json(sid, base),
            "hasScreen": cat == "done",
            "isGlobal": True,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }
        if with_fields:
            entry["fields"] = {"resolution": _resolution_screen(base)} if cat == "done" else {}
        out.append(entry)
    return out


def _resolution_screen(base: str) -> dict[str, Any]:
    return {
        "required": False,
        "schema": {"type": "resolution", "system": "resolution"},
        "name": "Resolution",
        "key": "resolution",
        "operations": ["set"],
        "allowedValues": [resolution_json(r[0], base) for r in RESOLUTIONS],
    }


def _new_resolution(issue: dict[str, Any], target_cat: str, fields: dict[str, Any]) -> str | None:
    """The resolution after moving into ``target_cat`` with the transition screen's ``fields``."""
    new_res = issue["resolution"]
    if "resolution" in fields:
        if target_cat != "done":
            raise HttpError(400, [], {"resolution": _NOT_ON_SCREEN.format("resolution")})
        new_res = find_resolution(fields["resolution"])
        if new_res is None:
            raise HttpError(400, [], {"resolution": "Could not find resolution by id or name."})
    elif target_cat == "done":
        new_res = new_res or RESOLUTIONS[0][0]
    if target_cat != "done":
        new_res = None
    extra = {k: v for k, v in fields.items() if k != "resolution"}
    if extra:
        raise HttpError(400, [], {k: _NOT_ON_SCREEN.format(k) for k in extra})
    return new_res


def _item(field: str, old: str | None, new: str | None, names: Any) -> dict[str, Any]:
    return {
        "field": field,
        "fieldtype": "jira",
        "fieldId": field,
        "from": old,
        "fromString": names(old),
        "to": new,
        "toString": names(new),
    }


def apply_transition(
    state: JiraState,
    issue: dict[str, Any],
    status_id: str,
    fields: dict[str, Any],
    base: str,
    comment: Any = None,
) -> None:
    """Move ``issue`` to ``status_id`` (the caller holds the lock)."""
    target_cat = status_category(status_id)
    old_res = issue["resolution"]
    new_res = _new_resolution(issue, target_cat, fields)
    at = now()
    items: list[dict[str, Any]] = []
    if new_res != old_res:
        items.append(
            _item(
                "resolution",
                old_res,
                new_res,
                lambda r: (resolution_json(r, base) or {}).get("name"),
            )
        )
        issue["resolution"] = new_res
        issue["resolutiondate"] = at if new_res else None
    old_status = issue["status"]
    items.append(_item("status", old_status, status_id, lambda s: status_json(s, base)["name"]))
    if status_category(old_status) != target_cat:
        issue["statuscategorychangedate"] = at
    issue["status"] = status_id
    issue["updated"] = at
    if comment is not None:
        state.add_comment(issue, comment)
    history = state.add_history(issue, items)
    state.emit(issue, "jira:issue_updated", "issue_generic", history, base)
