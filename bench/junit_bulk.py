"""(c) A large JUnit report processed the way the reports function processes it, against moto
in-process: 10,000 testcases, 1,000 of them failing, over 100 scenarios (classname = scenario,
100 cases each, 10 failing), put in S3; the S3 notification handed to
`chalicelib.handlers.handle_upload_events` (the split invocation: the report streamed into
chunks of 2,000 results in S3, one message each on the reports queue), then each chunk message
handed to it in turn (`uploads.process_chunk`), as Lambda would, one after another. Step
Functions does not execute here (StartExecution is answered), so moto's workflow interpreter is
not in the figure. The floor, in the same run: parsing the same XML plus BatchWriteItem of as many
items into the same table. Target: ingest / floor <= 1.5. The same report is then ingested a
second time (another run): its test cases are registered by then, so this figure leaves out the
auto-registration that the first report of a test case writes by design (a head and a version
item per new test case). Correctness: 100 drafts opened, 2,000 occurrences in all (two runs)."""

from __future__ import annotations

import contextlib
import json
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


def sqs_event(message: dict[str, Any], queue_url: str) -> dict[str, Any]:
    """A received SQS message as Lambda's event source mapping hands it to the function."""
    name = queue_url.rsplit("/", 1)[-1]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{name}",
                "awsRegion": "us-east-1",
            }
        ]
    }


def run_chunks(c: Any, invoke: Any) -> list[Any]:
    """Each chunk message on the reports queue handed to `invoke(event)` (one invocation of the
    reports function, batch size 1 as in app.py); receiving and deleting is the event source
    mapping's work, not the function's, and is outside what `invoke` measures. Returns what each
    invocation returned; a failed record (batchItemFailures) stops the loop with an error."""
    sqs = c.clients.get("sqs")
    queue = c.settings.reports_queue_url
    outs: list[Any] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        messages = got.get("Messages", [])
        if not messages:
            return outs
        for m in messages:
            if json.loads(m["Body"]).get("type") != "upload_chunk":
                continue
            out = invoke(sqs_event(m, queue))
            if out["batchItemFailures"]:
                raise RuntimeError(f"a chunk invocation failed: {m['Body']}")
            outs.append(out)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def put_upload(c: Any, body: bytes, run_id: str) -> tuple[str, str]:
    """An upload requested as the API does (a CI key), its report put in S3: (uploadId, key)."""
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
    return upload["uploadId"], key


def s3_notification(c: Any, key: str) -> dict[str, Any]:
    """The reports function's event for an object landing under uploads/ (S3 -> SQS)."""
    record = {"s3": {"bucket": {"name": c.settings.bucket_name}, "object": {"key": key}}}
    message = {
        "MessageId": f"s3-{uuid.uuid4().hex}",
        "ReceiptHandle": "s3-notification",
        "Body": json.dumps({"Records": [record]}),
    }
    return sqs_event(message, c.settings.reports_queue_url)


