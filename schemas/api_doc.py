"""docs/api.md, generated from the OpenAPI document (`make schemas` writes it; a test fails when it
drifts). What a route's docstring does not say is said here, once."""

from __future__ import annotations

from typing import Any

# What each endpoint is for and who may call it, where the route's docstring is only its name.
ABOUT: dict[tuple[str, str], str] = {
    ("GET", "/v1/projects/{project}"): "The project's settings. Any role.",
    ("GET", "/dashboard/{project}"): "The project's dashboard (HTML): the metrics figures as SVG "
    "charts with their numbers in tables, the flaky top list and recent activity. No API key: a "
    "view link (`t=`, traded by a 303 for the `fb_page` session cookie) or that cookie.",
    ("GET", "/pages/tickets/{ticketId}"): "A ticket's page (HTML): evidence, occurrences, the "
    "scenario's last results, look-alike open tickets. No API key: a view link or the session "
    "cookie.",
    ("GET", "/pages/runs/{runId}"): "A run's page (HTML): its test cases by final status (as "
    "`GET /v1/projects/{project}/runs/{runId}` counts them) and its executions. No API key: a "
    "view link or the session cookie.",
    ("GET", "/pages/projects/{project}/drafts"): "The project's drafts waiting for a decision "
    "(HTML), 25 a page (`cursor`), each linking its ticket page; with a lead's link, that "
    "lead's drafts also link their approval page. The Slack digest's `…and N more` link opens "
    "it. No API key: a view link or the session cookie.",
    ("GET", "/v1/projects/{project}/jira"): "The project's Jira mapping. Any role.",
    ("GET", "/v1/projects/{project}/keys"): "The project's API keys (ids, roles, never the keys). "
    "Role: admin.",
    ("POST", "/v1/projects/{project}/keys"): "Issue an API key for a role; the key is shown once. "
    "Role: admin.",
    ("DELETE", "/v1/projects/{project}/keys/{keyId}"): "Revoke an API key. Role: admin.",
    ("PUT", "/v1/projects/{project}/modules/{module}"): "Create or change a module and its lead. "
    "Role: admin.",
    ("POST", "/v1/projects/{project}/results"): "Report results as failbridge JSON (at most 1000 "
    "a request): every result is an execution; failures open or join their scenario's draft. "
    "Role: ci, tester or admin.",
    ("POST", "/v1/projects/{project}/runs/{runId}/junit"): "Report a JUnit XML report "
    "(`application/xml`, at most 5 MiB): one result per testcase. Role: ci, tester or admin.",
    ("GET", "/v1/projects/{project}/scenarios/{scenarioId}"): "A scenario: its test cases, "
    "latest results and live ticket. Any role.",
    ("GET", "/v1/projects/{project}/tickets"): "The project's tickets, filtered by status and "
    "module, a page at a time (`cursor`). Any role.",
    ("POST", "/v1/projects/{project}/uploads"): "Ask for a presigned upload of a large report "
    "(at most 50 MiB; JUnit, read as a stream, 200 MiB): `format` is one of junit, json, ctrf, "
    "playwright, trx, nunit3, xunit2, cucumber, tap. Answer 201 `{uploadId, url, fields}`: POST "
    "the file as multipart form data to `url` with `fields`; it is processed asynchronously. "
    "Role: ci, tester or admin.",
    ("GET", "/v1/projects/{project}/uploads/{uploadId}"): "An upload's progress: `status` "
    "(waiting_for_upload, processing, completed, failed), `total`, `processed`, `drafts`, "
    "`merged`, `flaky`, and `error` when it failed. Any role.",
    ("GET", "/v1/tickets/{ticketId}"): "A ticket with its occurrences and events. Any role.",
    ("PATCH", "/v1/tickets/{ticketId}"): "Edit a draft's actual result, notes, severity or "
    "priority. Role: tester, lead or admin.",
    ("POST", "/v1/tickets/{ticketId}/attachments"): "Ask for a presigned upload of evidence "
    "(screenshot, log, video). Role: tester, lead or admin.",
}
EXTRA: dict[tuple[str, str], str] = {
    ("POST", "/v1/projects/{project}/runs/{runId}/report"): (
        "Formats (`format=`): `junit` (every dialect: Surefire, pytest, jest-junit, "
        "go-junit-report, PHPUnit, ...), `ctrf`, `playwright` (the JSON reporter), `trx`, "
        "`nunit3`, `xunit2`, `cucumber` (Cucumber JSON) and `tap` (TAP 12-14 with subtests). "
        "Without `format` the body tells: its XML root element, its JSON shape, or TAP lines. "
        "Retries keep their meaning: Playwright's results per retry, CTRF's `retryAttempts`, "
        "`retries` and `flaky`, Surefire's reruns become attempts 1..n, so a test that passed on "
        "a retry is flaky and opens nothing. Identity: the project's mapping rules, or explicit "
        "properties (JUnit/NUnit properties, xUnit traits, Cucumber tags `@testCaseId:X`, "
        "`@scenario:X`, `@module:X`). Refused: DTDs and entities (400), JSON nested deeper than "
        "64 levels (400), more than 5 MiB (413; use an upload), with the format and the line and "
        "column in the message. Role: ci, tester or admin. Answer: `{format, results}` as for "
        "`/results`."
    ),
    ("GET", "/v1/projects/{project}/runs/{runId}"): (
        "Answer: `{runId, testCases, executions, passed, failed, blocked, skipped, flaky: "
        "[testCaseId], tickets: [{ticketId, scenarioId}]}`; counts are of each test case's last "
        "attempt. 404 when the run recorded nothing. Any role."
    ),
}


