"""schemas/ is generated from the code: `python -m schemas.generate` (make schemas).
A test fails when the committed files drift from what the code says. Not part of the deployed
package: only the build and the tests import it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from chalicelib import models, models_environments, models_inbound, models_planning
from chalicelib.domain.statuses import TicketStatus
from schemas import responses as responses_module
from schemas import responses_planning as planning

SCHEMAS_DIR = Path(__file__).resolve().parent
API_DOC = SCHEMAS_DIR.parent / "docs" / "api.md"

REQUEST_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/v1/projects/{project}/results"): models.ResultsReport,
    ("POST", "/v1/projects/{project}/uploads"): models.UploadRequest,
    ("PATCH", "/v1/tickets/{ticketId}"): models.TicketPatch,
    ("POST", "/v1/tickets/{ticketId}/attachments"): models.AttachmentRequest,
    ("PUT", "/v1/projects/{project}/modules/{module}"): models.ModuleIn,
    ("POST", "/v1/projects/{project}/keys"): models.KeyIn,
    ("PUT", "/v1/projects/{project}/jira"): models.JiraMappingIn,
    ("POST", "/v1/tickets/{ticketId}/decision"): models.DecisionIn,
    ("PUT", "/v1/projects/{project}/mapping"): models.MappingIn,
    ("POST", "/v1/projects/{project}/mapping/preview"): models.MappingPreviewIn,
    ("POST", "/v1/webhooks/jira"): models_inbound.JiraWebhookIn,
    ("POST", "/v1/projects/{project}/test-cases"): models.TestCaseIn,
    ("PUT", "/v1/projects/{project}/test-cases/{testCaseId}"): models.TestCaseIn,
    ("POST", "/v1/projects/{project}/test-cases/import"): models.TestCaseImportIn,
    ("PUT", "/v1/projects/{project}/requirements/{requirementId}"): models.RequirementIn,
    ("POST", "/v1/projects/{project}/page-links"): models.PageLinkIn,
    ("POST", "/v1/projects/{project}/reports"): models.ReportIn,
    ("PUT", "/v1/projects/{project}/report-schedules/{name}"): models.ReportScheduleIn,
    ("POST", "/v1/projects/{project}/quality-gates/validate"): models.GateCheckIn,
    ("PUT", "/v1/projects/{project}/quality-gates/{name}"): models.GateSetIn,
    ("POST", "/v1/projects/{project}/environments"): models_environments.EnvironmentIn,
    ("POST", "/v1/projects/{project}/clusters/{clusterId}/decision"): models.ClusterDecisionIn,
    ("PUT", "/v1/projects/{project}/flaky/settings"): models.FlakySettingsIn,
    ("PUT", "/v1/projects/{project}/scenarios/{scenarioId}/quarantine"): models.QuarantineIn,
    ("POST", "/v1/projects/{project}/test-cases/imports"): models.TestCaseImportUploadIn,
    ("PUT", "/v1/projects/{project}/environments/{envId}"): models_environments.EnvironmentChange,
    (
        "POST",
        "/v1/projects/{project}/environments/{envId}/reservations",
    ): models_environments.ReservationIn,
}
XML_BODY = {"type": "string", "description": "A JUnit XML report"}
# Bodies that are not (only) JSON: media type -> schema.
OTHER_BODIES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("POST", "/v1/projects/{project}/runs/{runId}/junit"): {
        "application/xml": XML_BODY,
        "text/xml": XML_BODY,
    },
    ("POST", "/v1/projects/{project}/runs/{runId}/report"): {
        media: {"type": "string", "description": "A report in a supported format"}
        for media in ("application/xml", "text/xml", "application/json", "text/plain")
    },
    ("POST", "/v1/projects/{project}/mapping/preview"): {
        "application/xml": XML_BODY,
        "text/xml": XML_BODY,
    },
    ("POST", "/v1/projects/{project}/test-cases/import"): {
        "text/csv": {"type": "string", "description": "TestRail, Xray or our CSV"},
        "application/csv": {"type": "string", "description": "TestRail, Xray or our CSV"},
    },
    ("POST", "/v1/approvals/{token}"): {
        "application/x-www-form-urlencoded": {
            "type": "object",
            "required": ["decision", "csrf"],
            "maxProperties": 10,
            "properties": {
                "decision": {"type": "string", "enum": ["approve", "reject", "merge", "link"]},
                "csrf": {"type": "string", "description": "The CSRF token the page's form carries"},
                "reason": {"type": "string"},
                "mergeInto": {"type": "string"},
                "jiraKey": {"type": "string"},
            },
        }
    },
    ("POST", "/v1/cluster-approvals/{token}"): {
        "application/x-www-form-urlencoded": {
            "type": "object",
            "required": ["decision", "csrf"],
            "maxProperties": 10,
            "properties": {
                "decision": {"type": "string", "description": "The form's choice"},
                "csrf": {"type": "string", "description": "The CSRF token the page's form carries"},
                "reason": {"type": "string"},
                "scenarioIds": {"type": "string"},
            },
        }
    },
    ("POST", "/v1/slack/interactions"): {
        "application/x-www-form-urlencoded": {
            "type": "object",
            "required": ["payload"],
            "properties": {
                "payload": {
                    "type": "string",
                    "description": "Slack's block_actions interaction, as JSON",
                }
            },
        }
    },
}


def _schema_of(annotation: Any) -> dict[str, Any]:
    from pydantic import TypeAdapter

    return dict(TypeAdapter(annotation).json_schema())


VIEW_LINK_TOKEN = {
    "type": "string",
    "description": "A signed view link's token, traded for the session cookie (303)",
}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
QUERY_PARAMS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v1/projects/{project}/tickets"): {
        "status": {"type": "string", "enum": [s.value for s in TicketStatus]},
        "module": {"type": "string"},
        "cursor": {"type": "string", "description": "`next` of the previous page"},
    },
    ("GET", "/v1/tickets/{ticketId}/occurrences"): {
        "cursor": {"type": "string", "description": "`next` of the previous page"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
    ("POST", "/v1/projects/{project}/runs/{runId}/junit"): {
        "name": _schema_of(models.Name),
        "build": _schema_of(models.Name),
        "branch": _schema_of(models.Name),
        "ciUrl": _schema_of(models.Url),
        "environment": _schema_of(models.Name),
        "commit": _schema_of(models.Name),
    },
    ("POST", "/v1/projects/{project}/runs/{runId}/report"): {
        "format": {
            "type": "string",
            "enum": ["junit", "ctrf", "playwright", "trx", "nunit3", "xunit2", "cucumber", "tap"],
        },
        "name": _schema_of(models.Name),
        "build": _schema_of(models.Name),
        "branch": _schema_of(models.Name),
        "ciUrl": _schema_of(models.Url),
        "environment": _schema_of(models.Name),
        "commit": _schema_of(models.Name),
    },
    ("GET", "/v1/projects/{project}/test-cases"): {
        "module": {"type": "string"},
        "suite": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        "cursor": {"type": "string", "description": "`next` of the previous page"},
    },
    ("POST", "/v1/projects/{project}/test-cases/import"): {
        "dryRun": {"type": "string", "description": "`true`: report every row, write nothing"},
    },
    ("GET", "/v1/projects/{project}/test-cases/export"): {
        "format": {"type": "string", "enum": ["csv", "json"], "default": "json"},
    },
    ("GET", "/v1/projects/{project}/requirements"): {
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 500},
        "cursor": {"type": "string", "description": "`next` of the previous page"},
    },
    ("GET", "/v1/projects/{project}/coverage"): {
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000},
        "cursor": {"type": "string", "description": "`next` of the previous page"},
    },
    ("GET", "/v1/projects/{project}/environments"): {
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        "cursor": {"type": "string", "description": "`next` of the previous page"},
    },
    ("GET", "/v1/projects/{project}/environments/{envId}/snapshots"): {
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
        "cursor": {"type": "string", "description": "`next` of the previous page"},
    },
    ("GET", "/v1/projects/{project}/environments/{envId}/reservations"): {
        "from": {
            "type": "string",
            "description": "ISO-8601 date-time with a time zone (default: now)",
        },
        "to": {
            "type": "string",
            "description": "ISO-8601 date-time with a time zone (default: a year on)",
        },
    },
    ("GET", "/v1/projects/{project}/audit"): {
        "from": {"type": "string", "description": "A date or an ISO-8601 date-time"},
        "to": {"type": "string", "description": "A date (to its end) or a date-time"},
        "actor": {
            "type": "string",
            "description": "A key id, a key's user, a lead, `jira` or `system`",
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        "cursor": {"type": "string", "description": "`next` of the previous page"},
    },
    ("GET", "/v1/approvals/{token}"): {
        "decision": {"type": "string", "description": "The choice the form shows selected"},
        "page": {"type": "string", "description": "The page of the ticket's occurrences"},
    },
    ("GET", "/dashboard/{project}"): {
        "t": VIEW_LINK_TOKEN,
        "from": DATE,
        "to": DATE,
        "module": {"type": "string"},
    },
    ("GET", "/pages/tickets/{ticketId}"): {
        "t": VIEW_LINK_TOKEN,
        "page": {"type": "string", "description": "The page of the ticket's occurrences"},
    },
    ("GET", "/pages/runs/{runId}"): {
        "t": VIEW_LINK_TOKEN,
        "project": {"type": "string"},
    },
    ("GET", "/pages/reports/{reportId}"): {
        "t": VIEW_LINK_TOKEN,
        "project": {"type": "string"},
    },
    ("GET", "/pages/projects/{project}/drafts"): {
        "t": VIEW_LINK_TOKEN,
        "cursor": {"type": "string", "description": "The next page's cursor (its link)"},
    },
}
# Test planning and execution (schemas/responses_planning.py names the bodies and parameters).
REQUEST_MODELS.update(
    {k: getattr(models_planning, v) for k, v in planning.REQUEST_MODELS_PATHS.items()}
)
QUERY_PARAMS.update(planning.QUERY_PARAMS)
# Pages for browsers: a signed view link (`t=`), traded by a 303 for the session cookie, or that
# cookie. Their answers, refusals included, are HTML.
PAGES = {
    "/dashboard/{project}",
    "/pages/tickets/{ticketId}",
    "/pages/runs/{runId}",
    "/pages/reports/{reportId}",
    "/pages/projects/{project}/drafts",
}
PAGE_SECURITY: list[dict[str, list[str]]] = [{"viewLink": []}, {"pageSession": []}]
# Routes that take no API key (the contract's exceptions): signed, or public by design.
SIGNED: dict[str, list[dict[str, list[str]]]] = {
    "/v1/health": [],
    "/v1/webhooks/jira": [{"jiraSignature": []}],
    "/v1/slack/interactions": [{"slackSignature": [], "slackTimestamp": []}],
    # The signed, expiring, single-use token in the path is the credential.
    "/v1/approvals/{token}": [],
    "/v1/cluster-approvals/{token}": [],
}
SECURITY_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer", "description": "A project's API key"},
    "jiraSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature",
        "description": "sha256=<HMAC-SHA256 of the body with the shared webhook secret>",
    },
    "slackSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Slack-Signature",
        "description": "v0=<HMAC-SHA256 of v0:<timestamp>:<body> with Slack's signing secret>",
    },
    "slackTimestamp": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Slack-Request-Timestamp",
        "description": "Seconds since the epoch; older than 5 minutes is refused",
    },
    "viewLink": {
        "type": "apiKey",
        "in": "query",
        "name": "t",
        "description": "A signed, expiring view link (POST /v1/projects/{project}/page-links)",
    },
    "pageSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "fb_page",
        "description": "The signed session cookie a view link was traded for",
    },
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "problem"],
                        "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
                    },
                },
            },
        }
    },
}
ERRORS = {
    400: "Malformed: not JSON, or not the expected shape",
    401: "No or bad credentials",
    403: "Wrong role or project",
    404: "Unknown",
    409: "Conflict, or already decided",
    410: "Expired",
    412: "If-Match names a version that is no longer the current one",
    413: "Too large",
    415: "Wrong content type",
    422: "Invalid; `details` names each field",
    429: "Throttled",
    500: "An unexpected failure (a bug)",
    503: "A service it depends on is unavailable; retry",
}
# The approval link's page and the browser pages answer their refusals as HTML pages too.
HTML_ERRORS = {400, 401, 403, 404, 409, 410, 413, 422}
CONFLICTS = {
    ("POST", "/v1/projects/{project}/test-cases"),  # the test case exists: PUT edits it
    ("PATCH", "/v1/tickets/{ticketId}"),
    ("POST", "/v1/tickets/{ticketId}/attachments"),
    ("POST", "/v1/tickets/{ticketId}/decision"),
    ("POST", "/v1/slack/interactions"),
    ("POST", "/v1/approvals/{token}"),
    ("GET", "/v1/approvals/{token}"),
    # test plans, planned runs, environments: exists already, a move the plan's status or the
    # run's does not allow, a booking that overlaps another
    ("POST", "/v1/projects/{project}/environments"),
    ("PUT", "/v1/projects/{project}/environments/{envId}"),
    ("POST", "/v1/projects/{project}/environments/{envId}/reservations"),
    ("POST", "/v1/projects/{project}/test-plans"),
    ("PUT", "/v1/projects/{project}/test-plans/{planId}"),
    ("DELETE", "/v1/projects/{project}/test-plans/{planId}"),
    ("POST", "/v1/projects/{project}/test-plans/{planId}/status"),
    ("POST", "/v1/projects/{project}/runs"),
    ("PUT", "/v1/projects/{project}/runs/{runId}/results"),
    ("POST", "/v1/projects/{project}/runs/{runId}/close"),
    ("POST", "/v1/cluster-approvals/{token}"),
    ("GET", "/v1/cluster-approvals/{token}"),
}
# Links whose signed token in the path is the credential; their pages and refusals are HTML.
TOKEN_LINKS = {"/v1/approvals/{token}", "/v1/cluster-approvals/{token}"}
NOT_FOUND_PARAMS = {
    "envId",
    "reservationId",
    "planId",
    "runId",
    "ticketId",
    "scenarioId",
    "uploadId",
    "keyId",
    "testCaseId",
    "requirementId",
    "reportId",
    "exportId",
}
# Path parameters the server checks beyond "a string".
PATH_PARAMS: dict[str, dict[str, Any]] = {
    "requirementId": _schema_of(models.RequirementId),
    # a reported run's id is the report's `run.id` (a name: no control characters, not blank)
    "runId": _schema_of(models.Name),
}
# Edits of a versioned item: If-Match names the version edited (412 when another came first).
IF_MATCH = {
    ("PUT", "/v1/projects/{project}/test-cases/{testCaseId}"),
    ("DELETE", "/v1/projects/{project}/test-cases/{testCaseId}"),
}
IF_MATCH_HEADER = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {
        "type": "string",
        "pattern": r'^\s*(W/)?"*[0-9]+"*\s*$',
        "description": 'The version edited, as the ETag: "3"',
    },
}
# Success bodies that may also be CSV.
CSV_SUCCESS = {("GET", "/v1/projects/{project}/test-cases/export")}


def error_statuses(method: str, path: str, params: list[str], has_body: bool) -> set[int]:
    """Every error status the operation can answer."""
    statuses = {429, 500, 503}
    if path == "/v1/health":
        return statuses
    if path in PAGES:  # no session 401, a bad link 403, an expired one 410, unknown 404
        statuses |= {401, 403, 404, 410}
        if path == "/dashboard/{project}":
            statuses.add(422)  # a bad period
        return statuses
    statuses |= {401, 403}
    if path in TOKEN_LINKS:
        statuses = {403, 404, 409, 410, 429, 500, 503}
    if (
        NOT_FOUND_PARAMS & set(params)
        or set(params) - {"project", "token"}  # any other id names something that may not exist
        or path == "/v1/slack/interactions"
        or (method, path) == ("GET", "/v1/projects/{project}/runs/{runId}")  # no results
        or path == "/v1/projects/{project}/page-links"  # a link to a ticket that is not there
        or (method, path) == ("POST", "/v1/projects/{project}/runs")  # a plan that is not there
        or path == "/v1/projects/{project}/quality-gates/validate"  # no saved gate by that name
    ):
        statuses.add(404)
    if has_body:
        statuses |= {400, 413, 415, 422}
    if (method, path) in QUERY_PARAMS and path not in TOKEN_LINKS:
        statuses.add(422)
    if "cursor" in QUERY_PARAMS.get((method, path), {}):
        statuses.add(400)  # a cursor we did not issue
    if (method, path) in CONFLICTS:
        statuses |= {409, 410} if "decision" in path or "approvals" in path else {409}
    if (method, path) in IF_MATCH:
        statuses |= {400, 412}  # a malformed If-Match; a lost update
    if path == "/v1/projects/{project}/test-cases/export":
        statuses.add(400)  # an unknown format
    if path == "/v1/webhooks/jira":
        statuses.discard(403)
    return statuses


def responses(method: str, path: str, params: list[str], has_body: bool) -> dict[str, Any]:
    status, description, schema = responses_module.SUCCESS[(method, path)]
    html = path in TOKEN_LINKS or path in PAGES
    success: dict[str, Any] = {"description": description}
    if status == 303:
        success["headers"] = {"Location": {"schema": {"type": "string"}}}
    elif html:
        success["content"] = {"text/html": {"schema": {"type": "string"}}}
    elif schema is not None:
        success["content"] = {"application/json": {"schema": schema}}
        if (method, path) in CSV_SUCCESS:
            success["content"]["text/csv"] = {"schema": {"type": "string"}}
    out: dict[str, Any] = {str(status): success}
    if path in PAGES and status != 303:
        out["303"] = {
            "description": "A view link (`t=`) traded for the session cookie: the same page "
            "without the token",
            "headers": {
                "Location": {"schema": {"type": "string"}},
                "Set-Cookie": {"schema": {"type": "string"}},
            },
        }
    for code in sorted(error_statuses(method, path, params, has_body)):
        media = "text/html" if html and code in HTML_ERRORS else "application/json"
        body = (
            {"type": "string"} if media == "text/html" else {"$ref": "#/components/schemas/Error"}
        )
        out[str(code)] = {"description": ERRORS[code], "content": {media: {"schema": body}}}
    return out


def model_schemas() -> dict[str, dict[str, Any]]:
    names: set[type[BaseModel]] = {*REQUEST_MODELS.values(), models.ResultIn, models.RunIn}
    return {
        m.__name__: m.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        for m in sorted(names, key=lambda m: m.__name__)
    }


def build() -> dict[str, Any]:
    import app

    paths: dict[str, Any] = {}
    for path, methods in sorted(app.app.routes.items()):
        for method, entry in sorted(methods.items()):
            params = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": PATH_PARAMS.get(name, {"type": "string"}),
                }
                for name in entry.view_args
            ] + [
                {"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in QUERY_PARAMS.get((method, path), {}).items()
            ]
            if (method, path) in IF_MATCH:
                params.append(IF_MATCH_HEADER)
            content: dict[str, Any] = {}
            model = REQUEST_MODELS.get((method, path))
            if model is not None:
                content["application/json"] = {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                }
            content.update(
                (media, {"schema": schema})
                for media, schema in OTHER_BODIES.get((method, path), {}).items()
            )
            operation: dict[str, Any] = {
                "operationId": entry.view_name,
                "summary": (entry.view_function.__doc__ or entry.view_name).strip().split("\n")[0],
                "parameters": params,
                "security": PAGE_SECURITY if path in PAGES else SIGNED.get(path, [{"apiKey": []}]),
            }
            if content:
                operation["requestBody"] = {"required": True, "content": content}
            operation["responses"] = responses(method, path, list(entry.view_args), bool(content))
            paths.setdefault(path, {})[method.lower()] = operation
    components: dict[str, Any] = {}
    for schema in model_schemas().values():
        components.update(schema.pop("$defs", {}))
    components.update(model_schemas())
    for schema in components.values():
        schema.pop("$defs", None)
    components["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": "failbridge", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render() -> dict[str, str]:
    """File name -> content, for everything under schemas/."""
    return {"openapi.json": json.dumps(build(), indent=2, sort_keys=False) + "\n"}


def main() -> int:
    SCHEMAS_DIR.mkdir(exist_ok=True)
    for name, content in render().items():
        (SCHEMAS_DIR / name).write_text(content)
        print(f"wrote schemas/{name}")
    API_DOC.write_text(api_doc())
    print("wrote docs/api.md")
    return 0


def api_doc() -> str:
    from schemas.api_doc import render as render_doc

    return render_doc(build())


if __name__ == "__main__":
    sys.exit(main())
