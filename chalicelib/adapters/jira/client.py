"""Jira adapter: the `jira` client with its own retries off (the workflow owns retrying, so a
retried POST can never create a second issue behind our back). Jira's failures become:
JiraThrottled (429, with Retry-After), JiraUnavailable (5xx, connection errors; `unknown` when a
create may have happened), JiraRejected (4xx: the request itself is wrong)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any

from chalicelib.domain.outside import (  # noqa: F401  (re-exported for the adapter's users)
    JiraError,
    JiraRejected,
    JiraThrottled,
    JiraUnavailable,
)

JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"  # how Jira writes `created`: 2026-12-02T15:04:05.000+0000


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number ("1.5" included) or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


@contextmanager
def _translated(action: str, *, creating: bool = False) -> Iterator[None]:
    import requests
    from jira.exceptions import JIRAError

    try:
        yield
    except JIRAError as exc:
        status = exc.status_code or 0
        headers = getattr(exc.response, "headers", None) or {}
        wait = retry_after_seconds(headers.get("Retry-After"))
        if status == 429:
            raise JiraThrottled(wait if wait is not None else 30.0) from exc
        if status >= 500 or status == 0:
            raise JiraUnavailable(f"{action}: Jira answered {status}", retry_after=wait) from exc
        raise JiraRejected(f"{action}: Jira answered {status}: {_reason(exc)}") from exc
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise JiraUnavailable(f"{action}: {type(exc).__name__}", unknown=creating) from exc


def _reason(exc: Any) -> str:
    try:
        body = json.loads(exc.text or "{}")
    except ValueError:
        return str(exc.text)[:300]
    parts = list(body.get("errorMessages") or [])
    parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
    return "; ".join(parts)[:500] or str(exc.text)[:300]


def _story(issue: dict[str, Any], sprint_field: str | None) -> dict[str, Any]:
    fields = issue.get("fields") or {}
    sprints = fields.get(sprint_field) if sprint_field else None
    return {
        "key": issue["key"],
        "title": fields.get("summary"),
        "status": (fields.get("status") or {}).get("name"),
        "fixVersions": [v.get("name") for v in fields.get("fixVersions") or [] if v.get("name")],
        "sprints": [s.get("name") if isinstance(s, dict) else str(s) for s in sprints or [] if s],
        "updated": fields.get("updated"),
    }


class JiraTracker:
    def __init__(self, url: str, email: str, token: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._auth = (email, token)
        self._timeout = timeout
        self._client: Any = None
        self.calls = 0

    def __repr__(self) -> str:  # never the token
        return f"JiraTracker({self.url!r})"

    def client(self) -> Any:
        if self._client is None:
            from jira import JIRA

            with _translated("connect"):
                self._client = JIRA(
                    server=self.url, basic_auth=self._auth, max_retries=0, timeout=self._timeout
                )
            self._client._session.hooks["response"].append(self._count)
            self.calls += 1
        return self._client

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.calls += 1

    def _post(self, path: str, body: dict[str, Any], action: str) -> Any:
        client = self.client()
        with _translated(action):
            return client._session.post(client._get_url(path), data=json.dumps(body))

    def _get(self, path: str, action: str) -> Any:
        client = self.client()
        with _translated(action):
            return client._session.get(client._get_url(path)).json()

    # -- reading the configuration ----------------------------------------------------------

    def fields(self) -> list[dict[str, Any]]:
        with _translated("read fields"):
            return list(self.client().fields())

    def issue_types(self, project: str) -> list[dict[str, Any]]:
        """Jira Cloud's create metadata (the client refuses these calls on Cloud, so we ask)."""
        meta = self._get(f"issue/createmeta/{project}/issuetypes", "read issue types")
        return list(meta.get("issueTypes") or meta.get("values") or [])

    def create_fields(self, project: str, issue_type_id: str) -> list[dict[str, Any]]:
        meta = self._get(
            f"issue/createmeta/{project}/issuetypes/{issue_type_id}", "read create fields"
        )
        return list(meta.get("fields") or meta.get("values") or [])

    def link_types(self) -> list[dict[str, str]]:
        with _translated("read link types"):
            types = self.client().issue_link_types()
        return [{"name": t.name, "inward": t.inward, "outward": t.outward} for t in types]

    # -- writing ----------------------------------------------------------------------------

    def create_issue(self, fields: dict[str, Any]) -> str:
        with _translated("create issue", creating=True):
            issue = self.client().create_issue(fields=fields, prefetch=False)
        return str(issue.key)

    def find_by_label(self, label: str) -> str | None:
        with _translated("search"):
            found = self.client().search_issues(f'labels = "{label}"', maxResults=2, fields="key")
        return str(found[0].key) if found else None

    def link(self, link_type: str, inward: str, outward: str) -> None:
        """One issue link. Posted directly: the client re-reads every link type per call."""
        self._post(
            "issueLink",
            {
                "type": {"name": link_type},
                "inwardIssue": {"key": inward},
                "outwardIssue": {"key": outward},
            },
            "link issues",
        )

    def remote_link(self, key: str, global_id: str, url: str, title: str) -> None:
        """A web link that a repeat updates (globalId), not doubles. Posted directly: the client
        asks for application links first on every call."""
        self._post(
            f"issue/{key}/remotelink",
            {"globalId": global_id, "object": {"url": url, "title": title}},
            "add remote link",
        )

    def attach(self, key: str, name: str, stream: IO[bytes]) -> str:
        with _translated("attach"):
            attachment = self.client().add_attachment(key, attachment=stream, filename=name)
        return str(attachment.id)

    def comment(self, key: str, body: str) -> None:
        with _translated("comment"):
            self.client().add_comment(key, body)

    def commented_since(self, key: str, body: str, since: float) -> bool:
        """Whether one of the issue's newest 50 comments has exactly this body and was created
        at or after `since` (epoch seconds)."""
        page = self._get(f"issue/{key}/comment?orderBy=-created&maxResults=50", "read comments")
        for found in (page or {}).get("comments") or []:
            if str(found.get("body") or "").strip() != body.strip():
                continue
            try:
                created = datetime.strptime(str(found.get("created")), JIRA_TIME).timestamp()
            except ValueError:
                continue
            if created >= since:
                return True
        return False

    def transition(self, key: str, name: str) -> None:
        """Move an issue by the name of a transition or of its target status."""
        client = self.client()
        with _translated("transition"):
            for t in client.transitions(key):
                if name.lower() in (str(t["name"]).lower(), str(t["to"]["name"]).lower()):
                    client.transition_issue(key, t["id"])
                    return
        raise JiraRejected(f"transition: {key} has no transition to {name}")

    def current(self, keys: list[str]) -> list[dict[str, Any]]:
        """Status, category, resolution and update time of issues, by key (for reconciling)."""
        from chalicelib.domain.feedback import updated_at_ms

        with _translated("search"):
            found = self.client().search_issues(
                "key in (" + ",".join(keys) + ")",
                maxResults=len(keys),
                fields="status,resolution,updated",
                json_result=True,
            )
        out = []
        for issue in found.get("issues", []):
            fields = issue.get("fields") or {}
            status = fields.get("status") or {}
            out.append(
                {
                    "key": issue["key"],
                    "status": status.get("name", ""),
                    "category": (status.get("statusCategory") or {}).get("key", ""),
                    "resolution": (fields.get("resolution") or {}).get("name"),
                    "updatedAt": updated_at_ms({"issue": issue}),
                }
            )
        return out

    def resolution_and_last_comment(self, key: str) -> tuple[str | None, str | None]:
        with _translated("read issue"):
            issue = self.client().issue(key, fields="resolution,comment")
        resolution = getattr(getattr(issue.fields, "resolution", None), "name", None)
        comments = getattr(getattr(issue.fields, "comment", None), "comments", []) or []
        return resolution, (comments[-1].body if comments else None)

    def stories(self, jql: str, sprint_field: str | None = None) -> Iterator[dict[str, Any]]:
        """Issues the JQL finds, a page of 100 at a time through Cloud's enhanced search
        (`search/jql`, nextPageToken): key, summary, status, fixVersions, sprints, updated.
        The sprint field is a custom field: found by name ("Sprint") unless named."""
        field_id = self._sprint_field(sprint_field)
        wanted = ["summary", "status", "fixVersions", "updated", *([field_id] if field_id else [])]
        token: str | None = None
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": wanted, "maxResults": 100}
            if token:
                body["nextPageToken"] = token
            page = self._post("search/jql", body, "search stories").json()
            for issue in page.get("issues", []):
                yield _story(issue, field_id)
            token = page.get("nextPageToken")
            if page.get("isLast", True) or not token:
                return

    def _sprint_field(self, named: str | None) -> str | None:
        if named and named.startswith("customfield_"):
            return named
        wanted = (named or "Sprint").lower()
        for f in self.fields():
            if str(f.get("name", "")).lower() == wanted:
                return str(f["id"])
        return None

    def issue_url(self, key: str) -> str:
        return f"{self.url}/browse/{key}"
