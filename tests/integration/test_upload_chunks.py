"""A presigned upload's chunks recorded concurrently, as Lambda may: every chunk at once, each of
them twice at once (a redelivery while the first delivery is still processing), with a scenario's
failures spread over several chunks. Exactly one draft per failing scenario, and the upload's
progress counts each result and each draft once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.domain.roles import Role
from chalicelib.models import UploadRequest, parse_model
from chalicelib.services import uploads as uploads_module
from chalicelib.services.access import Principal

SCENARIOS = 6
ROUNDS = 3  # each scenario's suite appears this many times, far apart in the report
CASES = 10  # per suite
FAILING = 2  # per suite
CHUNK = 20  # results a chunk holds here (2,000 in production)


def spread_junit() -> bytes:
    """Each scenario's failures come in ROUNDS suites, so they land in different chunks."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="spread">']
    for r in range(ROUNDS):
        for s in range(SCENARIOS):
            scenario = f"checkout.spread.s{s}"
            parts.append(
                f'<testsuite name="{scenario}-{r}" tests="{CASES}">'
                f'<properties><property name="scenario" value="{scenario}"/>'
                '<property name="module" value="checkout"/></properties>'
            )
            for c in range(CASES):
                head = f'<testcase classname="{scenario}" name="test_{r}_{c}" time="0.1"'
                if c < FAILING:
                    parts.append(
                        f'{head}><failure message="total is 100, expected 80" '
                        f'type="AssertionError">line {c}</failure></testcase>'
                    )
                else:
                    parts.append(f"{head}/>")
            parts.append("</testsuite>")
    parts.append("</testsuites>")
    return "".join(parts).encode()


def test_chunks_recorded_concurrently_and_twice_open_one_draft_per_scenario_and_count_once(
    aws_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uploads_module, "CHUNK", CHUNK)
    c = bootstrap.container()
    c.access.create_project("DEMO", None, False, default_lead="lead@example.com")
    principal = Principal("DEMO", Role.CI, "key_test", "qa-bot@example.com")
    request = parse_model(UploadRequest, {"run": {"id": "build-spread"}, "format": "junit"})
    upload = c.uploads.request("DEMO", request, principal)
    key = upload["fields"]["key"]
    body = spread_junit()
    boto3.client("s3").put_object(
        Bucket=aws_server["bucket"], Key=key, Body=body, ContentType="application/xml"
    )
    assert c.uploads.process(key) == "processing"
    chunks = int(c.repos.uploads.get(upload["uploadId"])["chunks"])
    results = SCENARIOS * ROUNDS * CASES
    assert chunks == results // CHUNK

    deliveries = [n for n in range(chunks) for _ in range(2)]  # each chunk twice at once
    barrier = threading.Barrier(len(deliveries))

    def deliver(n: int) -> str:
        instance = bootstrap.Container(bootstrap.Settings.from_env())  # a Lambda instance each
        barrier.wait()
        return instance.uploads.process_chunk(upload["uploadId"], n)

    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        outcomes = Counter(pool.map(deliver, deliveries))
    assert outcomes["duplicate"] == chunks  # one of each pair counted
    assert outcomes["completed"] == 1

    progress = c.uploads.progress("DEMO", upload["uploadId"])
    drafts = [
        t
        for s in range(SCENARIOS)
        for t in c.repos.tickets.of_scenario("DEMO", f"checkout.spread.s{s}")
    ]
    failures = SCENARIOS * ROUNDS * FAILING
    assert Counter(t.scenario_id for t in drafts) == {
        f"checkout.spread.s{s}": 1 for s in range(SCENARIOS)
    }
    assert sum(t.occurrences for t in drafts) == failures
    assert progress["status"] == "completed"
    assert (progress["processed"], progress["total"]) == (results, results)
    assert (progress["drafts"], progress["merged"]) == (SCENARIOS, failures - SCENARIOS)


def split_upload(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, run: str
) -> tuple[Any, str, int]:
    """The spread report uploaded and split into chunks of CHUNK: (container, upload id, chunks)."""
    monkeypatch.setattr(uploads_module, "CHUNK", CHUNK)
    c = bootstrap.container()
    c.access.create_project("DEMO", None, False, default_lead="lead@example.com")
    principal = Principal("DEMO", Role.CI, "key_test", "qa-bot@example.com")
    request = parse_model(UploadRequest, {"run": {"id": run}, "format": "junit"})
    upload = c.uploads.request("DEMO", request, principal)
    key = upload["fields"]["key"]
    boto3.client("s3").put_object(
        Bucket=aws["bucket"], Key=key, Body=spread_junit(), ContentType="application/xml"
    )
    assert c.uploads.process(key) == "processing"
    return c, upload["uploadId"], int(c.repos.uploads.get(upload["uploadId"])["chunks"])


def dies_on_call(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, n: int, why: str) -> None:
    """The process dies (a timeout) in `owner.name`'s `n`th call; the other calls go through."""
    real = getattr(owner, name)
    calls = {"n": 0}

    def dying(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == n:
            raise TimeoutError(why)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)


