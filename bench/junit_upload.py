"""(issue 9) Large JUnit reports through the presigned upload, each invocation of the reports
function run through its handler (`chalicelib.handlers.handle_upload_events`, what
`app.on_report_uploaded` calls) with the SQS event Lambda would pass, against moto in-process
(Step Functions not executing: the workflow's work is not the function's). First the S3
notification (the split: the report streamed from S3 into chunks of 2,000 results, one message
each on the reports queue), then one invocation per chunk message.

Per invocation: handler seconds and the peak of Python's allocations during it (tracemalloc,
which also counts moto's own allocations while it serves the invocation's calls, so an upper
bound), plus the RSS of a fresh interpreter after Lambda's init (`import app`, the container and
its clients: `bench._invoke`, measured once) = the estimated peak, against the memory and
timeout infra/template.json gives the function. Memory is traced on the split, the first three
chunks and every tenth (tracemalloc slows an invocation several times over); those durations
are under tracemalloc, the others not.

Reports: 100,000 testcases (~10 MB; 100 scenarios of 1,000, 10 failing each): the split and the
first `--chunks` chunk invocations (default 3; moto takes ~20-40 s a chunk, so all 50 take
~25 min: `--chunks 0` runs every chunk to `completed`). `--large`: also a ~100 MB report (20,000
testcases each with ~5 KB of <system-out>, where a large report's bulk is in practice), opt-in:
the split alone parses 100 MB."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from typing import Any

from bench._support import ROOT, lean_moto_transactions, moto_inprocess, quiet
from bench.junit_bulk import PROJECT, junit_xml, put_upload, run_chunks, s3_notification

HANDLER = "on_report_uploaded"
FUNCTION = "OnReportUploaded"


class _Enough(Exception):
    """Stops the chunk loop after the chunks asked for."""


def large_junit_xml(uid: str, scenarios: int, cases: int, failures: int, out_bytes: int) -> bytes:
    """As `junit_xml`, each passing testcase carrying `out_bytes` of <system-out> (log lines)."""
    line = "2026-12-02T10:00:00.000Z INFO checkout step passed: cart total 100.00 EUR\n"
    out = (line * (out_bytes // len(line) + 1))[:out_bytes]
    parts = junit_xml(uid, scenarios, cases, failures).decode().split("<testcase ")
    for i in range(1, len(parts)):
        head, sep, rest = parts[i].partition("/>")
        if sep and ">" not in head:  # a passing testcase: <testcase .../>
            parts[i] = f"{head}><system-out>{out}</system-out></testcase>{rest}"
    return "<testcase ".join(parts).encode()


def configured(function: str = FUNCTION) -> tuple[int, int]:
    """(MemorySize MB, Timeout s) of a function in infra/template.json."""
    template = json.loads((ROOT / "infra" / "template.json").read_text())
    props = template["Resources"][function]["Properties"]
    return int(props.get("MemorySize", 128)), int(props.get("Timeout", 3))


def init_rss_mib() -> float:
    """Peak RSS of a fresh interpreter that ran Lambda's init (`import app`) and the handler on
    an empty batch (the container and its module imports): the floor under every invocation."""
    with tempfile.TemporaryDirectory(prefix="failbridge-invoke-") as tmp:
        out = os.path.join(tmp, "out.json")
        subprocess.run(
            [sys.executable, "-m", "bench._invoke", HANDLER, out],
            input=json.dumps({"Records": []}),
            text=True,
            cwd=ROOT,
            env=dict(os.environ),
            capture_output=True,
            check=True,
        )
        return float(json.loads(open(out).read())["peak_rss_mib"])


def _measured(handle: Any, event: dict[str, Any], traced: bool = True) -> dict[str, Any]:
    """One invocation: the handler's answer, seconds and peak traced MiB (None untraced:
    tracemalloc slows moto and the handler several times over, so a full run traces a sample)."""
    if traced:
        tracemalloc.start()
        tracemalloc.reset_peak()
    start = time.perf_counter()
    try:
        with quiet():
            answer = handle(event)  # its log lines are INFO: the level is WARNING here
        took = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    finally:
        tracemalloc.stop()
    if answer["batchItemFailures"]:
        raise RuntimeError(f"an invocation failed: {event['Records'][0]['body'][:300]}")
    return {"answer": answer, "duration_s": took, "traced_mib": peak}


def _sampled(index: int) -> bool:
    """Chunks traced for memory: the first three and every tenth (the table grows as it goes)."""
    return index < 3 or (index + 1) % 10 == 0


def _progress(what: str, run: dict[str, Any], floor: float) -> None:
    """One invocation's figures as soon as it ends (a full run takes long: partial figures)."""
    traced = run["traced_mib"]
    memory = "not traced" if traced is None else f"{traced:.1f} MiB traced + {floor:.0f} MiB"
    print(f"    {what}: {run['duration_s']:.1f} s, {memory}", flush=True)