def _app(body: bytes, c: Any, run_id: str) -> tuple[float, float, int, str, dict[str, Any]]:
    """The upload as the reports function runs it: the split invocation (the S3 notification),
    then one invocation per chunk, each through `handle_upload_events`. Returns the seconds of
    the split, of all the chunks, their number, the split's outcome and the upload's progress."""
    from chalicelib.handlers import handle_upload_events

    upload_id, key = put_upload(c, body, run_id)
    chunk_s = 0.0

    def timed(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal chunk_s
        start = time.perf_counter()
        out = handle_upload_events(event)
        chunk_s += time.perf_counter() - start
        return out

    with quiet():
        start = time.perf_counter()
        handle_upload_events(s3_notification(c, key))
        split_s = time.perf_counter() - start
        chunks = len(run_chunks(c, timed))
    progress = c.uploads.progress(PROJECT, upload_id)
    return split_s, chunk_s, chunks, str(progress.get("status")), progress


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
    from chalicelib.services.uploads import CHUNK

    uid = uuid.uuid4().hex[:6]
    body = junit_xml(uid, scenarios, cases, failures)
    total = scenarios * cases
    lean = contextlib.nullcontext() if moto_as_is else lean_moto_transactions()
    with moto_inprocess(execute_state_machine=False), lean:
        c = bootstrap.container()
        c.access.create_project(PROJECT, "Bulk benchmark", False, default_lead="lead@example.com")
        c.access.put_module(PROJECT, "checkout", "lead@example.com", None)
        counter = CallCounter().attach(*c.clients.every())
        with counter.counting() as app_calls:
            split_s, chunk_s, chunks, status, progress = _app(body, c, f"bulk-{uid}")
        with counter.counting() as floor_calls:
            floor_s, floor_items = _floor(body, c.repos.table, f"floor-{uid}")
        with counter.counting() as again_calls:
            again_split, again_chunks, _, again_status, _ = _app(body, c, f"bulk-{uid}-again")
        tickets = _tickets(c.repos)
    app_s = split_s + chunk_s
    again_s = again_split + again_chunks
    drafts = len(tickets)
    occurrences = sum(int(t.occurrences or 0) for t in tickets)
    print(
        f"JUnit bulk report: {total:,} testcases, {scenarios * failures:,} failures over "
        f"{scenarios} scenarios ({len(body) / 1e6:.1f} MB), moto in-process, Step Functions "
        "not executing (StartExecution answered; the workflow's work is not this process's)"
        + ("" if moto_as_is else "; transactions back up touched items only, see below")
    )
    print(
        f"  ingest (the reports function: split invocation + {chunks} chunk invocations of <= "
        f"{CHUNK:,} results, one after another): {app_s:7.2f} s = split {split_s:.2f} s + "
        f"chunks {chunk_s:.2f} s; {total / app_s:,.0f} cases/s; upload {status}"
    )
    print(f"  floor (parse + BatchWriteItem of {floor_items:,} items, same run): {floor_s:7.2f} s")
    print(
        f"  ratio ingest/floor: {app_s / floor_s:.2f}  (target <= {TARGET_RATIO}; first report:"
        f" registers its {total:,} test cases, {2 * total:,} items more than the floor)"
    )
    print(
        f"  the same report again (another run, test cases registered): {again_s:7.2f} s = "
        f"split {again_split:.2f} s + chunks {again_chunks:.2f} s; upload {again_status}; "
        f"ratio {again_s / floor_s:.2f}"
    )
    print(f"  AWS calls, ingest: {app_calls.total}: {app_calls.by_operation(with_seconds=True)}")
    print(f"  AWS calls, again: {again_calls.total}: {again_calls.by_operation(with_seconds=True)}")
    print(f"  AWS calls, floor: {floor_calls.total}: {floor_calls.by_operation(with_seconds=True)}")
    expected_drafts, expected_occurrences = scenarios, 2 * scenarios * failures
    ok = (drafts, occurrences) == (expected_drafts, expected_occurrences)
    print(
        f"  drafts opened: {drafts} (expected {expected_drafts}); occurrences in all: "
        f"{occurrences} (expected {expected_occurrences})" + ("  ok" if ok else "  MISMATCH")
    )
    print(
        f"  the upload's progress: {progress.get('status')} "
        f"processed={progress.get('processed')}/{progress.get('total')} "
        f"chunks={progress.get('chunksDone')}/{progress.get('chunks')} "
        f"drafts={progress.get('drafts')} merged={progress.get('merged')}"
    )
    if not moto_as_is:
        print(
            "  note: moto's TransactWriteItems deep-copies the whole table once per transaction\n"
            "  item (O(table) per call; hours at this size); this run backs up only the items a\n"
            "  transaction touches (--moto-as-is: moto unchanged, use with small sizes)"
        )
    return {
        "app_s": app_s,
        "split_s": split_s,
        "chunk_s": chunk_s,
        "floor_s": floor_s,
        "ratio": app_s / floor_s,
        "again_s": again_s,
        "again_ratio": again_s / floor_s,
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