@pytest.mark.parametrize("dies_in", ["start_workflow", "place_in_cluster"])
def test_a_chunk_that_died_midway_and_is_redelivered_counts_each_draft_once(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, dies_in: str
) -> None:
    c, upload_id, chunks = split_upload(aws, monkeypatch, "build-died")
    dies_on_call(monkeypatch, c.results, dies_in, 2, "the first delivery died here")
    for n in range(chunks):
        try:
            c.uploads.process_chunk(upload_id, n)
        except TimeoutError:
            c.uploads.process_chunk(upload_id, n)  # redelivered
    progress = c.uploads.progress("DEMO", upload_id)
    drafts = [
        t
        for s in range(SCENARIOS)
        for t in c.repos.tickets.of_scenario("DEMO", f"checkout.spread.s{s}")
    ]
    failures = SCENARIOS * ROUNDS * FAILING
    results = SCENARIOS * ROUNDS * CASES
    assert len(drafts) == SCENARIOS
    assert progress["status"] == "completed"
    assert progress["processed"] == results
    assert (progress["drafts"], progress["merged"]) == (SCENARIOS, failures - SCENARIOS)


def test_a_last_chunk_whose_count_answer_was_lost_still_completes_the_upload(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last chunk's count is written but its answer is lost; the retried write finds it
    counted (the condition fails). The upload is whole all the same and must say completed."""
    c, upload_id, chunks = split_upload(aws, monkeypatch, "build-lost")
    repository = c.repos.uploads
    real = repository.count_chunk

    def answer_lost(upload_id: str, chunk: int, counts: dict[str, int], at: str) -> Any:
        if chunk == chunks - 1:
            real(upload_id, chunk, counts, at)  # stored; the answer never arrives
        return real(upload_id, chunk, counts, at)  # the retry

    monkeypatch.setattr(repository, "count_chunk", answer_lost)
    for n in range(chunks):
        c.uploads.process_chunk(upload_id, n)
    progress = c.uploads.progress("DEMO", upload_id)
    assert progress["status"] == "completed"
    assert progress["processed"] == SCENARIOS * ROUNDS * CASES


def table_items(table: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the table by key, as DynamoDB returns it, without the audit's stamps (who
    wrote an audited item and when: a write that changes only those is not in the audit)."""
    from chalicelib.audit_context import STAMP_ATTRS

    client = boto3.client("dynamodb")
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            kept = {k: v for k, v in item.items() if k not in STAMP_ATTRS}
            items[(item["pk"]["S"], item["sk"]["S"])] = kept
    return items


def test_a_chunk_recorded_but_not_counted_is_redelivered_later_and_changes_no_item(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first delivery records a chunk and dies before counting it; the redelivery comes
    later (its clock has moved). It writes the very same items: the executions, the run, the
    scenarios' latest results, the drafts and the test cases stay as the first delivery left
    them; only the upload's progress moves (the chunk counted, once)."""
    c, upload_id, _ = split_upload(aws, monkeypatch, "build-again")
    repository = c.repos.uploads
    real = repository.count_chunk

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("the first delivery died before counting its chunk")

    monkeypatch.setattr(repository, "count_chunk", dies)
    with pytest.raises(TimeoutError):
        c.uploads.process_chunk(upload_id, 0)
    before = table_items(aws["table"])
    time.sleep(0.01)  # the redelivery's clock reads later (milliseconds)
    monkeypatch.setattr(repository, "count_chunk", real)
    assert c.uploads.process_chunk(upload_id, 0) == "recorded"
    after = table_items(aws["table"])
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == {(f"UPLOAD#{upload_id}", "UPLOAD")}
    progress = c.uploads.progress("DEMO", upload_id)
    assert (progress["processed"], progress["chunksDone"]) == (CHUNK, 1)


def test_a_one_chunk_upload_whose_recording_died_is_recorded_by_the_redelivered_notification(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report of one chunk is recorded by the split invocation itself (no chunk object, no
    message). If that invocation dies while recording, the S3 notification comes again: it
    records the report (the same items, at the same time) and completes the upload."""
    monkeypatch.setattr(uploads_module, "CHUNK", 10_000)
    c = bootstrap.container()
    c.access.create_project("DEMO", None, False, default_lead="lead@example.com")
    principal = Principal("DEMO", Role.CI, "key_test", "qa-bot@example.com")
    request = parse_model(UploadRequest, {"run": {"id": "build-small"}, "format": "junit"})
    upload = c.uploads.request("DEMO", request, principal)
    key = upload["fields"]["key"]
    boto3.client("s3").put_object(
        Bucket=aws["bucket"], Key=key, Body=spread_junit(), ContentType="application/xml"
    )
    dies_on_call(
        monkeypatch, c.results, "start_workflow", 3, "the split invocation died while recording"
    )
    with pytest.raises(TimeoutError):
        c.uploads.process(key)
    assert c.uploads.process(key) == "completed"  # the notification, redelivered
    progress = c.uploads.progress("DEMO", upload["uploadId"])
    results, failures = SCENARIOS * ROUNDS * CASES, SCENARIOS * ROUNDS * FAILING
    assert progress["status"] == "completed"
    assert (progress["processed"], progress["total"], progress["chunksDone"]) == (
        results,
        results,
        1,
    )
    assert (progress["drafts"], progress["merged"]) == (SCENARIOS, failures - SCENARIOS)
    drafts = [
        t
        for s in range(SCENARIOS)
        for t in c.repos.tickets.of_scenario("DEMO", f"checkout.spread.s{s}")
    ]
    assert len(drafts) == SCENARIOS
    assert sum(t.occurrences for t in drafts) == failures