def _line(kind: str, runs: list[dict[str, Any]], floor: float, memory: int, timeout: int) -> str:
    took = [r["duration_s"] for r in runs]
    sampled = [r["traced_mib"] for r in runs if r["traced_mib"] is not None]
    traced = max(sampled)
    peak = floor + traced
    return (
        f"  {kind}: {len(runs)} invocation(s), {min(took):.1f}..{max(took):.1f} s "
        f"(median {statistics.median(took):.1f}) of {timeout} s = {max(took) / timeout:.0%}; "
        f"peak of the {len(sampled)} traced {traced:.1f} MiB + {floor:.0f} MiB after init = "
        f"{peak:.0f} MiB of {memory} MB = {peak * 1.048576 / memory:.0%}"
    )


def run(body: bytes, total: int, label: str, chunks_wanted: int) -> dict[str, Any]:
    from chalicelib import bootstrap
    from chalicelib.handlers import handle_upload_events
    from chalicelib.observability import logger

    logger.setLevel("WARNING")  # a line per invocation otherwise
    memory, timeout = configured()
    with moto_inprocess(execute_state_machine=False), lean_moto_transactions():
        floor = init_rss_mib()
        c = bootstrap.container()
        c.access.create_project(PROJECT, "Upload benchmark", False, default_lead="l@example.com")
        c.access.put_module(PROJECT, "checkout", "l@example.com", None)
        upload_id, key = put_upload(c, body, f"u-{uuid.uuid4().hex[:6]}")
        chunks: list[dict[str, Any]] = []

        def one(event: dict[str, Any]) -> dict[str, Any]:
            if chunks_wanted and len(chunks) >= chunks_wanted:
                raise _Enough
            chunks.append(_measured(handle_upload_events, event, _sampled(len(chunks))))
            _progress(f"chunk {len(chunks) - 1}", chunks[-1], floor)
            answer: dict[str, Any] = chunks[-1]["answer"]
            return answer

        split = _measured(handle_upload_events, s3_notification(c, key))
        _progress("split", split, floor)
        with contextlib.suppress(_Enough):
            run_chunks(c, one)
        progress = c.uploads.progress(PROJECT, upload_id)
    handler_s = split["duration_s"] + sum(r["duration_s"] for r in chunks)
    print(f"{label}: {total:,} testcases, {len(body) / 1e6:.1f} MB")
    print(_line("split (S3 notification)", [split], floor, memory, timeout))
    print(
        f"    {total / split['duration_s']:,.0f} testcases/s, "
        f"{len(body) / 1e6 / split['duration_s']:.2f} MB/s streamed into "
        f"{progress.get('chunks')} chunks"
    )
    if chunks:
        median = statistics.median(r["duration_s"] for r in chunks)
        print(_line("chunks (<= 2,000 results)", chunks, floor, memory, timeout))
        print(f"    {2000 / median:,.0f} testcases/s recorded (median chunk of 2,000)")
    print(
        f"  upload {progress.get('status')}: {progress.get('processed')}/{progress.get('total')} "
        f"recorded, chunks {progress.get('chunksDone')}/{progress.get('chunks')}, "
        f"drafts {progress.get('drafts')}, merged {progress.get('merged')}"
        + (
            ""
            if progress.get("status") == "completed"
            else f" (the first {len(chunks)} chunks run; all: --chunks 0)"
        )
    )
    if progress.get("status") == "completed":
        print(
            f"  whole upload: {total / handler_s:,.0f} testcases/s over the handlers' "
            f"{handler_s:.1f} s one after another (chunks run in parallel on Lambda)"
        )
    return {"split": split, "chunks": chunks, "floor_mib": floor, "progress": progress}


def main(
    scenarios: int = 100,
    cases: int = 1000,
    failures: int = 10,
    *,
    chunks: int = 3,
    large: bool = False,
) -> dict[str, Any]:
    memory, timeout = configured()
    print(
        f"moto in-process, Step Functions not executing; {FUNCTION} is configured with "
        f"{memory} MB and {timeout} s (infra/template.json); times are moto's, on a shared machine"
    )
    uid = uuid.uuid4().hex[:6]
    body = junit_xml(uid, scenarios, cases, failures)
    out = {"default": run(body, scenarios * cases, "JUnit", chunks)}
    if large:
        body = large_junit_xml(uid, 20, 1000, 10, 5000)
        out["large"] = run(body, 20_000, "JUnit with <system-out>", chunks)
    else:
        print("  (the ~100 MB report: --large, opt-in: a few minutes more)")
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.junit_upload", description=__doc__)
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--cases", type=int, default=1000, help="per scenario")
    parser.add_argument("--failures", type=int, default=10, help="per scenario")
    parser.add_argument("--chunks", type=int, default=3, help="chunk invocations; 0: all")
    parser.add_argument("--large", action="store_true", help="also the ~100 MB report")
    args = parser.parse_args()
    main(args.scenarios, args.cases, args.failures, chunks=args.chunks, large=args.large)
