"""What each operation answers: its success status and body, as JSON Schemas for the OpenAPI
document. Written from the views (`chalicelib.routes`, `Ticket.public_view`, the services' return
values); the fuzz run (tests/e2e/test_fuzz.py) checks every response against them. Required
fields are the ones every answer carries; objects stay open (the contract grows by adding)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.statuses import TicketStatus

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


PRESIGNED_POST = {"url": STRING, "fields": {"type": "object", "additionalProperties": STRING}}
TICKET_STATUS = {"type": "string", "enum": [s.value for s in TicketStatus]}
JIRA_LINK = {
    "anyOf": [{"type": "null"}, obj({"key": STRING}, {"url": NULLABLE_STRING})],
}
HISTORY_ENTRY = obj(
    {"at": STRING, "status": TICKET_STATUS},
    {"by": NULLABLE_STRING, "reason": NULLABLE_STRING},
)
TICKET = obj(
    {
        "id": STRING,
        "project": STRING,
        "scenarioId": STRING,
        "testCaseId": STRING,
        "module": STRING,
        "status": TICKET_STATUS,
        "title": STRING,
        "expected": NULLABLE_STRING,
        "actual": NULLABLE_STRING,
        "notes": NULLABLE_STRING,
        "severity": NULLABLE_STRING,
        "priority": NULLABLE_STRING,
        "reporters": {"type": "array", "items": STRING},
        "occurrences": INTEGER,
        "jira": JIRA_LINK,
        "history": {"type": "array", "items": HISTORY_ENTRY},
    },
    {
        "executions": {"type": "array", "items": {"type": "object"}},
        "attachments": {"type": "array", "items": {"type": "object"}},
    },
)
RECORDED = obj(
    {
        "results": {
            "type": "array",
            "items": obj(
                {
                    "executionId": STRING,
                    "ticket": {
                        "anyOf": [
                            {"type": "null"},
                            obj(
                                {
                                    "id": STRING,
                                    "status": TICKET_STATUS,
                                    "merged": {"type": "boolean"},
                                }
                            ),
                        ]
                    },
                },
                {
                    "flaky": {"type": "boolean"},
                    "muted": {"type": "string", "enum": ["flaky", "quarantined"]},
                },
            ),
        }
    }
)
MODULE = obj({"name": STRING, "project": STRING, "lead": STRING}, {"slackUserId": STRING})
KEY = obj(
    {"keyId": STRING, "project": STRING, "role": STRING, "name": STRING, "createdAt": STRING},
    {"user": STRING},
)
MAPPING = obj(
    {"mappingRules": {"type": "array", "items": {"type": "object"}}},
    {"defaultModule": NULLABLE_STRING, "defaultLead": NULLABLE_STRING},
)
JIRA_MAPPING = {"type": "object", "properties": {"projectKey": STRING, "issueType": STRING}}
SCENARIO = obj(
    {
        "id": STRING,
        "status": {
            "type": "string",
            "enum": ["passed", "failing", "defect_open", "ready_for_retest"],
        },
        "testCases": {"type": "array", "items": STRING},
        "tickets": {"type": "array", "items": obj({"id": STRING, "status": TICKET_STATUS})},
    },
    {"lastExecution": {"type": ["object", "null"]}},
)
UPLOAD = obj({"uploadId": STRING, "project": STRING, "status": STRING, "run": {"type": "object"}})
PREVIEW = obj(
    {
        "items": {"type": "array", "items": {"type": "object"}},
        "summary": {"type": "object"},
        "mapping": {"type": "object"},
    }
)
SIGNATURE = obj(
    {"version": INTEGER, "key": STRING, "exception": STRING, "message": STRING},
    {"frames": {"type": "array", "items": STRING}},
)
CLUSTER_MEMBER = obj(
    {"ticketId": STRING, "scenarioId": STRING, "signatureKey": STRING, "joinedAt": STRING},
    {"why": {"type": "object"}, "testCaseId": NULLABLE_STRING},
)
CLUSTER = obj(
    {
        "clusterId": STRING,
        "project": STRING,
        "status": {"type": "string", "enum": ["open", "decided"]},
        "summary": STRING,
        "signature": SIGNATURE,
        "scenarios": INTEGER,
        "drafts": INTEGER,
        "members": {"type": "array", "items": CLUSTER_MEMBER},
        "state": {"type": "string", "enum": ["open", "decided", "new since decision"]},
        "createdAt": STRING,
        "lastSeenAt": STRING,
    },
    {
        "group": NULLABLE_STRING,
        "decision": {"type": ["object", "null"]},
        # founded by a failure of a root cause decided before: that decision
        "sinceDecision": {"type": ["object", "null"]},
    },
)
CLUSTER_DECIDED = {
    **CLUSTER,
    "properties": {**CLUSTER["properties"], "outcome": {"type": "object"}},
}
SLACK_OUTCOME = obj({"ok": {"type": "boolean"}, "outcome": STRING})
JIRA_ACCEPTED = obj({"accepted": {"type": "boolean"}}, {"reason": STRING})
STRINGS = {"type": "array", "items": STRING}
TEST_CASE = obj(
    {
        "testCaseId": STRING,
        "version": INTEGER,
        "title": STRING,
        "deleted": {"type": "boolean"},
        "requirements": STRINGS,
        "steps": {"type": "array", "items": {"type": "object"}},
    },
    {"module": NULLABLE_STRING, "suite": NULLABLE_STRING, "jiraTestKey": NULLABLE_STRING},
)
TEST_CASE_LINK = obj({"testCaseId": STRING}, {"lastResult": NULLABLE_STRING})
REQUIREMENT = obj(
    {
        "id": STRING,
        "testCases": {"type": "array", "items": TEST_CASE_LINK},
        "coverage": STRING,
    },
    {
        "title": NULLABLE_STRING,
        "status": NULLABLE_STRING,
        "fixVersions": STRINGS,
        "sprints": STRINGS,
        "lastTested": NULLABLE_STRING,
    },
)
IMPORTED = obj(
    {
        "dryRun": {"type": "boolean"},
        "valid": {"type": "boolean"},
        "summary": {"type": "object"},
        "unknownColumns": STRINGS,
    },
    {"imported": INTEGER, "rows": {"type": "array"}, "testCases": {"type": "array"}},
)
NULLABLE_NUMBER = {"type": ["number", "null"]}
SCOPE_GATE = obj(
    {"evaluated": {"type": "boolean"}},
    {
        "gate": STRING,
        "passed": {"type": "boolean"},
        "results": {
            "type": "array",
            "items": obj(
                {
                    "metric": STRING,
                    "operator": STRING,
                    "threshold": {"type": "number"},
                    "value": NULLABLE_NUMBER,
                    "passed": {"type": "boolean"},
                    "source": STRING,
                }
            ),
        },
        "reasons": STRINGS,
        "recommendation": STRING,
        "figures": obj(
            {
                "stories": INTEGER,
                "testCases": INTEGER,
                "executed": INTEGER,
                "passRate": NULLABLE_NUMBER,
                "openDefects": {"type": "object"},
                "coverage": NULLABLE_NUMBER,
            }
        ),
    },
)
SCOPE_VIEW = obj({"stories": INTEGER, "summary": {"type": "object"}, "gate": SCOPE_GATE})
TEST_CASE_IMPORT = obj(
    {
        "importId": STRING,
        "status": {
            "type": "string",
            "enum": [
                "waiting_for_upload",
                "validating",
                "invalid",
                "validated",
                "writing",
                "completed",
                "failed",
            ],
        },
        "dryRun": {"type": "boolean"},
    },
    {
        "summary": {"type": "object"},
        "errorCount": INTEGER,
        "errors": {
            "type": "array",
            "items": obj({"row": INTEGER, "column": STRING, "field": STRING, "problem": STRING}),
        },
        "written": INTEGER,
        "error": {"type": "object"},
    },
)

# (method, path) -> (success status, description, body schema or None for no body)
ENV_STATUS = {"type": "string", "enum": ["available", "degraded", "down", "maintenance"]}
CONFIGURATION = {"type": "object", "additionalProperties": STRING}
ENVIRONMENT = obj(
    {
        "envId": STRING,
        "name": STRING,
        "status": ENV_STATUS,
        "configuration": CONFIGURATION,
        "revision": INTEGER,
        "updatedAt": STRING,
    },
    {"description": STRING, "createdAt": STRING, "updatedBy": NULLABLE_STRING},
)
SNAPSHOT = obj(
    {"envId": STRING, "revision": INTEGER, "status": ENV_STATUS, "configuration": CONFIGURATION},
    {"updatedAt": STRING, "updatedBy": NULLABLE_STRING, "name": STRING},
)
RESERVATION = obj(
    {"reservationId": STRING, "envId": STRING, "from": STRING, "to": STRING},
    {"purpose": STRING, "runId": STRING, "reservedBy": STRING, "createdAt": STRING},
)
AUDIT_ENTRY = obj(
    {
        "at": STRING,
        "actor": obj({"type": STRING, "id": STRING}, {"role": STRING, "user": STRING}),
        "action": STRING,
        "target": obj({"type": STRING, "id": STRING}),
        "changes": {"type": "object"},
        "requestId": NULLABLE_STRING,
    }
)


SUCCESS: dict[tuple[str, str], tuple[int, str, dict[str, Any] | None]] = {
    ("GET", "/v1/tickets/{ticketId}/occurrences"): (
        200,
        "A page of the ticket's occurrences, newest first",
        obj({"items": {"type": "array", "items": {"type": "object"}}, "next": NULLABLE_STRING}),
    ),
    ("GET", "/v1/projects/{project}/metrics"): (
        200,
        "The period's figures (docs/metrics.md defines each)",
        obj(
            {"period": {"type": "object"}},
            {
                "testExecution": {"type": "object"},
                "defects": {"type": "object"},
                "trends": {"type": "object"},
            },
        ),
    ),
    ("POST", "/v1/projects/{project}/quality-gates/validate"): (
        200,
        "Each gate's value and verdict, the overall verdict and a recommendation",
        obj(
            {"passed": {"type": "boolean"}, "results": {"type": "array"}},
            {"recommendation": STRING},
        ),
    ),
    ("PUT", "/v1/projects/{project}/quality-gates/{name}"): (
        200,
        "The saved gate",
        {"type": "object"},
    ),
    ("POST", "/v1/projects/{project}/exports"): (202, "The export run", obj({"exportId": STRING})),
    ("GET", "/v1/projects/{project}/exports/{exportId}"): (
        200,
        "The export run's outcome",
        {"type": "object"},
    ),
    ("POST", "/v1/projects/{project}/runs/{runId}/report"): (
        200,
        "One outcome per result, and the format the report was read as",
        obj({"format": STRING, "results": {"type": "array", "items": {"type": "object"}}}),
    ),
    ("GET", "/v1/health"): (
        200,
        "The API answers",
        obj({"status": {"const": "ok"}, "version": STRING}),
    ),
    ("GET", "/v1/projects/{project}"): (
        200,
        "The project, its modules and settings",
        obj({"key": STRING, "modules": {"type": "array", "items": MODULE}}),
    ),
    ("GET", "/v1/projects/{project}/jira"): (200, "The Jira mapping ({} when none)", JIRA_MAPPING),
    ("PUT", "/v1/projects/{project}/jira"): (200, "The saved Jira mapping", JIRA_MAPPING),
    ("GET", "/v1/projects/{project}/keys"): (
        200,
        "The project's keys (never the secrets)",
        obj({"items": {"type": "array", "items": KEY}}),
    ),
    ("POST", "/v1/projects/{project}/keys"): (
        201,
        "The new key; its secret is shown this once",
        {
            **KEY,
            "required": [*KEY["required"], "key"],
            "properties": {**KEY["properties"], "key": STRING},
        },
    ),
    ("DELETE", "/v1/projects/{project}/keys/{keyId}"): (204, "Revoked", None),
    ("GET", "/v1/projects/{project}/mapping"): (200, "The mapping rules", MAPPING),
    ("PUT", "/v1/projects/{project}/mapping"): (200, "The saved mapping rules", MAPPING),
    ("POST", "/v1/projects/{project}/mapping/preview"): (
        200,
        "What the report would become",
        PREVIEW,
    ),
    ("PUT", "/v1/projects/{project}/modules/{module}"): (200, "The saved module", MODULE),
    ("POST", "/v1/projects/{project}/results"): (200, "One outcome per result", RECORDED),
    ("POST", "/v1/projects/{project}/runs/{runId}/junit"): (
        200,
        "One outcome per test case",
        RECORDED,
    ),
    ("GET", "/v1/projects/{project}/scenarios/{scenarioId}"): (200, "The scenario", SCENARIO),
    ("GET", "/v1/projects/{project}/tickets"): (
        200,
        "A page of tickets",
        obj({"items": {"type": "array", "items": TICKET}, "next": NULLABLE_STRING}),
    ),
    ("POST", "/v1/projects/{project}/uploads"): (
        201,
        "A presigned S3 POST for the report",
        obj({"uploadId": STRING, **PRESIGNED_POST}),
    ),
    ("GET", "/v1/projects/{project}/uploads/{uploadId}"): (200, "The upload's progress", UPLOAD),
    ("GET", "/v1/tickets/{ticketId}"): (200, "The ticket", TICKET),
    ("PATCH", "/v1/tickets/{ticketId}"): (200, "The edited draft", TICKET),
    ("POST", "/v1/tickets/{ticketId}/attachments"): (
        201,
        "A presigned S3 POST for the evidence",
        obj({"attachmentId": STRING, **PRESIGNED_POST}),
    ),
    ("POST", "/v1/tickets/{ticketId}/decision"): (200, "The decided ticket", TICKET),
    ("GET", "/v1/projects/{project}/clusters"): (
        200,
        "The project's root causes across scenarios, most scenarios first",
        obj({"clusters": {"type": "array", "items": CLUSTER}}),
    ),
    ("GET", "/v1/projects/{project}/clusters/{clusterId}"): (200, "The cluster", CLUSTER),
    ("POST", "/v1/projects/{project}/clusters/{clusterId}/decision"): (
        200,
        "The cluster decided (or split); `outcome`: what became of each draft",
        CLUSTER_DECIDED,
    ),
    ("POST", "/v1/webhooks/jira"): (202, "Queued (or ignored, saying why)", JIRA_ACCEPTED),
    ("POST", "/v1/slack/interactions"): (200, "What the click did", SLACK_OUTCOME),
    ("GET", "/v1/approvals/{token}"): (200, "The page: what is being decided, and its form", None),
    ("POST", "/v1/approvals/{token}"): (200, "The page: the decision recorded", None),
    ("GET", "/v1/cluster-approvals/{token}"): (
        200,
        "A root cause's page: its members, why each is grouped, and its forms",
        None,
    ),
    ("POST", "/v1/cluster-approvals/{token}"): (
        200,
        "The page: the root cause decided (or scenarios split off)",
        None,
    ),
    ("GET", "/v1/projects/{project}/test-cases"): (
        200,
        "A page of the project's test cases",
        obj({"items": {"type": "array", "items": TEST_CASE}, "next": NULLABLE_STRING}),
    ),
    ("POST", "/v1/projects/{project}/test-cases"): (
        201,
        "The registered test case, version 1 (ETag: its version)",
        TEST_CASE,
    ),
    ("POST", "/v1/projects/{project}/test-cases/import"): (
        200,
        "Every row's outcome; with dryRun nothing is written",
        IMPORTED,
    ),
    ("POST", "/v1/projects/{project}/test-cases/imports"): (
        201,
        "A presigned S3 POST for a large test-case file, and the import's id",
        obj(
            {"importId": STRING, "status": STRING, "dryRun": {"type": "boolean"}, **PRESIGNED_POST}
        ),
    ),
    ("GET", "/v1/projects/{project}/test-cases/imports/{importId}"): (
        200,
        "The import's status, counts, errors by row and column, test cases written so far",
        TEST_CASE_IMPORT,
    ),
    ("GET", "/v1/projects/{project}/test-cases/export"): (
        200,
        "Every live test case, as JSON or CSV (format=csv)",
        obj({"testCases": {"type": "array", "items": obj({"testCaseId": STRING})}}),
    ),
    ("GET", "/v1/projects/{project}/test-cases/{testCaseId}"): (
        200,
        "The test case's current version (ETag: its version)",
        TEST_CASE,
    ),
    ("PUT", "/v1/projects/{project}/test-cases/{testCaseId}"): (
        200,
        "The new version (ETag: its version)",
        TEST_CASE,
    ),
    ("DELETE", "/v1/projects/{project}/test-cases/{testCaseId}"): (
        200,
        "Deleted: a last version marked deleted",
        obj({"testCaseId": STRING, "deleted": {"const": True}, "version": INTEGER}),
    ),
    ("GET", "/v1/projects/{project}/test-cases/{testCaseId}/versions"): (
        200,
        "Every version, oldest first",
        obj({"items": {"type": "array", "items": {"type": "object"}}}),
    ),
    ("GET", "/v1/projects/{project}/requirements"): (
        200,
        "A page of requirements and stories with their test cases",
        obj({"items": {"type": "array", "items": REQUIREMENT}, "next": NULLABLE_STRING}),
    ),
    ("POST", "/v1/projects/{project}/requirements/sync"): (
        200,
        "What the sync read and wrote",
        obj({"jql": STRING}, {"since": NULLABLE_STRING}),
    ),
    ("GET", "/v1/projects/{project}/requirements/{requirementId}"): (
        200,
        "The requirement with its test cases and their last results",
        REQUIREMENT,
    ),
    ("PUT", "/v1/projects/{project}/requirements/{requirementId}"): (
        200,
        "The saved requirement",
        REQUIREMENT,
    ),
    ("GET", "/v1/projects/{project}/coverage"): (
        200,
        "Requirements with their coverage; modules with coverage and pass rate",
        obj(
            {
                "requirements": {"type": "array", "items": {"type": "object"}},
                "modules": {"type": "array", "items": {"type": "object"}},
                "next": NULLABLE_STRING,
            }
        ),
    ),
    ("GET", "/v1/projects/{project}/releases/{version}"): (
        200,
        "The release's stories by where they stand, and the gate verdict",
        {**SCOPE_VIEW, "required": [*SCOPE_VIEW["required"], "release"]},
    ),
    ("GET", "/v1/projects/{project}/sprints/{sprint}"): (
        200,
        "The sprint's stories by where they stand, and the gate verdict",
        {**SCOPE_VIEW, "required": [*SCOPE_VIEW["required"], "sprint"]},
    ),
    ("POST", "/v1/projects/{project}/page-links"): (
        201,
        "A signed view link for the caller's role, and when it expires",
        obj({"url": STRING, "expiresAt": STRING}),
    ),
    ("POST", "/v1/projects/{project}/reports"): (
        202,
        "Queued: the report is built from the build queue into S3",
        obj({"reportId": STRING, "status": {"const": "queued"}}),
    ),
    ("GET", "/v1/projects/{project}/reports/{reportId}"): (
        200,
        "The report's status and, when done, a presigned download URL",
        obj(
            {
                "reportId": STRING,
                "type": STRING,
                "format": STRING,
                "status": {"type": "string", "enum": ["queued", "done", "failed"]},
                "downloadUrl": NULLABLE_STRING,
            },
            {"downloadExpiresInSeconds": INTEGER, "period": {"type": "object"}},
        ),
    ),
    ("PUT", "/v1/projects/{project}/report-schedules/{name}"): (
        200,
        "The saved schedule",
        obj({"name": STRING, "project": STRING, "updatedAt": STRING}),
    ),
    ("GET", "/v1/projects/{project}/environments"): (
        200,
        "A page of the project's environments",
        obj({"items": {"type": "array", "items": ENVIRONMENT}, "next": NULLABLE_STRING}),
    ),
    ("POST", "/v1/projects/{project}/environments"): (
        201,
        "The new environment (revision 1, its first snapshot kept)",
        ENVIRONMENT,
    ),
    ("GET", "/v1/projects/{project}/environments/{envId}"): (200, "The environment", ENVIRONMENT),
    ("PUT", "/v1/projects/{project}/environments/{envId}"): (
        200,
        "The environment at its new revision (a change that changes nothing keeps the revision)",
        ENVIRONMENT,
    ),
    ("GET", "/v1/projects/{project}/environments/{envId}/snapshots"): (
        200,
        "The environment's snapshots, newest first: one per revision",
        obj({"items": {"type": "array", "items": SNAPSHOT}, "next": NULLABLE_STRING}),
    ),
    ("GET", "/v1/projects/{project}/environments/{envId}/reservations"): (
        200,
        "Reservations overlapping the period, earliest first",
        obj({"items": {"type": "array", "items": RESERVATION}}),
    ),
    ("POST", "/v1/projects/{project}/environments/{envId}/reservations"): (
        201,
        "Booked (409 names the reservation it overlaps)",
        RESERVATION,
    ),
    ("DELETE", "/v1/projects/{project}/environments/{envId}/reservations/{reservationId}"): (
        204,
        "Cancelled",
        None,
    ),
    ("GET", "/v1/projects/{project}/audit"): (
        200,
        "Who did what, oldest first",
        obj({"items": {"type": "array", "items": AUDIT_ENTRY}, "next": NULLABLE_STRING}),
    ),
    # Pages for browsers (HTML). A GET with a view link (`t=`) answers 303 instead, setting the
    # session cookie and redirecting to the same page without the token.
    ("GET", "/dashboard/{project}"): (200, "The project's dashboard page", None),
    ("GET", "/pages/tickets/{ticketId}"): (200, "The ticket's page", None),
    ("GET", "/pages/runs/{runId}"): (200, "The run's page", None),
    ("GET", "/pages/projects/{project}/drafts"): (
        200,
        "The page of the project's drafts waiting for a decision",
        None,
    ),
    ("GET", "/pages/reports/{reportId}"): (
        303,
        "A redirect to a fresh presigned download URL of the report's file",
        None,
    ),
}

# Flaky test cases across runs and quarantines (issue 16)
QUARANTINE = obj(
    {"until": STRING, "reason": STRING},
    {"by": NULLABLE_STRING, "at": NULLABLE_STRING, "scenarioId": STRING, "active": BOOLEAN},
)
FLAKY_SETTINGS = obj(
    {
        "window": INTEGER,
        "threshold": NUMBER,
        "minExecutions": INTEGER,
        "outageShare": NUMBER,
        "outageMinResults": INTEGER,
    }
)
LAST_RUN = obj(
    {"runId": STRING, "attempt": INTEGER, "at": STRING, "status": STRING},
    {"commit": STRING, "outage": BOOLEAN},
)
FLAKY_CASE = obj(
    {
        "scenarioId": STRING,
        "testCaseId": STRING,
        "flaky": BOOLEAN,
        "flipRate": NUMBER,
        "flips": INTEGER,
        "executions": INTEGER,
        "failures": INTEGER,
        "passOnRetry": BOOLEAN,
        "window": INTEGER,
        "lastRuns": {"type": "array", "items": LAST_RUN},
        "quarantine": {"anyOf": [{"type": "null"}, QUARANTINE]},
    },
    {"since": NULLABLE_STRING},
)
SUCCESS.update(
    {
        ("GET", "/v1/projects/{project}/flaky"): (
            200,
            "Flaky test cases (flip rate, window, last runs, quarantine), quarantines in force, "
            "the detection settings",
            obj(
                {
                    "project": STRING,
                    "settings": FLAKY_SETTINGS,
                    "items": {"type": "array", "items": FLAKY_CASE},
                    "quarantined": {"type": "array", "items": QUARANTINE},
                }
            ),
        ),
        ("PUT", "/v1/projects/{project}/scenarios/{scenarioId}/quarantine"): (
            200,
            "The quarantine in force",
            QUARANTINE,
        ),
        ("DELETE", "/v1/projects/{project}/scenarios/{scenarioId}/quarantine"): (
            200,
            "The quarantine, ended",
            QUARANTINE,
        ),
        ("PUT", "/v1/projects/{project}/flaky/settings"): (
            200,
            "The saved settings",
            obj({"project": STRING, "settings": FLAKY_SETTINGS}),
        ),
    }
)

# Test planning and execution (plans, planned runs): kept in their own module.
from schemas.responses_planning import SUCCESS as _PLANNING  # noqa: E402

SUCCESS.update(_PLANNING)
