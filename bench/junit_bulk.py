"""(c) A large JUnit report processed the way the upload handler processes it, against moto
in-process: 10,000 testcases, 1,000 of them failing, over 100 scenarios (classname = scenario,
100 cases each, 10 failing), put in S3 and handed to `container().uploads.process(key)` (parse,
then `results.record` in chunks of 500, with progress). The floor, in the same run: parsing the
same XML plus BatchWriteItem of as many items into the same table. Target: app / floor <= 1.5.
Correctness: 100 drafts opened, 1,000 occurrences in all."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from bench._support import CallCounter, lean_moto_transactions, moto_inprocess, quiet

PROJECT = "BULK"
SCENARIOS = 100
CASES_PER_SCENARIO = 100
FAILURES_PER_SCENARIO = 10
TARGET_RATIO = 1.5


def junit_xml(uid: str, scenarios: int, cases: int, failures: int) -> bytes:
    """One <testsuite> per scenario, declared by its `scenario` property (each testcase would
    otherwise be its own scenario); the first `failures` testcases of each fail."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="bulk">']
    for s in range(scenarios):
        scenario = f"checkout.bulk{uid}.s{s:03d}"
        parts.append(
            f'<testsuite name="{scenario}" tests="{cases}" failures="{failures}">'
            f'<properties><property name="scenario" value="{scenario}"/>'
            '<property name="module" value="checkout"/>'
            '<property name="reporter" value="qa-bot@example.com"/></properties>'
        )
        for c in range(cases):
            head = f'<testcase classname="{scenario}" name="test_{c:03d}" time="0.{c % 10}5"'
            if c < failures:
                parts.append(
                    f'{head}><failure message="AssertionError: total is 100.00, expected 80.00" '
                    'type="AssertionError">Traceback (most recent call last):\n'
                    f'  File "tests/test_{s}.py", line {c + 10}, in test_{c:03d}\n'
                    "AssertionError: total is 100.00, expected 80.00</failure></testcase>"
                )
            else:
                parts.append(f"{head}/>")
        parts.append("</testsuite>")
    parts.append("</testsuites>")
    return "".join(parts).encode()


def _floor(body: bytes, store: Any, run_id: str) -> tuple[float, int]:
    """Parse the XML, then BatchWriteItem one item per result into the same table."""
    from chalicelib import settings
    from chalicelib.junit import parse_junit

    start = time.perf_counter()
    results = parse_junit(body, max_bytes=settings.MAX_UPLOAD_REPORT_BYTES)
    items = [
        {
            "pk": f"RUN#FLOOR#{run_id}",
            "sk": f"EXEC#{r.test_case_id}#{r.attempt:04d}",
            **r.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
        for r in results
    ]
    store.batch_put(items)
    return time.perf_counter() - start, len(items)


def _app(body: bytes, c: Any, run_id: str) -> tuple[float, str, dict[str, Any]]:
    from chalicelib.domain.roles import Role
    from chalicelib.models import UploadRequest, parse_model
    from chalicelib.services.access import Principal

    principal = Principal(PROJECT, Role.CI, "key_bench", "qa-bot@example.com")
    request = parse_model(UploadRequest, {"run": {"id": run_id, "name": "bulk"}, "format": "junit"})
    upload = c.uploads.request(PROJECT, request, principal)
    key = f"uploads/{PROJECT}/{upload['uploadId']}/report.xml"
    c.clients.get("s3").put_object(
        Bucket=c.settings.bucket_name, Key=key, Body=body, ContentType="application/xml"
    )
    start = time.perf_counter()
    with quiet():
        outcome = c.uploads.process(key)
    took = time.perf_counter() - start
    return took, outcome, c.uploads.progress(PROJECT, upload["uploadId"])


def _tickets(repos: Any) -> list[Any]:
    tickets: list[Any] = []
    cursor = None
    while True:
        page, cursor = repos.tickets.page(
            PROJECT, status=None, module=None, limit=100, cursor=cursor
        )
        tickets.extend(page)
        if not cursor:
            return tickets


def main(
    scenarios: int = SCENARIOS,
    cases: int = CASES_PER_SCENARIO,
    failures: int = FAILURES_PER_SCENARIO,
    *,
    moto_as_is: bool = False,
) -> dict[str, Any]:
    from chalicelib import bootstrap

    uid = uuid.uuid4().hex[:6]
    body = junit_xml(uid, scenarios, cases, failures)
    total = scenarios * cases
    lean = contextlib.nullcontext() if moto_as_is else lean_moto_transactions()
    with moto_inprocess(), lean:
        c = bootstrap.container()
        c.access.create_project(PROJECT, "Bulk benchmark", False, default_lead="lead@example.com")
        c.access.put_module(PROJECT, "checkout", "lead@example.com", None)
        counter = CallCounter().attach(*c.clients.every())
        with counter.counting() as app_calls:
            app_s, outcome, progress = _app(body, c, f"bulk-{uid}")
        with counter.counting() as floor_calls:
            floor_s, floor_items = _floor(body, c.repos.table, f"floor-{uid}")
        tickets = _tickets(c.repos)
    drafts = len(tickets)
    occurrences = sum(int(t.get("occurrences", 0)) for t in tickets)
    print(
        f"JUnit bulk report: {total:,} testcases, {scenarios * failures:,} failures over "
        f"{scenarios} scenarios ({len(body) / 1e6:.1f} MB), moto in-process"
        + ("" if moto_as_is else " (transactions back up touched items only, see below)")
    )
    print(
        f"  app (uploads.process: parse + record in chunks of 500): {app_s:7.2f} s  "
        f"({total / app_s:,.0f} testcases/s), outcome {outcome}"
    )
    print(f"  floor (parse + BatchWriteItem of {floor_items:,} items):    {floor_s:7.2f} s")
    print(f"  ratio app/floor: {app_s / floor_s:.2f}  (target <= {TARGET_RATIO})")
    print(f"  AWS calls, app:   {app_calls.total}: {app_calls.by_operation(with_seconds=True)}")
    print(f"  AWS calls, floor: {floor_calls.total}: {floor_calls.by_operation(with_seconds=True)}")
    expected_drafts, expected_occurrences = scenarios, scenarios * failures
    print(
        f"  drafts opened: {drafts} (expected {expected_drafts}); the upload's progress: "
        f"drafts={progress.get('drafts')} merged={progress.get('merged')} "
        f"processed={progress.get('processed')}/{progress.get('total')}"
    )
    ok = (drafts, occurrences) == (expected_drafts, expected_occurrences)
    print(
        f"  occurrences in all: {occurrences} (expected {expected_occurrences})"
        + ("" if ok else "  MISMATCH")
    )
    if not moto_as_is:
        print(
            "  note: moto's TransactWriteItems deep-copies the whole table once per transaction\n"
            "  item (O(table) per call; hours at this size); this run backs up only the items a\n"
            "  transaction touches (--moto-as-is: moto unchanged, use with small sizes)"
        )
    return {
        "app_s": app_s,
        "floor_s": floor_s,
        "ratio": app_s / floor_s,
        "drafts": drafts,
        "occurrences": occurrences,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.junit_bulk", description=__doc__)
    parser.add_argument("--scenarios", type=int, default=SCENARIOS)
    parser.add_argument("--cases", type=int, default=CASES_PER_SCENARIO, help="per scenario")
    parser.add_argument("--failures", type=int, default=FAILURES_PER_SCENARIO, help="per scenario")
    parser.add_argument("--moto-as-is", action="store_true", help="keep moto's table-wide copies")
    args = parser.parse_args()
    main(args.scenarios, args.cases, args.failures, moto_as_is=args.moto_as_is)
