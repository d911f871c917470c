"""What the test planning and execution operations answer (merged into `responses.SUCCESS`)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.statuses import PlanStatus, RunStatus

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


PLAN_STATUS = {"type": "string", "enum": [s.value for s in PlanStatus]}
RUN_STATUS = {"type": "string", "enum": [s.value for s in RunStatus]}
EVALUATION = {
    "anyOf": [
        {"type": "null"},
        obj(
            {
                "passed": {"type": "boolean"},
                "results": {"type": "array", "items": {"type": "object"}},
                "recommendation": STRING,
            }
        ),
    ]
}
PLAN = obj(
    {
        "planId": STRING,
        "name": STRING,
        "revision": INTEGER,
        "status": PLAN_STATUS,
        "scope": {"type": "object"},
        "strategy": {"type": "object"},
        "schedule": {"type": "object"},
        "resources": {"type": "array", "items": {"type": "object"}},
        "risks": {"type": "array", "items": {"type": "object"}},
        "entryCriteria": {"type": "array", "items": {"type": "object"}},
        "exitCriteria": {"type": "array", "items": {"type": "object"}},
        "history": {"type": "array", "items": {"type": "object"}},
    },
    {
        "approvedRevision": {"type": ["integer", "null"]},
        "approvedBy": NULLABLE_STRING,
        "approvedAt": NULLABLE_STRING,
        "release": NULLABLE_STRING,
        "description": NULLABLE_STRING,
        "runs": {"type": "array", "items": STRING},
    },
)
PLAN_READ = {
    **PLAN,
    "properties": {
        **PLAN["properties"],
        "entryEvaluation": EVALUATION,
        "exitEvaluation": EVALUATION,
    },
}
FIGURES = {
    "total": INTEGER,
    "executed": INTEGER,
    "passed": INTEGER,
    "failed": INTEGER,
    "blocked": INTEGER,
    "skipped": INTEGER,
    "remaining": INTEGER,
    "percent": NUMBER,
}
PROGRESS = obj(
    {
        **FIGURES,
        "byAssignee": {
            "type": "array",
            "items": obj({"assignee": NULLABLE_STRING, **FIGURES}),
        },
    }
)
RUN = obj(
    {"runId": STRING, "status": RUN_STATUS, "total": INTEGER, "assignees": {"type": "array"}},
    {
        "name": NULLABLE_STRING,
        "planId": NULLABLE_STRING,
        "planRevision": {"type": ["integer", "null"]},
        "environment": NULLABLE_STRING,
        "release": NULLABLE_STRING,
        "closedBy": NULLABLE_STRING,
    },
)
RUN_WITH_PROGRESS = {**RUN, "required": [*RUN["required"], "progress"]}
RUN_WITH_PROGRESS["properties"] = {**RUN["properties"], "progress": PROGRESS}
CI_RUN = obj(
    {"runId": STRING, "testCases": INTEGER, "executions": INTEGER},
    {
        "flaky": {"type": "array"},
        "tickets": {"type": "array"},
        "environment": STRING,
        # a registered environment's revision and configuration when the run was reported
        "environmentSnapshot": {"type": "object"},
    },
)
PLANS = "/v1/projects/{project}/test-plans"
RUNS = "/v1/projects/{project}/runs"

SUCCESS: dict[tuple[str, str], tuple[int, str, dict[str, Any] | None]] = {
    ("GET", PLANS): (
        200,
        "A page of the project's test plans",
        obj({"items": {"type": "array", "items": PLAN}, "next": NULLABLE_STRING}),
    ),
    ("POST", PLANS): (201, "The plan: revision 1, a draft", PLAN),
    ("GET", PLANS + "/{planId}"): (
        200,
        "The plan's current revision, its entry and exit criteria evaluated now",
        PLAN_READ,
    ),
    ("PUT", PLANS + "/{planId}"): (
        200,
        "The edited plan (an approved or active plan: its next revision, a draft)",
        PLAN,
    ),
    ("DELETE", PLANS + "/{planId}"): (
        200,
        "Deleted (a plan never approved)",
        obj({"planId": STRING, "deleted": {"const": True}}),
    ),
    ("POST", PLANS + "/{planId}/status"): (200, "The plan after the lifecycle step", PLAN),
    ("GET", PLANS + "/{planId}/revisions"): (
        200,
        "Every revision, oldest first",
        obj({"items": {"type": "array", "items": obj({"revision": INTEGER, "status": STRING})}}),
    ),
    ("POST", RUNS): (201, "The planned run, its progress at zero", RUN_WITH_PROGRESS),
    ("GET", RUNS): (
        200,
        "A page of planned runs, newest first",
        obj({"items": {"type": "array", "items": RUN}, "next": NULLABLE_STRING}),
    ),
    ("GET", RUNS + "/{runId}"): (
        200,
        "A planned run with its progress; a run only CI reported: its test cases' last results "
        "by status, flaky ones, its tickets",
        {"anyOf": [RUN_WITH_PROGRESS, CI_RUN]},
    ),
    ("PUT", RUNS + "/{runId}/results"): (
        200,
        "One outcome per result (as POST .../results answers) and the run's status",
        obj(
            {
                "runId": STRING,
                "status": RUN_STATUS,
                "results": {"type": "array", "items": {"type": "object"}},
            }
        ),
    ),
    ("GET", RUNS + "/{runId}/cases"): (
        200,
        "The run's test cases: assignee and latest result",
        obj({"items": {"type": "array", "items": obj({"testCaseId": STRING})}}),
    ),
    ("GET", RUNS + "/{runId}/cases/{testCaseId}"): (
        200,
        "One test case of the run: assignee, latest result, and every result recorded for it "
        "in the run (attempts in order, with reporter, actual, evidence, ticket)",
        obj(
            {
                "runId": STRING,
                "testCaseId": STRING,
                "results": {
                    "type": "array",
                    "items": obj(
                        {"executionId": STRING, "attempt": INTEGER, "status": STRING},
                        {"evidence": {"type": "array"}, "ticketId": STRING},
                    ),
                },
            },
            {"assignee": NULLABLE_STRING, "status": NULLABLE_STRING},
        ),
    ),
    ("POST", RUNS + "/{runId}/close"): (200, "The closed run and its progress", RUN_WITH_PROGRESS),
}
REQUEST_MODELS_PATHS = {
    ("POST", PLANS): "PlanIn",
    ("PUT", PLANS + "/{planId}"): "PlanIn",
    ("POST", PLANS + "/{planId}/status"): "PlanMoveIn",
    ("POST", RUNS): "RunCreateIn",
    ("PUT", RUNS + "/{runId}/results"): "ManualResultsIn",
    ("POST", RUNS + "/{runId}/close"): "RunCloseIn",
}
QUERY_PARAMS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", PLANS): {
        "status": PLAN_STATUS,
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        "cursor": {"type": "string", "description": "`next` of the previous page"},
    },
    ("GET", RUNS): {
        "status": RUN_STATUS,
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        "cursor": {"type": "string", "description": "`next` of the previous page"},
    },
    ("GET", RUNS + "/{runId}/cases"): {"assignee": {"type": "string"}},
}
