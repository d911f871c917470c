"""(c) A large JUnit report processed the way the reports function processes it, against moto
in-process: 10,000 testcases, 1,000 of them failing, over 100 scenarios (classname = scenario,
100 cases each, 10 failing), put in S3; the S3 notification handed to
`chalicelib.handlers.handle_upload_events` (the split invocation: the report streamed into
chunks of 2,000 results in S3, one message each on the reports queue), then each chunk message
handed to it in turn (`uploads.process_chunk`), as Lambda would, one after another. Step
Functions does not execute here (StartExecution is answered), so moto's workflow interpreter is
not in the figure. The floor, in the same run: parsing the same XML plus BatchWriteItem of the
same items: every item the ingest put or updated, as it left them (executions, the run, the test
cases it registered, scenarios, drafts, clusters, the upload), under keys of their own. Target:
ingest / floor <= 1.5. (Until 2026-12-02 the floor wrote one item per result: the registration
and the scenario and ticket items the ingest must write were not in it; that figure is printed
too.) The same report is then ingested a second time (another run): its test cases are
registered by then, so it writes fewer items; its own floor is measured the same way.
Correctness: one draft per scenario, 2,000 occurrences in all (two runs), the progress exact."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import Counter
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
    """Parse the XML, then BatchWriteItem one item per result into the same table (the floor
    before 2026-12-02: one execution per result, no registration, scenarios or tickets)."""
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


class WrittenKeys:
    """The keys of the items an ingest writes in one table (PutItem, UpdateItem, BatchWriteItem
    puts, TransactWriteItems puts and updates), read from the calls' parameters: the items the
    same-items floor writes again."""

    def __init__(self, client: Any, table: str) -> None:
        self.table = table
        self.keys: dict[tuple[str, str], None] = {}
        self.on = False
        client.meta.events.register("before-parameter-build.dynamodb.*", self._before)

    @contextlib.contextmanager
    def recording(self) -> Any:
        self.keys, self.on = {}, True
        try:
            yield self
        finally:
            self.on = False

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.on:
            return
        for table, key in _written(model.name, params):
            if table == self.table:
                self.keys[(key["pk"]["S"], key["sk"]["S"])] = None

    def items(self, store: Any) -> list[dict[str, Any]]:
        """The written items as they are now (read back once the ingest is over)."""
        return list(store.batch_get([{"pk": pk, "sk": sk} for pk, sk in self.keys]))


def _written(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, key or item) of each item a DynamoDB write call puts or updates."""
    if operation == "PutItem":
        return [(params["TableName"], params["Item"])]
    if operation == "UpdateItem":
        return [(params["TableName"], params["Key"])]
    if operation == "BatchWriteItem":
        return [
            (table, r["PutRequest"]["Item"])
            for table, requests in params["RequestItems"].items()
            for r in requests
            if "PutRequest" in r
        ]
    if operation == "TransactWriteItems":
        out = []
        for t in params["TransactItems"]:
            if "Put" in t:
                out.append((t["Put"]["TableName"], t["Put"]["Item"]))
            elif "Update" in t:
                out.append((t["Update"]["TableName"], t["Update"]["Key"]))
        return out
    return []


_INDEX_KEYS = ("pk", "gsi1pk", "gsi2pk")


def _floor_same(body: bytes, store: Any, items: list[dict[str, Any]], tag: str) -> float:
    """Parse the XML, then BatchWriteItem the very items the ingest left in the table (every
    one it put or updated, as it is now), under keys of their own: the partition keys (the
    table's and its indexes') prefixed, so each is a new item indexed as the original is and
    nothing the app reads sees them."""
    from chalicelib import settings
    from chalicelib.junit import parse_junit

    start = time.perf_counter()
    parse_junit(body, max_bytes=settings.MAX_UPLOAD_REPORT_BYTES)
    prefix = f"FLOOR#{tag}#"
    store.batch_put(
        [{**i, **{k: prefix + str(i[k]) for k in _INDEX_KEYS if k in i}} for i in items]
    )
    return time.perf_counter() - start


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


def _measure(body: bytes, uid: str, moto_as_is: bool) -> dict[str, Any]:
    """The ingest, the floors and the same report again, in one moto; AWS calls counted."""
    from chalicelib import bootstrap

    lean = contextlib.nullcontext() if moto_as_is else lean_moto_transactions()
    m: dict[str, Any] = {}
    with moto_inprocess(execute_state_machine=False), lean:
        c = bootstrap.container()
        c.access.create_project(PROJECT, "Bulk benchmark", False, default_lead="lead@example.com")
        c.access.put_module(PROJECT, "checkout", "lead@example.com", None)
        store = c.repos.table
        counter = CallCounter().attach(*c.clients.every())
        written = WrittenKeys(c.clients.get("dynamodb"), store.name)
        with counter.counting() as m["app_calls"], written.recording():
            m["split_s"], m["chunk_s"], m["chunks"], m["status"], m["progress"] = _app(
                body, c, f"bulk-{uid}"
            )
        items = written.items(store)
        with counter.counting() as m["floor_calls"]:
            m["floor_s"] = _floor_same(body, store, items, f"first-{uid}")
        m["floor_items"] = len(items)
        with counter.counting() as m["one_calls"]:
            m["one_s"], m["one_items"] = _floor(body, store, f"floor-{uid}")
        with counter.counting() as m["again_calls"], written.recording():
            m["again_split"], m["again_chunks"], _, m["again_status"], _ = _app(
                body, c, f"bulk-{uid}-again"
            )
        items = written.items(store)
        with counter.counting() as m["again_floor_calls"]:
            m["again_floor_s"] = _floor_same(body, store, items, f"again-{uid}")
        m["again_floor_items"] = len(items)
        m["tickets"] = _tickets(c.repos)
    return m


