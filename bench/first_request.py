"""(issue 9) The first request of a fresh process: `import app` and one POST /results (a pass)
through the API handler, with an API Gateway proxy event, against moto's server; paired with
its library floor: importing boto3, pydantic, chalice and powertools and one `put_item`, in the
same run, alternating. Both are timed inside the child from before its first import, by the
clock and by the process's CPU time (steadier on a busy machine; it leaves out the wait for
moto, which is the server's time).

Variants: bytecode as a deployed package ships it (cached `.pyc`), without bytecode (an empty
`PYTHONPYCACHEPREFIX` per process: every module compiled, as a package without `.pyc` does on
Lambda's read-only disk), and X-Ray subsegments switched on (`FAILBRIDGE_TRACE_CALLS`, Lambda's
environment imitated so powertools' Tracer is live). Target: app / floor <= 1.3.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_FIRST_REQUEST_ROUNDS", "9"))

FLOOR = """
import time
t0, c0 = time.perf_counter(), time.process_time()
import boto3, pydantic, chalice, aws_lambda_powertools
from aws_lambda_powertools import Logger, Metrics
boto3.client("dynamodb").put_item(
    TableName=TABLE, Item={"pk": {"S": "BENCH#floor"}, "sk": {"S": KEY}, "n": {"N": "1"}}
)
print(time.perf_counter() - t0, time.process_time() - c0)
"""

# The floor as above, plus what validating one request body with pydantic costs: `import
# pydantic` alone loads two modules (pydantic imports lazily); a model loads the machinery.
FLOOR_WITH_A_MODEL = FLOOR.replace(
    "boto3.client(",
    "class Body(pydantic.BaseModel):\n    id: str\nBody.model_validate({'id': KEY})\nboto3.client(",
)

# The floor as above with the cyclic GC paused while it imports and the imports then frozen out of
# later collections, as `app.py` does (`chalicelib/cold_start.py`): against it the ratio is our
# code's own cost, the GC's share of the libraries' imports taken out of both sides.
FLOOR_GC_PAUSED = FLOOR.replace(
    "import boto3, pydantic", "import gc\ngc.disable()\nimport boto3, pydantic"
).replace("boto3.client(", "gc.freeze()\ngc.enable()\nboto3.client(")

APP = """
import time
t0, c0 = time.perf_counter(), time.process_time()
import json
import app
class Context:
    function_name = "failbridge-dev-api"
    aws_request_id = KEY
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:failbridge-dev-api"
    @staticmethod
    def get_remaining_time_in_millis():
        return 30000
