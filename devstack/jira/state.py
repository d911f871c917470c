"""The emulator's state: projects, issues (plain dicts), issue links, the request log, settings
and faults, behind one re-entrant lock. REST handlers run with the lock held."""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from devstack.httpkit import Fault, FaultBook
from devstack.jira.catalogue import DEFAULT_PRIORITY, INITIAL_STATUS
from devstack.jira.fields import SEVERITY_FIELD, TEST_CASE_FIELD
from devstack.jira.formats import jtime, now
from devstack.jira.protocol import HttpError

# Told of every issue event: (issue, webhookEvent, issue_event_type_name, changelog, base URL).
Listener = Callable[[dict[str, Any], str, str, "dict[str, Any] | None", str], None]

_CREATE_PATH = re.compile(r"/rest/api/[^/]+/issue(/bulk)?/?")


def _fault_applies(fault: Fault, method: str, path: str) -> bool:
    if fault.match:
        return fault.matches(method, path)
    if fault.mode == "create_then_timeout":  # by default, only the create calls
        return method == "POST" and bool(_CREATE_PATH.fullmatch(path))
    return True


def _default_config(webhook_url: str | None, webhook_secret: str | None) -> dict[str, Any]:
    return {
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


class JiraState:
    """Everything the emulator knows; ``reset()`` forgets issues, links, requests and faults."""

    def __init__(
        self,
        *,
        email: str,
        api_token: str,
        projects: Iterable[str],
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.email = email
        self.api_token = api_token
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        self.account_id = "557058:" + str(uuid.UUID(digest))
        self.config = _default_config(webhook_url, webhook_secret)
        self.faults = FaultBook(_fault_applies)
        self.listener: Listener | None = None
        self._project_keys = [p.upper() for p in projects]
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.projects: dict[str, dict[str, Any]] = {
                key: {"id": str(10000 + n), "key": key, "name": f"{key} project", "counter": 0}
                for n, key in enumerate(self._project_keys)
            }
            self.issues: dict[str, dict[str, Any]] = {}  # id -> issue
            self.keys: dict[str, str] = {}  # KEY -> id
            self.links: dict[str, dict[str, Any]] = {}
            self.sprints: dict[str, dict[str, Any]] = {}  # name -> sprint
            self.requests: list[dict[str, Any]] = []
            self.faults.clear()
            self._seq = 10000
            self._history_seq = 10000

    def sprint(self, ref: int | str) -> dict[str, Any]:
        """A sprint by id or name (a new name makes a new active sprint)."""
        with self.lock:
            for sprint in self.sprints.values():
                if str(ref) in (str(sprint["id"]), sprint["name"]):
                    return dict(sprint)
            if isinstance(ref, int) or str(ref).isdigit():
                raise ValueError(f"Sprint with id {ref} does not exist.")
            sprint = {
                "id": len(self.sprints) + 1,
                "name": str(ref),
                "state": "active",
                "boardId": 1,
            }
            self.sprints[str(ref)] = sprint
            return dict(sprint)

    def next_id(self) -> str:
        self._seq += 1
        return str(self._seq)

    def set_config(self, **changes: Any) -> dict[str, Any]:
        """Change settings; accepts camelCase keys (``webhookUrl``) or snake_case."""
        with self.lock:
            for key, value in changes.items():
                camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
                if camel not in self.config:
                    raise KeyError(f"unknown config key {key!r}")
                self.config[camel] = value
            return dict(self.config)

    # ---------------------------------------------------------------- lookups

    def get_issue(self, ref: str) -> dict[str, Any]:
        issue_id = self.keys.get(ref.upper(), ref)
        issue = self.issues.get(issue_id)
        if issue is None:
            raise HttpError(404, ["Issue does not exist or you do not have permission to see it."])
        return issue

    def find_project(self, ref: Any) -> str | None:
        if isinstance(ref, dict):
            ref = ref.get("key") or ref.get("id")
        if ref is None:
            return None
        ref = str(ref)
        for key, proj in self.projects.items():
            if ref.upper() == key or ref == proj["id"]:
                return key
        return None

    def require_project(self, ref: str) -> str:
        key = self.find_project(ref)
        if key is None:
            raise HttpError(404, ["No project could be found with key '" + ref + "'."])
        return key

    # ---------------------------------------------------------------- changes

    def create_issue(self, project: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A new issue in ``project`` with the (validated) ``fields``, in To Do."""
        proj = self.projects[project]
        proj["counter"] += 1
        created = now()
        issue_id = self.next_id()
        issue: dict[str, Any] = {
            "id": issue_id,
            "key": f"{project}-{proj['counter']}",
            "project": project,
            "fields": _default_fields(self.account_id) | fields,
            "status": INITIAL_STATUS,
            "resolution": None,
            "created": created,
            "updated": created,
            "resolutiondate": None,
            "statuscategorychangedate": created,
            "comments": [],
            "remotelinks": [],
            "attachments": [],
            "properties": {},
            "histories": [],
            "visibleAt": time.monotonic() + float(self.config.get("searchLagSeconds") or 0),
        }
        self.issues[issue_id] = issue
        self.keys[issue["key"]] = issue_id
        return issue

    def delete_issue(self, issue: dict[str, Any]) -> None:
        del self.issues[issue["id"]]
        self.keys.pop(issue["key"], None)
        for link_id in [
            k for k, v in self.links.items() if issue["id"] in (v["inward"], v["outward"])
        ]:
            del self.links[link_id]

    def add_comment(self, issue: dict[str, Any], body: Any) -> dict[str, Any]:
        at = now()
        comment = {"id": self.next_id(), "body": body, "created": at, "updated": at}
        issue["comments"].append(comment)
        return comment

    def add_history(self, issue: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        self._history_seq += 1
        history = {"id": str(self._history_seq), "created": jtime(now()), "items": items}
        issue["histories"].append(history)
        return history

    def emit(
        self,
        issue: dict[str, Any],
        event: str,
        type_name: str,
        history: dict[str, Any] | None,
        base: str,
    ) -> None:
        """Tell the listener (the webhook sender) of an issue event."""
        if self.listener is not None:
            self.listener(issue, event, type_name, history, base)


def _default_fields(account_id: str) -> dict[str, Any]:
    return {
        "priority": DEFAULT_PRIORITY,
        "labels": [],
        "description": None,
        "environment": None,
        "components": [],
        "fixVersions": [],
        "versions": [],
        "assignee": None,
        "reporter": account_id,
        "creator": account_id,
        "duedate": None,
        "subtasks": [],
        TEST_CASE_FIELD: None,
        SEVERITY_FIELD: None,
        "lastViewed": None,
    }
