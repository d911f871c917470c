"""(issue 13) Test management at size, against moto in-process, through the services the routes
call: a 50,000-row CSV import (one test case a row, two requirements each out of 5,000) — rows/s
and peak memory (tracemalloc: our objects and moto's table together; and the process's peak RSS);
the same file through the presigned upload path (the object in S3, `TestCaseImports.process` as
the S3 notification runs it: a streamed validate pass, then batched writes) into a second project
— its dry run's peak traced memory beside the direct dry run's, and the real import's rows/s;
then coverage of those 5,000 requirements x 50,000 test cases, page by page (1,000 requirements a
page) — per page p50/p95 and the whole walk; and a 50-story release view, p50/p95 over
`BENCH_TM_VIEWS` views (default 20). moto runs with the local stack's patches (partition
queries, lean transactions: same answers). Figures, no targets.
`BENCH_TM_ROWS` scales the import (default 50,000)."""

from __future__ import annotations

import os
import resource
import time
import tracemalloc
from typing import Any

from bench._support import lean_moto_transactions, median, moto_inprocess, percentile
from chalicelib import settings
from chalicelib.services import testcase_imports

PROJECT = "TM"
UPLOADED = "TMUP"  # the presigned-upload import's project (all creates, as the direct one)
ROWS = int(os.environ.get("BENCH_TM_ROWS", "50000"))
REQUIREMENTS = max(1, ROWS // 10)
VIEWS = int(os.environ.get("BENCH_TM_VIEWS", "20"))  # release views timed


def csv_text(rows: int, requirements: int) -> str:
    lines = ["Test Case ID,Title,Module,Suite,Priority,Method,Requirements,Steps,Expected Result"]
    for n in range(rows):
        reqs = f"REQ-{n % requirements:05d}, REQ-{(n * 7 + 3) % requirements:05d}"
        lines.append(
            f'TC-{n:06d},Case {n},mod{n % 20},suite{n % 100},high,manual,"{reqs}",'
            f'"1. Open page {n}\n2. Click",'
            f'"1. Shown\n2. Done"'
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    from chalicelib import bootstrap

    with moto_inprocess() as resources, lean_moto_transactions():
        c = bootstrap.container()
        text = csv_text(ROWS, REQUIREMENTS)
        print(f"CSV: {ROWS:,} rows, {len(text) / 1e6:.1f} MB, {REQUIREMENTS:,} requirements")
        tracemalloc.start()
        started = time.perf_counter()
        dry = c.test_cases.import_csv(PROJECT, text, dry_run=True, by="bench")
        took = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"dry run (parse, read heads, plan; under tracemalloc): {took:.1f} s, "
            f"peak traced memory {peak / 2**20:,.0f} MiB for a {len(text) / 2**20:.1f} MiB file"
        )
        del dry
        started = time.perf_counter()
        out = c.test_cases.import_csv(PROJECT, text, dry_run=False, by="bench")
        took = time.perf_counter() - started
        assert out["summary"]["created"] == ROWS, out["summary"]
        print(
            f"import: {took:.1f} s, {ROWS / took:,.0f} rows/s (writes: {ROWS:,} versions, "
            f"{ROWS:,} heads, {2 * ROWS:,} coverage links); process peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
        )

        release_view(c)  # first: the figure the data set exists for, before the longer steps
        upload_path(c, resources["bucket"], text)

        pages: list[float] = []
        cursor = None
        seen = 0
        walk = time.perf_counter()
        while True:
            started = time.perf_counter()
            page = c.requirements.coverage(PROJECT, limit=1000, cursor=cursor)
            pages.append(time.perf_counter() - started)
            seen += len(page["requirements"])
            cursor = page["next"]
            if not cursor:
                break
        total = time.perf_counter() - walk
        started = time.perf_counter()
        raw = c.repos.table.query_all(f"REQS#{PROJECT}", sk_prefix="REQ#")
        floor = time.perf_counter() - started
        print(
            f"floor: one raw Query walk of the same {len(raw):,} items: {floor:.1f} s "
            "(moto's response serialisation dominates both)"
        )
        print(
            f"coverage: {seen:,} requirements in {len(pages)} pages of 1,000; per page "
            f"p50 {median(pages) * 1000:,.0f} ms, p95 {percentile(pages, 95) * 1000:,.0f} ms; "
            f"whole walk {total:.1f} s; process peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB (moto's table "
            "in the same process)"
        )


def release_view(c: Any) -> None:
    """The release view of 50 stories (each with its ~20 test cases' links), `VIEWS` times over
    the whole data set: one Query of the release's membership, one BatchGetItem of the stories,
    one Query per story's links (in moto, with `partition_queries`, each reads the 105,000-item
    requirements partition: its candidates are the partition, not the story's links)."""
    from chalicelib.domain.requirements import BUCKETS
    from chalicelib.models import RequirementIn

    for n in range(50):
        c.requirements.put(
            PROJECT, f"REQ-{n:05d}", RequirementIn(title=f"Story {n}", fix_versions=["2.4.0"])
        )
    views: list[float] = []
    stories = links = 0
    for _ in range(VIEWS):
        started = time.perf_counter()
        view = c.requirements.scope_view(PROJECT, "release", "2.4.0")
        views.append(time.perf_counter() - started)
        stories = view["stories"]
        links = sum(len(story["testCases"]) for b in BUCKETS for story in view[b])
    started = time.perf_counter()
    c.repos.table.query_all(f"REQS#{PROJECT}", sk_prefix="REQ#REQ-00000#TC#")
    one = time.perf_counter() - started
    print(
        f"release view of {stories} stories ({links:,} test-case links), {len(views)} views: "
        f"p50 {median(views) * 1000:,.0f} ms, p95 {percentile(views, 95) * 1000:,.0f} ms "
        f"(floor: one story's links Query alone {one * 1000:,.0f} ms, x{stories} stories)"
    )


def upload_path(c: Any, bucket: str, text: str) -> None:
    """The presigned-upload import of the same file (the object put as a client's POST would)."""
    import boto3

    body = text.encode()
    print(
        f"direct import body: {len(body) / 2**20:.1f} MiB (the API takes at most "
        f"{settings.MAX_IMPORT_BODY_BYTES / 2**20:.0f} MiB; larger files go through the upload)"
    )
    s3 = boto3.client("s3")
    for dry in (True, False):
        made = c.test_case_imports.request(UPLOADED, "csv", dry, "bench")
        key = made["fields"]["key"]
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        if dry:
            tracemalloc.start()
        started = time.perf_counter()
        outcome = c.test_case_imports.process(key)
        took = time.perf_counter() - started
        got = c.test_case_imports.get(UPLOADED, made["importId"])
        if dry:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert outcome == "validated", got
            print(
                f"upload dry run (streamed validate pass, under tracemalloc): {took:.1f} s, "
                f"peak traced memory {peak / 2**20:,.0f} MiB"
            )
            continue
        assert outcome == "completed" and got["written"] == ROWS, got
        print(
            f"upload import (validate pass + write pass in batches of "
            f"{testcase_imports.BATCH}): {took:.1f} s, {ROWS / took:,.0f} rows/s; process peak "
            f"RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
