"""schemas/ is generated from the code: `python -m schemas.generate` (make schemas).
A test fails when the committed files drift from what the code says. Not part of the deployed
package: only the build and the tests import it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from chalicelib import models

SCHEMAS_DIR = Path(__file__).resolve().parent

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
    ("POST", "/v1/projects/{project}/test-cases"): models.TestCaseIn,
    ("PUT", "/v1/projects/{project}/test-cases/{testCaseId}"): models.TestCaseIn,
    ("POST", "/v1/projects/{project}/test-cases/import"): models.TestCaseImportIn,
    ("PUT", "/v1/projects/{project}/requirements/{requirementId}"): models.RequirementIn,
}
QUERY_PARAMS: dict[tuple[str, str], list[str]] = {
    ("GET", "/v1/projects/{project}/tickets"): ["status", "module", "cursor"],
    ("GET", "/v1/projects/{project}/test-cases"): ["module", "suite", "limit", "cursor"],
    ("POST", "/v1/projects/{project}/test-cases/import"): ["dryRun"],
    ("GET", "/v1/projects/{project}/test-cases/export"): ["format"],
    ("GET", "/v1/projects/{project}/requirements"): ["limit", "cursor"],
    ("GET", "/v1/projects/{project}/coverage"): ["limit", "cursor"],
    ("POST", "/v1/projects/{project}/runs/{runId}/junit"): [
        "name",
        "build",
        "branch",
        "ciUrl",
        "environment",
    ],
}
# Routes that take no API key (the contract's exceptions): signed, or public by design.
NO_KEY = {
    "/v1/health",
    "/v1/webhooks/jira",
    "/v1/slack/interactions",
    "/v1/approvals/{token}",
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
                        "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
                    },
                },
            },
        }
    },
}


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
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in entry.view_args
            ] + [
                {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                for name in QUERY_PARAMS.get((method, path), [])
            ]
            operation: dict[str, Any] = {
                "operationId": entry.view_name,
                "summary": (entry.view_function.__doc__ or entry.view_name).strip().split("\n")[0],
                "parameters": params,
                "security": [] if path in NO_KEY else [{"apiKey": []}],
                "responses": {
                    "200": {"description": "OK"},
                    "default": {
                        "description": "An error, in the one error shape",
                        "content": {"application/json": {"schema": ERROR_SCHEMA}},
                    },
                },
            }
            model = REQUEST_MODELS.get((method, path))
            if model is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                        }
                    },
                }
            if path.endswith("/test-cases/import"):
                operation["requestBody"]["content"]["text/csv"] = {"schema": {"type": "string"}}
            elif model is None and path.endswith("/junit"):
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/xml": {"schema": {"type": "string"}}},
                }
            paths.setdefault(path, {})[method.lower()] = operation
    components: dict[str, Any] = {}
    for schema in model_schemas().values():
        components.update(schema.pop("$defs", {}))
    components.update(model_schemas())
    for schema in components.values():
        schema.pop("$defs", None)
    return {
        "openapi": "3.1.0",
        "info": {"title": "failbridge", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