def _calls(label: str, tally: Any) -> None:
    print(f"  AWS calls, {label}: {tally.total}: {tally.by_operation(with_seconds=True)}")


def main(
    scenarios: int = SCENARIOS,
    cases: int = CASES_PER_SCENARIO,
    failures: int = FAILURES_PER_SCENARIO,
    *,
    moto_as_is: bool = False,
) -> dict[str, Any]:
    from chalicelib.services.uploads import CHUNK

    uid = uuid.uuid4().hex[:6]
    body = junit_xml(uid, scenarios, cases, failures)
    total = scenarios * cases
    m = _measure(body, uid, moto_as_is)
    app_s, floor_s = m["split_s"] + m["chunk_s"], m["floor_s"]
    again_s, again_floor_s = m["again_split"] + m["again_chunks"], m["again_floor_s"]
    print(
        f"JUnit bulk report: {total:,} testcases, {scenarios * failures:,} failures over "
        f"{scenarios} scenarios ({len(body) / 1e6:.1f} MB), moto in-process, Step Functions "
        "not executing (StartExecution answered; the workflow's work is not this process's)"
        + ("" if moto_as_is else "; transactions back up touched items only, see below")
    )
    print(
        f"  ingest (the reports function: split invocation + {m['chunks']} chunk invocations of "
        f"<= {CHUNK:,} results, one after another): {app_s:7.2f} s = split {m['split_s']:.2f} s"
        f" + chunks {m['chunk_s']:.2f} s; {total / app_s:,.0f} cases/s; upload {m['status']}"
    )
    print(
        f"  floor, the same items (parse + BatchWriteItem of the {m['floor_items']:,} items the "
        f"ingest put or updated, as it left them): {floor_s:7.2f} s"
    )
    print(f"  ratio ingest/floor: {app_s / floor_s:.2f}  (target <= {TARGET_RATIO})")
    print(
        f"  floor, one item per result (parse + BatchWriteItem of {m['one_items']:,} items: "
        f"the floor before 2026-12-02): {m['one_s']:7.2f} s; ratio {app_s / m['one_s']:.2f}"
    )
    print(
        f"  the same report again (another run, test cases registered): {again_s:7.2f} s = "
        f"split {m['again_split']:.2f} s + chunks {m['again_chunks']:.2f} s; upload "
        f"{m['again_status']}; its floor ({m['again_floor_items']:,} items): "
        f"{again_floor_s:.2f} s; ratio {again_s / again_floor_s:.2f}"
    )
    _calls("ingest", m["app_calls"])
    _calls("floor", m["floor_calls"])
    _calls("again", m["again_calls"])
    _calls("again's floor", m["again_floor_calls"])
    _correctness(m, scenarios, failures)
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
        "again_s": again_s,
        "again_ratio": again_s / again_floor_s,
        "drafts": len(m["tickets"]),
    }


def _correctness(m: dict[str, Any], scenarios: int, failures: int) -> None:
    """Exactly one draft per scenario, every failure an occurrence, the progress exact."""
    tickets, progress = m["tickets"], m["progress"]
    per_scenario = Counter(t.scenario_id for t in tickets)
    drafts, occurrences = len(tickets), sum(int(t.occurrences or 0) for t in tickets)
    expected_occurrences = 2 * scenarios * failures
    ok = (drafts, len(per_scenario), occurrences) == (scenarios, scenarios, expected_occurrences)
    print(
        f"  drafts opened: {drafts} for {len(per_scenario)} scenarios (expected {scenarios}, one"
        f" each); occurrences in all: {occurrences} (expected {expected_occurrences})"
        + ("  ok" if ok else "  MISMATCH")
    )
    print(
        f"  the upload's progress: {progress.get('status')} "
        f"processed={progress.get('processed')}/{progress.get('total')} "
        f"chunks={progress.get('chunksDone')}/{progress.get('chunks')} "
        f"drafts={progress.get('drafts')} merged={progress.get('merged')}"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.junit_bulk", description=__doc__)
    parser.add_argument("--scenarios", type=int, default=SCENARIOS)
    parser.add_argument("--cases", type=int, default=CASES_PER_SCENARIO, help="per scenario")
    parser.add_argument("--failures", type=int, default=FAILURES_PER_SCENARIO, help="per scenario")
    parser.add_argument("--moto-as-is", action="store_true", help="keep moto's table-wide copies")
    args = parser.parse_args()
    main(args.scenarios, args.cases, args.failures, moto_as_is=args.moto_as_is)