def render(document: dict[str, Any]) -> str:
    lines = [
        "# failbridge HTTP API",
        "",
        "Generated from `schemas/openapi.json` by `make schemas` (`schemas/api_doc.py`); do not "
        "edit by hand.",
        "",
        "Every `/v1` endpoint takes `Authorization: Bearer <api key>` except the health check, "
        "approval links, and the Jira and Slack webhooks, which are signed. JSON fields are "
        'camelCase. Every error is `{"error": {"code", "message", "details": [{"field", '
        '"problem"}]}}`: 400 malformed, 401 no or bad key, 403 wrong role, 404 unknown, 409 '
        "conflict, 410 expired, 413 too large, 415 wrong content type, 422 invalid, 429 "
        "throttled. A rejected request changes nothing.",
        "",
        "The CI client in `client/` (`failbridge report|gate|status`, `pytest --failbridge`) "
        "speaks this API; see `client/README.md`.",
        "",
        "| Method | Path | What |",
        "|---|---|---|",
    ]
    sections: list[str] = []
    schemas = document["components"]["schemas"]
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            key = (method.upper(), path)
            summary = ABOUT.get(key) or op["summary"]
            anchor = f"{method}-{path}".lower().replace("/", "").replace("{", "").replace("}", "")
            lines.append(f"| {method.upper()} | [`{path}`](#{anchor}) | {summary.split('. ')[0]} |")
            sections += ["", f'<a id="{anchor}"></a>', f"## {method.upper()} `{path}`", "", summary]
            if key in EXTRA:
                sections += ["", EXTRA[key]]
            if not op["security"]:
                sections += ["", "No API key (signed or public)."]
            query = [p["name"] for p in op["parameters"] if p["in"] == "query"]
            if query:
                sections += ["", "Query: " + ", ".join(f"`{q}`" for q in query) + "."]
            body = op.get("requestBody")
            if body:
                content = body["content"]
                ref = next(iter(content.values()))["schema"].get("$ref")
                if ref:
                    name = ref.rsplit("/", 1)[-1]
                    sections += ["", f"Body (`application/json`): `{name}`", ""]
                    sections += _fields(schemas, name)
                else:
                    sections += ["", "Body: " + ", ".join(f"`{t}`" for t in content) + "."]
    return "\n".join([*lines, *sections]) + "\n"


def _fields(schemas: dict[str, Any], name: str) -> list[str]:
    schema = schemas.get(name, {})
    required = set(schema.get("required", []))
    rows = ["| Field | Type | Required |", "|---|---|---|"]
    for field, spec in schema.get("properties", {}).items():
        rows.append(f"| `{field}` | {_type(spec)} | {'yes' if field in required else ''} |")
    return rows


def _type(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        return f"`{spec['$ref'].rsplit('/', 1)[-1]}`"
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    if "anyOf" in spec:
        return " or ".join(_type(s) for s in spec["anyOf"] if s.get("type") != "null")
    if spec.get("type") == "array":
        return f"list of {_type(spec.get('items', {}))}"
    return str(spec.get("type", "any"))
