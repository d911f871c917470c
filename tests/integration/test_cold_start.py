"""What a fresh process loads for its first POST /results (a pass), through the API handler
against moto's server: the results path, not the other areas' models and services, nor Jira,
Slack or the X-Ray SDK (tracing off). And the imports ran without the cyclic GC, which is back
on after them with the imports frozen out of its collections (`chalicelib/cold_start.py`).
The cold start's time is `bench.first_request`'s; this is what keeps it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.first_request import pass_event
from chalicelib import bootstrap
from chalicelib.domain.roles import Role

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys
import app
after_import = {"gcEnabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
class Context:
    function_name = "failbridge-dev-api"
    aws_request_id = "cold-start-probe"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:failbridge-dev-api"
    @staticmethod
    def get_remaining_time_in_millis():
        return 30000
EVENT = sys.stdin.read()
response = app.app(json.loads(EVENT), Context())
after = {
    "status": response["statusCode"],
    "modules": sorted(sys.modules),
    "gcEnabledAfterRequest": gc.isenabled(),
    "frozenAfterRequest": gc.get_freeze_count(),
}
second = app.app(json.loads(EVENT), Context())  # a second request: the GC as always
after["frozenAfterSecond"] = gc.get_freeze_count()
print(json.dumps({**after_import, **after}))
"""

# Loaded by other requests (or a failure), never by a pass.
NOT_ON_A_PASS = (
    "aws_xray_sdk",
    "jira",
    "slack_sdk",
    "jinja2",
    "fpdf",
    "junitparser",
    "defusedxml",
    "chalicelib.adapters.jira",
    "chalicelib.adapters.slack",
    "chalicelib.services.clusters",
    "chalicelib.services.decisions",
    "chalicelib.domain.signatures",
    "chalicelib.domain.audit",
    "chalicelib.models.projects",
    "chalicelib.models.test_management",
    "chalicelib.models_planning",
    "chalicelib.models_environments",
    "chalicelib.junit",
    "chalicelib.reports",
)


def test_a_first_pass_loads_only_the_results_path(aws_server: dict[str, Any]) -> None:
    access = bootstrap.container().access
    access.create_project("DEMO", "Demo", False, default_lead="lead@example.com")
    access.put_module("DEMO", "checkout", "lead@example.com", None)
    ci_key = access.issue_key("DEMO", Role.CI, None, None)["key"]
    env = {k: v for k, v in os.environ.items() if k != "FAILBRIDGE_TRACE_CALLS"}

    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        input=json.dumps(pass_event(ci_key, "cold-start")),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["status"] == 200
    assert probe["gcEnabled"] is True
    assert probe["frozen"] > 10_000  # the imports (boto3 among them) left out of collections
    # the first request's lazy wiring (container, services, their modules) frozen too, once
    assert probe["gcEnabledAfterRequest"] is True
    assert probe["frozenAfterRequest"] > probe["frozen"]
    assert probe["frozenAfterSecond"] <= probe["frozenAfterRequest"]  # no second freeze
    loaded = set(probe["modules"])
    assert "chalicelib.services.ingest" in loaded  # the probe did take the results path
    assert sorted(loaded & set(NOT_ON_A_PASS)) == []
