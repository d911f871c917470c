"""(issue 9) A 100,000-testcase JUnit report through the presigned upload, as the reports queue's
function runs it, against moto in-process: one invocation reads the report from S3 as a stream
and splits it into chunks (chunks/ in S3, one message each on the reports queue); then one
invocation per chunk records it. Printed per invocation kind: wall time and the peak of Python's
own allocations (tracemalloc; the interpreter and libraries, ~60 MB on Lambda, come on top), and
the whole upload's testcases per second. 100 scenarios of 1,000 testcases, 10 failing each."""

from __future__ import annotations

import contextlib
import json
import time
import tracemalloc
import uuid
from typing import Any

from bench._support import lean_moto_transactions, moto_inprocess, quiet
from bench.junit_bulk import junit_xml

PROJECT = "UPLOAD"


def _invocation(work: Any) -> tuple[Any, float, int]:
    """Run `work()` as one invocation: its result, seconds, and peak traced bytes."""
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    with quiet():
        out = work()
    took = time.perf_counter() - start
    return out, took, tracemalloc.get_traced_memory()[1] - base


def main(scenarios: int = 100, cases: int = 1000, failures: int = 10) -> dict[str, Any]:
    from chalicelib import bootstrap
    from chalicelib.domain.roles import Role
    from chalicelib.models import UploadRequest, parse_model
    from chalicelib.services.access import Principal

    uid = uuid.uuid4().hex[:6]
    body = junit_xml(uid, scenarios, cases, failures)
    total = scenarios * cases
    with moto_inprocess(), lean_moto_transactions():
        c = bootstrap.container()
        c.access.create_project(PROJECT, "Upload benchmark", False, default_lead="l@example.com")
        c.access.put_module(PROJECT, "checkout", "l@example.com", None)
        principal = Principal(PROJECT, Role.CI, "key_bench", "qa-bot@example.com")
        request = parse_model(UploadRequest, {"run": {"id": f"u-{uid}"}, "format": "junit"})
        upload = c.uploads.request(PROJECT, request, principal)
        key = f"uploads/{PROJECT}/{upload['uploadId']}/report.xml"
        c.clients.get("s3").put_object(Bucket=c.settings.bucket_name, Key=key, Body=body)
        sqs = c.clients.get("sqs")
        queue = c.settings.reports_queue_url
        tracemalloc.start()
        try:
            outcome, split_s, split_peak = _invocation(lambda: c.uploads.process(key))
            chunk_s: list[float] = []
            chunk_peak: list[int] = []
            while True:
                got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
                messages = got.get("Messages", [])
                if not messages:
                    break
                for m in messages:
                    task = json.loads(m["Body"])
                    if task.get("type") != "upload_chunk":
                        continue
                    _, took, peak = _invocation(
                        lambda t=task: c.uploads.process_chunk(t["uploadId"], t["chunk"])
                    )
                    chunk_s.append(took)
                    chunk_peak.append(peak)
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        finally:
            tracemalloc.stop()
        progress = c.uploads.progress(PROJECT, upload["uploadId"])
    whole = split_s + sum(chunk_s)
    print(
        f"JUnit upload: {total:,} testcases ({len(body) / 1e6:.1f} MB), "
        f"{scenarios * failures:,} failures over {scenarios} scenarios, moto in-process"
    )
    print(
        f"  split invocation (stream-parse, {progress.get('chunks')} chunks to S3 + queue): "
        f"{split_s:6.1f} s, {total / split_s:,.0f} testcases/s, peak {split_peak / 2**20:.1f} MiB"
        f" traced; outcome {outcome}"
    )
    if chunk_s:
        print(
            f"  chunk invocations: {len(chunk_s)}, each {min(chunk_s):.1f}..{max(chunk_s):.1f} s, "
            f"peak {max(chunk_peak) / 2**20:.1f} MiB traced"
        )
    print(
        f"  whole upload, one invocation after another: {whole:6.1f} s "
        f"({total / whole:,.0f} testcases/s); chunks run in parallel on Lambda"
    )
    print(
        f"  progress: {progress.get('status')} {progress.get('processed')}/{progress.get('total')},"
        f" drafts={progress.get('drafts')} merged={progress.get('merged')}"
    )
    return {"split_s": split_s, "chunks": len(chunk_s), "whole_s": whole}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.junit_upload", description=__doc__)
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--cases", type=int, default=1000, help="per scenario")
    parser.add_argument("--failures", type=int, default=10, help="per scenario")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        main(args.scenarios, args.cases, args.failures)
