"""X-Ray subsegments per AWS call cost a cold start the X-Ray SDK's import and botocore's
patching; they are built only when FAILBRIDGE_TRACE_CALLS switches them on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import app
from chalicelib import bootstrap
from chalicelib.observability import subsegment
bootstrap.container()
with subsegment("probe", messageId="m-1"):
    pass
print(json.dumps({"xray": "aws_xray_sdk" in sys.modules}))
"""


def _cold_process(trace_calls: str | None) -> dict[str, bool]:
    env = {k: v for k, v in os.environ.items() if k != "FAILBRIDGE_TRACE_CALLS"}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"})
    if trace_calls is not None:
        env["FAILBRIDGE_TRACE_CALLS"] = trace_calls
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_cold_process_loads_no_xray_sdk_unless_tracing_is_switched_on() -> None:
    assert _cold_process(None) == {"xray": False}
    assert _cold_process("false") == {"xray": False}
    assert _cold_process("true") == {"xray": True}
