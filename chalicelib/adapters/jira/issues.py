"""What a Jira issue says: fields and description from a ticket and the project's mapping, our
label on it, and link type names as Jira sites spell them. Pure functions; `client` sends what
they build."""

from __future__ import annotations

import re
from typing import Any

JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$")


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def unique_label(ticket_id: str) -> str:
    """The label that finds a ticket's issue again after a create whose answer was lost."""
    return f"failbridge-{ticket_id}"


def summary(mapping: dict[str, Any], ticket: dict[str, Any]) -> str:
    values = _Blank(
        {
            k: ticket.get(k) or ""
            for k in ("title", "module", "scenarioId", "testCaseId", "severity", "priority", "id")
        }
    )
    try:
        text = str(mapping.get("summaryTemplate") or "{title}").format_map(values)
    except (ValueError, IndexError, AttributeError):
        text = str(ticket.get("title") or ticket["id"])
    return " ".join(text.split())[:250] or ticket["id"]


def _wiki(text: Any) -> str:
    """Reported text inside Jira wiki markup: never able to close our code blocks."""
    return str(text or "—").replace("{code}", "{ code}").replace("{noformat}", "{ noformat}")


def description(ticket: dict[str, Any], occurrences: list[dict[str, Any]], ticket_url: str) -> str:
    run = ticket.get("run") or {}
    error = ticket.get("error") or {}
    parts = [
        f"Reported by failbridge from a failed test. Ticket: [{ticket['id']}|{ticket_url}]",
        f"*Scenario:* {_wiki(ticket.get('scenarioId'))}  *Test case:* "
        f"{_wiki(ticket.get('testCaseId'))}  *Module:* {_wiki(ticket.get('module'))}",
        "h3. Steps\n" + _wiki(ticket.get("steps") or f"Run test case {ticket.get('testCaseId')}"),
        "h3. Expected\n" + _wiki(ticket.get("expected")),
        "h3. Actual\n" + _wiki(ticket.get("actual")),
        "h3. Environment\n" + _wiki(ticket.get("environment") or run.get("environment")),
    ]
    if error:
        parts.append(
            "h3. Error\n{code}"
            + _wiki(
                f"{error.get('type', '')}: {error.get('message', '')}\n{error.get('trace', '')}"
            ).strip()
            + "{code}"
        )
    if ticket.get("notes"):
        parts.append("h3. Notes\n" + _wiki(ticket["notes"]))
    rows = ["||When||Run||Test case||Reporter||"]
    for o in occurrences[:50]:
        run_name = _wiki(" ".join(filter(None, (o.get("runName"), f"({o.get('runId')})"))))
        run_name = run_name.replace("|", "/")
        run_cell = f"[{run_name}|{o['ciUrl']}]" if o.get("ciUrl") else run_name
        rows.append(
            f"|{o.get('at', '')}|{run_cell}|{_wiki(o.get('testCaseId')).replace('|', '/')}"
            f"|{_wiki(o.get('reporter')).replace('|', '/')}|"
        )
    parts.append(
        f"h3. Occurrences ({ticket.get('occurrences', len(occurrences))}), reported by "
        + ", ".join(ticket.get("reporters") or [])
        + "\n"
        + "\n".join(rows)
    )
    return "\n\n".join(parts)


def issue_fields(mapping: dict[str, Any], ticket: dict[str, Any], text: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "project": {"key": mapping["projectKey"]},
        "issuetype": {"name": mapping["issueType"]},
        "summary": summary(mapping, ticket),
        "description": text,
        "labels": sorted({*mapping.get("labels", []), "failbridge", unique_label(ticket["id"])}),
    }
    if mapping.get("components"):
        fields["components"] = [{"name": c} for c in mapping["components"]]
    priority = (mapping.get("priorityMap") or {}).get(ticket.get("priority") or "")
    if priority:
        fields["priority"] = {"name": priority}
    severity = (mapping.get("severityMap") or {}).get(ticket.get("severity") or "")
    if mapping.get("severityFieldId") and severity:
        fields[mapping["severityFieldId"]] = {"value": severity}
    if mapping.get("testCaseIdFieldId"):
        fields[mapping["testCaseIdFieldId"]] = ticket.get("testCaseId")
    fields.update(mapping.get("extraFields") or {})
    return fields


def filled_fields(mapping: dict[str, Any]) -> set[str]:
    """Field ids a mapping fills on every issue (priority and severity only when mapped)."""
    filled = {"project", "issuetype", "summary", "description", "labels", "reporter"}
    if mapping.get("components"):
        filled.add("components")
    for key in ("severityFieldId", "testCaseIdFieldId"):
        if mapping.get(key):
            filled.add(mapping[key])
    filled.update(mapping.get("extraFields") or {})
    return filled


def resolve_link_type(wanted: str, available: list[dict[str, str]]) -> str | None:
    """A configured link type by its name or either description, ignoring case and a plural s
    ("Test" finds "Tests": sites name them differently)."""

    def norm(text: str) -> str:
        text = text.strip().lower()
        return text[:-1] if text.endswith("s") else text

    target = norm(wanted)
    for kind in ("name", "outward", "inward"):
        for link_type in available:
            if norm(link_type.get(kind) or "") == target:
                return link_type["name"]
    return None
