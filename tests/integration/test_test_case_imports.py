"""Large test-case imports through a presigned upload on moto: the file lands in S3, its
notification runs the import (validate every row streaming, then write in batches), progress and
errors by row and column are read back; an invalid file writes nothing; a redelivered
notification writes nothing twice; a write killed between saving test cases and moving the
module counters, two deliveries at once, and a delivery past its lease all end with exact
counters (faults injected by wrapping the real repository)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import boto3
import pytest

from chalicelib.adapters.dynamo.testcases import TestCaseRepository
from chalicelib.services import testcase_imports
from chalicelib.services.testcase_imports import TestCaseImports
from chalicelib.services.testcases import TestCaseService
from tests.integration.conftest import Demo
from tests.integration.test_drafts import s3_notification

BASE = "/v1/projects/DEMO/test-cases"
HEADER = "Test Case ID,Title,Module,Priority,Requirements,Steps,Expected Result\n"


def rows(n: int, bad: dict[int, str] | None = None) -> bytes:
    lines = [HEADER]
    for i in range(n):
        priority = (bad or {}).get(i, "high")
        lines.append(
            f'TC-UP-{i:04d},Case {i},up{i % 3},{priority},REQ-UP-{i % 5},"1. Open\n2. Click",'
            f'"1. Shown\n2. Done"\r\n'
        )
    return ("\ufeff" + "".join(lines)).encode()


def upload(api: Any, demo: Demo, aws: dict[str, Any], body: bytes, **request: Any) -> dict:
    from chalicelib.handlers import handle_upload_events

    made = api.post(f"{BASE}/imports", headers=demo.auth("lead"), body=json.dumps(request))
    assert made.status_code == 201, made.body
    out = made.json_body
    assert out["status"] == "waiting_for_upload" and out["url"] and out["fields"]["key"]
    key = out["fields"]["key"]
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=body)
    event = s3_notification(aws["bucket"], key, len(body))
    assert handle_upload_events(event) == {"batchItemFailures": []}
    assert handle_upload_events(event) == {"batchItemFailures": []}  # redelivered: no-op
    got = api.get(f"{BASE}/imports/{out['importId']}", headers=demo.auth("viewer"))
    assert got.status_code == 200, got.body
    return dict(got.json_body)


def test_a_large_file_imports_in_batches_all_or_nothing(
    api: Any, demo: Demo, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(testcase_imports, "BATCH", 7)  # several batches of a small file

    bad = upload(api, demo, aws, rows(30, {3: "urgent", 25: "soon"}))
    assert bad["status"] == "invalid" and bad["errorCount"] == 2, bad
    assert [e["field"] for e in bad["errors"]] == ["rows[5].Priority", "rows[27].Priority"]
    assert bad["summary"]["invalid"] == 2 and bad["summary"]["created"] == 28
    assert api.get(f"{BASE}/TC-UP-0000", headers=demo.auth("viewer")).status_code == 404

    dry = upload(api, demo, aws, rows(30), dryRun=True)
    assert dry["status"] == "validated" and dry["summary"]["created"] == 30, dry
    assert api.get(f"{BASE}/TC-UP-0000", headers=demo.auth("viewer")).status_code == 404

    done = upload(api, demo, aws, rows(30))
    assert done["status"] == "completed", done
    assert done["summary"]["created"] == 30 and done["written"] == 30
    case = api.get(f"{BASE}/TC-UP-0029", headers=demo.auth("viewer")).json_body
    assert case["version"] == 1 and len(case["steps"]) == 2
    assert case["requirements"] == ["REQ-UP-4"]

    again = upload(api, demo, aws, rows(30))  # the same file again changes nothing
    assert again["summary"]["unchanged"] == 30 and again["written"] == 0, again


class Killed(BaseException):
    """The Lambda killed (a timeout): no `except Exception` runs, the claim is not given up."""


class SavesThenDies(TestCaseRepository):
    """The real repository, but its `put_many` number `die_on` saves the test cases (all, or the
    first `keep`) and then dies: after the heads, before the module counters move."""

    def __init__(self, table: Any, die_on: int, keep: int | None, fault: type[BaseException]):
        super().__init__(table)
        self.calls = 0
        self.die_on, self.keep, self.fault = die_on, keep, fault

    def put_many(self, cases: Sequence[Any]) -> None:
        self.calls += 1
        if self.calls != self.die_on:
            super().put_many(cases)
            return
        super().put_many(cases if self.keep is None else cases[: self.keep])
        raise self.fault("killed between saving the test cases and moving the counters")


def importer(cases: Any, ledger: Any = None, epoch: Any = None) -> TestCaseImports:
    """The import service as the container wires it, over `cases` (a wrapper around the real
    test-case repository) and the real requirements, uploads and ledger."""
    from chalicelib.adapters.dynamo.table import Cursors
    from chalicelib.bootstrap import container

    c = container()
    r = c.repos
    service = TestCaseService(cases, r.requirements, Cursors())
    kwargs = {"epoch": epoch} if epoch else {}
    return TestCaseImports(r.uploads, ledger or r.test_case_imports, c.blobs, service, **kwargs)


def requested(api: Any, demo: Demo, aws: dict[str, Any], body: bytes) -> tuple[str, str]:
    made = api.post(f"{BASE}/imports", headers=demo.auth("lead"), body="{}").json_body
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=made["fields"]["key"], Body=body)
    return made["importId"], made["fields"]["key"]


def assert_exact(api: Any, demo: Demo, import_id: str, n: int) -> None:
    """n test cases from `rows(n)`, each written once: module counters, links, one version."""
    from chalicelib.bootstrap import container

    r = container().repos
    status = api.get(f"{BASE}/imports/{import_id}", headers=demo.auth("viewer")).json_body
    assert status["status"] == "completed" and status["written"] == n, status
    assert not {"claim", "pending", "batch"} & set(status)
    expected = [{"name": f"up{m}", "testCases": len(range(m, n, 3))} for m in range(3) if m < n]
    counts = [{k: c[k] for k in ("name", "testCases")} for c in r.test_cases.module_counts("DEMO")]
    assert counts == expected
    assert all(
        not c.get("executed") and not c.get("passed") for c in r.test_cases.module_counts("DEMO")
    )
    links = {rq: r.requirements.links("DEMO", f"REQ-UP-{rq}") for rq in range(5)}
    assert sorted(link.test_case_id for ls in links.values() for link in ls) == [
        f"TC-UP-{i:04d}" for i in range(n)
    ]
    for i in range(n):
        assert [v["version"] for v in r.test_cases.versions("DEMO", f"TC-UP-{i:04d}")] == [1]


@pytest.mark.parametrize("keep", [None, 4], ids=["all-saved", "some-saved"])
def test_a_write_killed_between_saving_and_counting_resumes_with_exact_counters(
    api: Any, demo: Demo, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, keep: int | None
) -> None:
    from chalicelib.bootstrap import container

    monkeypatch.setattr(testcase_imports, "BATCH", 10)
    import_id, key = requested(api, demo, aws, rows(25))
    cases = SavesThenDies(container().repos.table, die_on=2, keep=keep, fault=RuntimeError)
    with pytest.raises(RuntimeError):
        importer(cases).process(key)  # the handler reports it: SQS redelivers
    status = api.get(f"{BASE}/imports/{import_id}", headers=demo.auth("viewer")).json_body
    assert status["status"] == "writing" and status["written"] == 10, status
    assert importer(cases).process(key) == "completed"  # the redelivery takes over at once
    assert_exact(api, demo, import_id, 25)
    assert importer(cases).process(key) == "completed"  # later redeliveries change nothing
    assert_exact(api, demo, import_id, 25)


def test_a_killed_delivery_keeps_its_claim_until_its_lease_ends(
    api: Any, demo: Demo, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.bootstrap import container

    monkeypatch.setattr(testcase_imports, "BATCH", 10)
    import_id, key = requested(api, demo, aws, rows(25))
    cases = SavesThenDies(container().repos.table, die_on=3, keep=None, fault=Killed)
    now = [1_000_000.0]
    with pytest.raises(Killed):
        importer(cases, epoch=lambda: now[0]).process(key)
    assert importer(cases, epoch=lambda: now[0]).process(key) == "busy"  # its lease holds
    now[0] += testcase_imports.CLAIM_SECONDS + 1
    assert importer(cases, epoch=lambda: now[0]).process(key) == "completed"
    assert_exact(api, demo, import_id, 25)


class AdvanceDies:
    """The real ledger; its `advance` number `die_on` raises before doing anything."""

    def __init__(self, real: Any, die_on: int) -> None:
        self.real, self.die_on, self.calls = real, die_on, 0

    def advance(self, *args: Any, **kwargs: Any) -> bool:
        self.calls += 1
        if self.calls == self.die_on:
            raise RuntimeError("killed between two counter steps of a batch")
        return bool(self.real.advance(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_batch_whose_counters_move_in_steps_resumes_at_its_step(
    api: Any, demo: Demo, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """More modules in a batch than a transaction holds: the counters move a step at a time
    with a sub-cursor; killed between two steps, the redelivery moves the steps left, once."""
    from chalicelib.bootstrap import container

    monkeypatch.setattr(testcase_imports, "BATCH", 10)
    monkeypatch.setattr(testcase_imports, "MODULES_A_STEP", 1)  # 3 modules: 3 steps a batch
    import_id, key = requested(api, demo, aws, rows(25))
    r = container().repos
    ledger = AdvanceDies(r.test_case_imports, die_on=5)  # the second batch's second step
    with pytest.raises(RuntimeError):
        importer(r.test_cases, ledger).process(key)
    stored = r.uploads.get(import_id) or {}
    assert (stored["batch"], stored["step"], stored["written"]) == (1, 1, 10), stored
    assert importer(r.test_cases, ledger).process(key) == "completed"
    assert_exact(api, demo, import_id, 25)


class MeetsAtTheClaim:
    """The real ledger; `claim` waits until both deliveries are at it, then claims."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.barrier = threading.Barrier(2, timeout=30)

    def claim(self, *args: Any) -> Any:
        self.barrier.wait()
        return self.real.claim(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_two_deliveries_at_once_write_and_count_once(
    api: Any, demo: Demo, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.bootstrap import container

    monkeypatch.setattr(testcase_imports, "BATCH", 10)
    import_id, key = requested(api, demo, aws, rows(25))
    r = container().repos
    ledger = MeetsAtTheClaim(r.test_case_imports)
    outcomes: list[str] = []
    writes: list[int] = []

    class Counting(TestCaseRepository):
        def put_many(self, cases: Sequence[Any]) -> None:
            writes.append(len(cases))
            super().put_many(cases)

    def deliver() -> None:
        outcomes.append(importer(Counting(r.table), ledger).process(key))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["busy", "completed"]
    assert writes == [10, 10, 5]  # each batch written by one delivery, once
    assert_exact(api, demo, import_id, 25)


def test_a_delivery_past_its_lease_loses_the_import_to_the_next_and_counts_nothing(
    api: Any, demo: Demo, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow first delivery (stopped after saving its second batch) runs past its lease; a
    second takes the import over and completes it; the first then finds its claim gone and
    backs off without moving a counter."""
    from chalicelib.bootstrap import container

    monkeypatch.setattr(testcase_imports, "BATCH", 10)
    import_id, key = requested(api, demo, aws, rows(25))
    r = container().repos
    saved, go_on = threading.Event(), threading.Event()

    class Slow(TestCaseRepository):
        calls = 0

        def put_many(self, cases: Sequence[Any]) -> None:
            super().put_many(cases)
            Slow.calls += 1
            if Slow.calls == 2:
                saved.set()
                assert go_on.wait(60)

    now = [1_000_000.0]
    outcome: list[str] = []
    first = threading.Thread(
        target=lambda: outcome.append(importer(Slow(r.table), epoch=lambda: now[0]).process(key))
    )
    first.start()
    assert saved.wait(60)
    later = now[0] + testcase_imports.CLAIM_SECONDS + 1
    assert importer(TestCaseRepository(r.table), epoch=lambda: later).process(key) == "completed"
    go_on.set()
    first.join(60)
    assert outcome == ["busy"]
    assert_exact(api, demo, import_id, 25)


def test_bad_requests_and_unreadable_files(api: Any, demo: Demo, aws: dict[str, Any]) -> None:
    refused = api.post(f"{BASE}/imports", headers=demo.auth("tester"), body="{}")
    assert refused.status_code == 403
    wrong = api.post(
        f"{BASE}/imports", headers=demo.auth("lead"), body=json.dumps({"format": "xml"})
    )
    assert wrong.status_code == 422 and "format" in wrong.body.decode()
    missing = api.get(f"{BASE}/imports/ti_nope", headers=demo.auth("viewer"))
    assert missing.status_code == 404
    latin = upload(api, demo, aws, HEADER.encode() + "TC-1,Caf\xe9\n".encode("latin-1"))
    assert latin["status"] == "failed" and "not readable" in latin["error"]["message"]
    no_title = upload(api, demo, aws, b"Test Case ID\nTC-1\n")
    assert no_title["status"] == "invalid" and no_title["errors"][0]["field"] == "rows[1].header"
    as_json = upload(
        api,
        demo,
        aws,
        json.dumps({"testCases": [{"testCaseId": "TC-J-1", "title": "From JSON"}]}).encode(),
        format="json",
    )
    assert as_json["status"] == "completed" and as_json["written"] == 1, as_json