response = app.app(json.loads(EVENT), Context())
assert response["statusCode"] == 200, response
print(time.perf_counter() - t0, time.process_time() - c0)
"""

LAMBDA_TRACING = {
    "FAILBRIDGE_TRACE_CALLS": "true",
    "AWS_LAMBDA_FUNCTION_NAME": "failbridge-dev-api",
    "_X_AMZN_TRACE_ID": (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",  # UDP to nowhere: sends cost what they cost
}


def pass_event(ci_key: str, run_id: str) -> dict[str, Any]:
    """API Gateway's proxy event of a POST /results of one pass, as the CI key sends it (also
    what tests/integration/test_cold_start.py hands a fresh process)."""
    event: dict[str, Any] = json.loads((ROOT / "events" / "api_results_request.json").read_text())
    body = {
        "run": {"id": run_id, "name": "cold start"},
        "results": [
            {
                "scenarioId": "checkout.cold-start",
                "testCaseId": "TC-COLD-001",
                "title": "Cold start",
                "module": "checkout",
                "status": "passed",
            }
        ],
    }
    event["body"] = json.dumps(body)
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Content-Length", None)
    event["headers"]["Authorization"] = f"Bearer {ci_key}"
    event["multiValueHeaders"]["Authorization"] = [event["headers"]["Authorization"]]
    return event


def _child(code: str, env: dict[str, str], cache: str | None) -> tuple[float, float]:
    """One fresh interpreter. `cache`: the bytecode cache to read and fill (a package with
    bytecode, once the warm-up filled it); None: nothing cached and nothing written, as on
    Lambda's read-only disk with a package of sources."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as empty:
        if cache is None:
            env.update({"PYTHONPYCACHEPREFIX": empty, "PYTHONDONTWRITEBYTECODE": "1"})
        else:
            env["PYTHONPYCACHEPREFIX"] = cache
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def _variant(
    name: str,
    env: dict[str, str],
    ci_key: str,
    bytecode: bool,
    start: int,
    floor_code: str = FLOOR,
) -> dict[str, Any]:
    table = env["FAILBRIDGE_TABLE"]
    pairs = []
    with tempfile.TemporaryDirectory() as cache:
        for n in range(start, start + ROUNDS + 1):
            consts = f"TABLE = {table!r}\nKEY = 'r{n}'\n"
            event = f"EVENT = {json.dumps(pass_event(ci_key, f'first-request-{n}'))!r}\n"
            app_s = _child(consts + event + APP, env, cache if bytecode else None)
            floor_s = _child(consts + floor_code, env, cache if bytecode else None)
            if n > start:  # the first pair fills the bytecode cache and the disk cache
                pairs.append((app_s, floor_s))
    app = statistics.median(a[0] for a, _ in pairs)
    floor = statistics.median(f[0] for _, f in pairs)
    ratio = statistics.median(a[0] / f[0] for a, f in pairs)
    cpu = statistics.median(a[1] / f[1] for a, f in pairs)
    print(
        f"{name:<40} app {app * 1000:6.0f} ms   floor {floor * 1000:6.0f} ms"
        f"   ratio {ratio:.2f} (CPU time {cpu:.2f}; medians of {len(pairs)} pairs)",
        flush=True,
    )
    return {"app_ms": app * 1000, "floor_ms": floor * 1000, "ratio": ratio, "cpu_ratio": cpu}


def main() -> dict[str, Any]:
    from bench._support import quiet
    from bench.manual_runs import moto_server
    from chalicelib import bootstrap
    from chalicelib.domain.roles import Role

    figures: dict[str, Any] = {}
    with moto_server():
        c = bootstrap.container()
        with quiet():
            c.access.create_project("DEMO", "Demo", False, default_lead="lead@example.com")
            c.access.put_module("DEMO", "checkout", "lead@example.com", None)
            ci_key = c.access.issue_key("DEMO", Role.CI, None, None)["key"]
        env = {k: v for k, v in os.environ.items() if k != "FAILBRIDGE_TRACE_CALLS"}
        env["POWERTOOLS_LOG_LEVEL"] = "ERROR"
        print("first request of a fresh process vs library floor + one put_item (target <= 1.3)")
        figures["bytecode"] = _variant("with bytecode, tracing off", env, ci_key, True, 0)
        figures["source"] = _variant("without bytecode, tracing off", env, ci_key, False, 100)
        figures["model_floor"] = _variant(
            "with bytecode, floor with one model", env, ci_key, True, 300, FLOOR_WITH_A_MODEL
        )
        figures["gc_paused_floor"] = _variant(
            "with bytecode, floor with the GC paused", env, ci_key, True, 400, FLOOR_GC_PAUSED
        )
        traced = {**env, **LAMBDA_TRACING}
        figures["traced"] = _variant(
            "with bytecode, X-Ray subsegments on", traced, ci_key, True, 200
        )
    slow = figures["source"]["app_ms"] / figures["bytecode"]["app_ms"]
    xray = figures["traced"]["app_ms"] - figures["bytecode"]["app_ms"]
    # The variants run one after another: under load their milliseconds drift, their paired
    # ratios much less, so X-Ray's cost is also given in floors (CPU time).
    in_floors = figures["traced"]["cpu_ratio"] - figures["bytecode"]["cpu_ratio"]
    print(f"without bytecode the app's first request takes {slow:.2f}x as long")
    print(
        f"X-Ray subsegments on add {xray:.0f} ms to the first request"
        f" ({in_floors:.2f} of the floor in CPU time)"
    )
    return figures


if __name__ == "__main__":
    main()
