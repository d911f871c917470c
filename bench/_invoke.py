"""One Lambda invocation in a fresh interpreter, as `bench.junit_upload` runs each one:

    python -m bench._invoke <handler> <out.json> < event.json

imports `app` (Lambda's init), calls `app.<handler>(event, context)` once and writes to out.json:
init and handler seconds, the process's peak RSS (VmHWM: what Lambda reports as "Max Memory
Used") and its peak after init, and the handler's answer. The AWS endpoint and the FAILBRIDGE_*
settings come from the environment."""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
from pathlib import Path


def _rss_mib() -> float:
    """This process's peak RSS: VmHWM (per address space, so not the parent's: ru_maxrss keeps
    the high-water mark of the image before exec, i.e. of the forked benchmark)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _Context:
    function_name = "bench"
    aws_request_id = "bench-invocation"
    memory_limit_in_mb = 0

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def main(handler: str, out: str) -> None:
    event = json.load(sys.stdin)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        import app

        init_s = time.perf_counter() - start
        init_rss = _rss_mib()
        start = time.perf_counter()
        answer = getattr(app, handler)(event, _Context())
        took = time.perf_counter() - start
    Path(out).write_text(
        json.dumps(
            {
                "init_s": init_s,
                "duration_s": took,
                "init_rss_mib": init_rss,
                "peak_rss_mib": _rss_mib(),
                "answer": answer,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
