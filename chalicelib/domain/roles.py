"""Roles of API keys, and who may do what: `PERMISSIONS` is the one table of every endpoint
(method and route path) -> the roles whose keys may call it, or how the endpoint proves who
calls instead of an API key. The routes consult it (`routes.common.principal_for`); a unit test
checks every role against every registered endpoint, and a route missing here fails it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    TESTER = "tester"
    CI = "ci"
    VIEWER = "viewer"


READ = frozenset(Role)
REPORT = frozenset({Role.ADMIN, Role.CI, Role.TESTER})
EDIT_DRAFT = frozenset({Role.ADMIN, Role.TESTER, Role.LEAD})
DECIDE = frozenset({Role.ADMIN, Role.LEAD})
ADMINISTER = frozenset({Role.ADMIN})
EDIT_CASES = frozenset({Role.ADMIN, Role.LEAD, Role.TESTER})
MANAGE = frozenset({Role.ADMIN, Role.LEAD})
PREVIEW = frozenset({Role.ADMIN, Role.LEAD, Role.CI})
BOOK = frozenset({Role.ADMIN, Role.LEAD, Role.TESTER, Role.CI})


class Proof(StrEnum):
    """Endpoints that take no API key: what proves the caller instead."""

    NONE = "public"  # health: reveals nothing
    APPROVAL_LINK = "approval link"  # signed, expiring, single-use token in the path
    VIEW_LINK = "view link"  # signed view link traded for a session cookie
    JIRA_SIGNATURE = "Jira webhook signature"
    SLACK_SIGNATURE = "Slack request signature"


Allowed = frozenset[Role] | Proof
P = "/v1/projects/{project}"

PERMISSIONS: dict[tuple[str, str], Allowed] = {
    ("GET", "/v1/health"): Proof.NONE,
    ("GET", "/v1/approvals/{token}"): Proof.APPROVAL_LINK,
    ("POST", "/v1/approvals/{token}"): Proof.APPROVAL_LINK,
    ("GET", "/v1/cluster-approvals/{token}"): Proof.APPROVAL_LINK,
    ("POST", "/v1/cluster-approvals/{token}"): Proof.APPROVAL_LINK,
    ("POST", "/v1/webhooks/jira"): Proof.JIRA_SIGNATURE,
    ("POST", "/v1/slack/interactions"): Proof.SLACK_SIGNATURE,
    ("GET", "/dashboard/{project}"): Proof.VIEW_LINK,
    ("GET", "/pages/tickets/{ticketId}"): Proof.VIEW_LINK,
    ("GET", "/pages/runs/{runId}"): Proof.VIEW_LINK,
    ("GET", "/pages/reports/{reportId}"): Proof.VIEW_LINK,
    ("GET", "/pages/projects/{project}/drafts"): Proof.VIEW_LINK,
    # projects, modules, keys, Jira and mapping
    ("GET", P): READ,
    ("PUT", P + "/modules/{module}"): ADMINISTER,
    ("POST", P + "/keys"): ADMINISTER,
    ("GET", P + "/keys"): ADMINISTER,
    ("DELETE", P + "/keys/{keyId}"): ADMINISTER,
    ("PUT", P + "/jira"): ADMINISTER,
    ("GET", P + "/jira"): READ,
    ("PUT", P + "/mapping"): ADMINISTER,
    ("GET", P + "/mapping"): ADMINISTER,
    ("POST", P + "/mapping/preview"): PREVIEW,
    # results, runs, uploads
    ("POST", P + "/results"): REPORT,
    ("POST", P + "/runs/{runId}/junit"): REPORT,
    ("POST", P + "/runs/{runId}/report"): REPORT,
    ("GET", P + "/runs/{runId}"): READ,
    ("POST", P + "/uploads"): REPORT,
    ("GET", P + "/uploads/{uploadId}"): READ,
    # tickets and decisions
    ("GET", "/v1/tickets/{ticketId}"): READ,
    ("GET", "/v1/tickets/{ticketId}/occurrences"): READ,
    ("PATCH", "/v1/tickets/{ticketId}"): EDIT_DRAFT,
    ("POST", "/v1/tickets/{ticketId}/attachments"): EDIT_DRAFT,
    ("POST", "/v1/tickets/{ticketId}/decision"): DECIDE,
    ("GET", P + "/tickets"): READ,
    ("GET", P + "/scenarios/{scenarioId}"): READ,
    # test plans and planned runs
    ("GET", P + "/test-plans"): READ,
    ("POST", P + "/test-plans"): DECIDE,
    ("GET", P + "/test-plans/{planId}"): READ,
    ("PUT", P + "/test-plans/{planId}"): DECIDE,
    ("DELETE", P + "/test-plans/{planId}"): DECIDE,
    ("POST", P + "/test-plans/{planId}/status"): DECIDE,
    ("GET", P + "/test-plans/{planId}/revisions"): READ,
    ("POST", P + "/runs"): DECIDE,
    ("GET", P + "/runs"): READ,
    ("PUT", P + "/runs/{runId}/results"): EDIT_DRAFT,
    ("GET", P + "/runs/{runId}/cases"): READ,
    ("GET", P + "/runs/{runId}/cases/{testCaseId}"): READ,
    ("POST", P + "/runs/{runId}/close"): DECIDE,
    # flaky tests and quarantines
    ("GET", P + "/flaky"): READ,
    ("PUT", P + "/flaky/settings"): ADMINISTER,
    ("PUT", P + "/scenarios/{scenarioId}/quarantine"): DECIDE,
    ("DELETE", P + "/scenarios/{scenarioId}/quarantine"): DECIDE,
    # root causes
    ("GET", P + "/clusters"): READ,
    ("GET", P + "/clusters/{clusterId}"): READ,
    ("POST", P + "/clusters/{clusterId}/decision"): DECIDE,
    # metrics, gates, exports, reports, pages
    ("GET", P + "/metrics"): READ,
    ("POST", P + "/quality-gates/validate"): READ,
    ("PUT", P + "/quality-gates/{name}"): ADMINISTER,
    ("POST", P + "/exports"): ADMINISTER,
    ("GET", P + "/exports/{exportId}"): ADMINISTER,
    ("POST", P + "/reports"): READ,
    ("GET", P + "/reports/{reportId}"): READ,
    ("PUT", P + "/report-schedules/{name}"): ADMINISTER,
    ("POST", P + "/page-links"): READ,
    # test cases, requirements, coverage
    ("GET", P + "/test-cases"): READ,
    ("POST", P + "/test-cases"): EDIT_CASES,
    ("POST", P + "/test-cases/import"): MANAGE,
    ("POST", P + "/test-cases/imports"): MANAGE,
    ("GET", P + "/test-cases/imports/{importId}"): READ,
    ("GET", P + "/test-cases/export"): READ,
    ("GET", P + "/test-cases/{testCaseId}"): READ,
    ("PUT", P + "/test-cases/{testCaseId}"): EDIT_CASES,
    ("DELETE", P + "/test-cases/{testCaseId}"): EDIT_CASES,
    ("GET", P + "/test-cases/{testCaseId}/versions"): READ,
    ("GET", P + "/requirements"): READ,
    ("POST", P + "/requirements/sync"): MANAGE,
    ("GET", P + "/requirements/{requirementId}"): READ,
    ("PUT", P + "/requirements/{requirementId}"): MANAGE,
    ("GET", P + "/coverage"): READ,
    ("GET", P + "/releases/{version}"): READ,
    ("GET", P + "/sprints/{sprint}"): READ,
    # environments and reservations
    ("GET", P + "/environments"): READ,
    ("POST", P + "/environments"): MANAGE,
    ("GET", P + "/environments/{envId}"): READ,
    ("PUT", P + "/environments/{envId}"): MANAGE,
    ("GET", P + "/environments/{envId}/snapshots"): READ,
    ("GET", P + "/environments/{envId}/reservations"): READ,
    ("POST", P + "/environments/{envId}/reservations"): BOOK,
    ("DELETE", P + "/environments/{envId}/reservations/{reservationId}"): BOOK,
    # audit
    ("GET", P + "/audit"): ADMINISTER,
}


def allowed(method: str, path: str) -> Allowed | None:
    """Who may call this endpoint; None for an endpoint the table does not know (refused)."""
    return PERMISSIONS.get((method.upper(), path))


@dataclass(frozen=True)
class Actor:
    """Who decides: a lead's or admin's API key, an approval link, or a Slack user."""

    who: str
    role: Role
    via: str
