"""``PUT issue/{key}``: ``fields`` (set) and ``update`` (operations: labels add/remove/set,
comment add, a single set on other fields); the change goes to the changelog and a webhook."""

from __future__ import annotations

from typing import Any

from devstack.httpkit import Response
from devstack.jira.fields import FIELDS_BY_ID
from devstack.jira.formats import now
from devstack.jira.protocol import HttpError, JiraRequest
from devstack.jira.render import display, render_field, render_issue
from devstack.jira.state import JiraState
from devstack.jira.values import check_label, normalize_fields, normalize_value

Issue = dict[str, Any]


class _Edit:
    """An edit request read into new values, label operations and comments, or errors."""

    def __init__(self, state: JiraState, version: str) -> None:
        self.state = state
        self.version = version
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.label_ops: list[tuple[str, Any]] = []
        self.comments: list[Any] = []

    def read(self, fields: dict[str, Any], update: dict[str, Any]) -> None:
        for fid in set(fields) & set(update):
            self.errors[fid] = f"Field '{fid}' cannot be set in both 'fields' and 'update'."
        values, errors = normalize_fields(self.state, fields, self.version, creating=False)
        self.values.update(values)
        self.errors.update(errors)
        for fid, ops in update.items():
            if not isinstance(ops, list):
                self.errors[fid] = "Operations must be a list."
            elif fid == "comment":
                self.comments.extend(
                    op["add"].get("body")
                    for op in ops
                    if isinstance(op, dict) and isinstance(op.get("add"), dict)
                )
            elif fid == "labels":
                self._read_label_ops(ops)
            else:
                self._read_single_set(fid, ops)

    def _read_single_set(self, fid: str, ops: list[Any]) -> None:
        # A single "set" operation on other fields counts as "fields".
        sets = [op["set"] for op in ops if isinstance(op, dict) and "set" in op]
        if len(sets) == 1:
            more, errs = normalize_fields(self.state, {fid: sets[0]}, self.version, creating=False)
            self.values.update(more)
            self.errors.update(errs)
        else:
            self.errors[fid] = (
                f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
            )

    def _read_label_ops(self, ops: list[Any]) -> None:
        for op in ops:
            for verb, value in op.items() if isinstance(op, dict) else []:
                try:
                    if verb in ("add", "remove"):
                        check_label(str(value))
                    elif verb == "set":
                        normalize_value(self.state, "labels", value, self.version)
                    else:
                        raise ValueError(f"Unsupported operation '{verb}' on labels.")
                except ValueError as e:
                    self.errors["labels"] = str(e)
                self.label_ops.append((verb, value))

    def apply_label_ops(self, issue: Issue) -> None:
        if not self.label_ops:
            return
        labels = list(self.values.get("labels", issue["fields"]["labels"]))
        for verb, value in self.label_ops:
            if verb == "add" and value not in labels:
                labels.append(value)
            elif verb == "remove" and value in labels:
                labels.remove(value)
            elif verb == "set":
                labels = list(dict.fromkeys(value))
        self.values["labels"] = labels


def _change(state: JiraState, issue: Issue, values: dict[str, Any], base: str) -> list[Any]:
    """Set the changed values; return their changelog items."""
    items: list[dict[str, Any]] = []
    for fid, value in values.items():
        if issue["fields"].get(fid) == value:
            continue
        before = render_field(state, issue, fid, base, "2")
        issue["fields"][fid] = value
        after = render_field(state, issue, fid, base, "2")
        fdef = FIELDS_BY_ID[fid]
        items.append(
            {
                "field": fdef.name if fdef.custom else fid,
                "fieldtype": "custom" if fdef.custom else "jira",
                "fieldId": fid,
                "from": None,
                "fromString": display(before),
                "to": None,
                "toString": display(after),
            }
        )
    return items


def edit_issue(state: JiraState, req: JiraRequest) -> Response:
    issue = state.get_issue(req.match["key"])
    data = req.json()
    if not isinstance(data, dict):
        raise HttpError(400, ["Request body must be a JSON object."])
    fields = data.get("fields") or {}
    update = data.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise HttpError(400, ["'fields' and 'update' must be objects."])
    edit = _Edit(state, req.version)
    edit.read(fields, update)
    if edit.errors:
        raise HttpError(400, [], edit.errors)
    edit.apply_label_ops(issue)
    items = _change(state, issue, edit.values, req.base)
    for body in edit.comments:
        state.add_comment(issue, body)
    if items or edit.comments:
        issue["updated"] = now()
    if items:
        history = state.add_history(issue, items)
        state.emit(issue, "jira:issue_updated", "issue_updated", history, req.base)
    if (req.param("returnIssue") or "").lower() == "true":
        return Response(200, render_issue(state, issue, req.base, req.version, None, []))
    return Response(204)
