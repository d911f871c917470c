"""Dev data for the local stack: project DEMO, its modules and leads, and one API key per role.

Idempotent: the project is created once, modules are upserts, and each role's dev key replaces the
dev key issued before it (keys are stored hashed, so an old key cannot be shown again)."""

from __future__ import annotations

import contextlib
from typing import Any

from chalicelib.domain.roles import Role
from chalicelib.errors import Conflict, NotFound

PROJECT = "DEMO"
MODULES: dict[str, str] = {
    "checkout": "lead@example.com",
    "search": "search-lead@example.com",
}
# Every module without a lead of its own (JUnit reports land in DEFAULT_MODULE unless a rule or a
# property names one) is decided by DEFAULT_LEAD: the dev lead key's person, so it can decide all.
DEFAULT_LEAD = "lead@example.com"
DEFAULT_MODULE = "general"
# module -> its lead's Slack user id (Slack buttons: only this user may decide)
SLACK_USERS: dict[str, str] = {"checkout": "U0LEAD"}
# role -> the person the key belongs to (None: a machine key, shown as "<role>:<keyId>")
KEY_USERS: dict[str, str | None] = {
    "admin": None,
    "ci": None,
    "tester": "tester@example.com",
    "lead": "lead@example.com",
    "viewer": "viewer@example.com",
}
KEY_NAME = "dev-{role}"
# How DEMO's approved drafts become issues in the emulator's project KP (checked against it).
JIRA_MAPPING: dict[str, Any] = {
    "projectKey": "KP",
    "issueType": "Bug",
    "summaryTemplate": "[{module}] {title}",
    "labels": ["qa"],
    "priorityMap": {"highest": "Highest", "high": "High", "medium": "Medium", "low": "Low"},
    "severityField": "Severity",
    "severityMap": {
        "blocker": "Blocker",
        "critical": "Critical",
        "major": "Major",
        "minor": "Minor",
        "trivial": "Trivial",
    },
    "testCaseIdField": "Test Case ID",
    "linkTypes": {
        "defectToTestCase": "Tests",
        "defectToExecution": "Relates",
        "requirementToTestCase": "Tests",
    },
    "requirementsJql": "project = KP AND issuetype = Story",
}


def seed_jira(jira_mapping: Any, project: str = PROJECT) -> dict[str, Any]:
    from chalicelib.models import JiraMappingIn

    return dict(jira_mapping.configure(project, JiraMappingIn.model_validate(JIRA_MAPPING)))


RELEASE_GATE = (("passRate", "gte", 90.0), ("criticalDefects", "lte", 0.0))


def seed_gates(metrics: Any, project: str = PROJECT) -> dict[str, Any]:
    """The `release` quality gate the examples and the CI client ask."""
    from chalicelib.domain.gates import Gate

    gates = [Gate(metric, operator, threshold) for metric, operator, threshold in RELEASE_GATE]
    return dict(
        metrics.save_gate(project, "release", gates, "pass rate 90 %, no critical defect open")
    )


def seed(access: Any, project: str = PROJECT) -> dict[str, Any]:
    """Seed through AccessService. Returns {"project", "modules": {name: {"lead"}}, "keys":
    {role: key}, "defaultLead", "defaultModule"}: the only place the dev keys are ever shown."""
    try:
        access.project(project)
        access.set_defaults(project, DEFAULT_LEAD, DEFAULT_MODULE)  # seeded before they existed
    except NotFound:
        with contextlib.suppress(Conflict):  # created concurrently: fine
            access.create_project(
                project,
                "Demo project",
                False,
                default_lead=DEFAULT_LEAD,
                default_module=DEFAULT_MODULE,
            )
    modules = {}
    for name, lead in MODULES.items():
        slack_user = SLACK_USERS.get(name)
        access.put_module(project, name, lead, slack_user)
        modules[name] = {"lead": lead, **({"slackUserId": slack_user} if slack_user else {})}
    existing = access.list_keys(project)
    keys = {}
    for role, user in KEY_USERS.items():
        name = KEY_NAME.format(role=role)
        for old in existing:
            if old.get("name") == name and old.get("role") == role:
                access.revoke_key(project, old["keyId"])
        keys[role] = access.issue_key(project, Role(role), name, user)["key"]
    return {
        "project": project,
        "modules": modules,
        "keys": keys,
        "defaultLead": DEFAULT_LEAD,
        "defaultModule": DEFAULT_MODULE,
    }
