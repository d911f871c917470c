"""Large uploads (`services/uploads.py`) against the fakes: a report is read as a stream and split
into chunks handed to the queue; each chunk is recorded once, however often it is delivered, and
the upload's progress is exact."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.roles import Role
from chalicelib.models import UploadRequest
from chalicelib.services import ingest, uploads
from chalicelib.services.access import AccessService, Principal
from chalicelib.services.ingest import ResultsService
from chalicelib.services.uploads import UploadService
from tests.unit.fakes import FakeBlobs, FakeClock, FakeQueue, FakeStores, FakeWorkflow

CHUNK = 40  # small chunks keep the test fast; the arithmetic is the same


class World:
    def __init__(self) -> None:
        self.s = FakeStores()
        self.s.projects.create({"key": "P", "name": "Project"})
        self.blobs = FakeBlobs()
        self.queue = FakeQueue()
        clock = FakeClock()
        results = ResultsService(
            ingest.Stores(
                self.s.tickets, self.s.filing, self.s.scenarios, self.s.executions, self.s.projects
            ),
            FakeWorkflow(),
            clock=clock,
        )
        access = AccessService(self.s.projects, self.s.api_keys)
        self.uploads = UploadService(
            self.s.uploads, self.blobs, access, results, clock=clock, chunks=self.queue
        )

    def upload(self, body: bytes) -> tuple[str, str]:
        request = UploadRequest.model_validate({"run": {"id": "r1"}, "format": "junit"})
        principal = Principal("P", Role.CI, "key_1", "ci@example.com")
        upload_id = self.uploads.request("P", request, principal)["uploadId"]
        key = f"uploads/P/{upload_id}/report.xml"
        self.blobs.objects[key] = (body, "application/xml")
        return upload_id, key

    def deliver_chunks(self) -> list[str]:
        sent, self.queue.sent = self.queue.sent, []
        return [self.uploads.process_chunk(m["uploadId"], m["chunk"]) for m, _ in sent]

    def progress(self, upload_id: str) -> dict[str, Any]:
        return self.uploads.progress("P", upload_id)


def junit(cases: int, failing_every: int = 10, scenarios: int = 5) -> bytes:
    parts = ['<?xml version="1.0"?><testsuites>']
    for s in range(scenarios):
        parts.append(f'<testsuite name="s{s}"><properties>')
        parts.append(f'<property name="scenario" value="checkout.s{s}"/></properties>')
        for c in range(s, cases, scenarios):
            body = '<failure message="boom"/>' if c % failing_every == 0 else ""
            parts.append(f'<testcase classname="k{s}" name="t{c}">{body}</testcase>')
        parts.append("</testsuite>")
    parts.append("</testsuites>")
    return "".join(parts).encode()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "CHUNK", CHUNK)


def test_a_large_report_is_split_into_chunks_recorded_with_exact_progress() -> None:
    w = World()
    upload_id, key = w.upload(junit(500))
    assert w.uploads.process(key) == "processing"
    progress = w.progress(upload_id)
    assert (progress["status"], progress["total"], progress["processed"]) == (
        "processing",
        500,
        0,
    )
    assert progress["chunks"] == len(w.queue.sent) == 13  # ceil(500 / 40)
    assert all(k.startswith(f"chunks/{upload_id}/") for k in w.blobs.objects if "chunks" in k)
    outcomes = w.deliver_chunks()
    assert outcomes[-1] == "completed" and set(outcomes[:-1]) == {"recorded"}
    progress = w.progress(upload_id)
    assert (progress["status"], progress["processed"], progress["chunksDone"]) == (
        "completed",
        500,
        13,
    )
    assert (progress["drafts"], progress["merged"]) == (1, 49)  # scenario s0 fails every other
    assert len(w.s.db.executions) == 500


def test_a_redelivered_chunk_or_notification_changes_nothing() -> None:
    w = World()
    upload_id, key = w.upload(junit(200))
    w.uploads.process(key)
    first = w.queue.sent[0][0]
    w.deliver_chunks()
    before = (w.progress(upload_id), dict(w.s.db.executions), len(w.s.db.tickets))
    assert w.uploads.process_chunk(upload_id, first["chunk"]) == "duplicate"
    assert w.uploads.process(key) == "completed"  # the notification again: nothing to do
    assert w.queue.sent == []
    assert (w.progress(upload_id), dict(w.s.db.executions), len(w.s.db.tickets)) == before


def test_a_notification_redelivered_mid_way_hands_out_only_what_was_not_handed_out() -> None:
    w = World()
    upload_id, key = w.upload(junit(200))
    w.uploads.process(key)
    assert len(w.queue.sent) == 5
    w.s.uploads.update(upload_id, {"queued": 3})  # as if the first try died after three sends
    w.queue.sent = []
    assert w.uploads.process(key) == "processing"
    assert [m["chunk"] for m, _ in w.queue.sent] == [3, 4]


def test_a_chunk_recorded_half_way_then_redelivered_counts_once() -> None:
    w = World()
    upload_id, key = w.upload(junit(80))
    w.uploads.process(key)
    message = w.queue.sent[0][0]
    # the first delivery recorded the results but died before counting them
    data = w.blobs.objects[f"chunks/{upload_id}/00000.json"][0]
    assert data
    w.uploads._record = lambda *a: "died"  # type: ignore[method-assign]
    w.uploads.process_chunk(upload_id, message["chunk"])
    del w.uploads._record
    w.deliver_chunks()
    progress = w.progress(upload_id)
    assert (progress["status"], progress["processed"]) == ("completed", 80)


def test_a_small_report_is_recorded_at_once() -> None:
    w = World()
    upload_id, key = w.upload(junit(30))
    assert w.uploads.process(key) == "completed"
    assert w.queue.sent == [] and not [k for k in w.blobs.objects if k.startswith("chunks/")]
    assert w.progress(upload_id)["processed"] == 30


def test_a_report_malformed_at_its_end_records_nothing() -> None:
    w = World()
    upload_id, key = w.upload(junit(500)[:-20])  # cut short: not well-formed
    assert w.uploads.process(key) == "failed"
    progress = w.progress(upload_id)
    assert progress["status"] == "failed" and "well-formed" in progress["error"]["message"]
    assert w.queue.sent == [] and w.s.db.executions == {}


def test_repeats_of_a_test_case_in_different_chunks_are_numbered_across_the_report() -> None:
    w = World()
    cases = "".join(f'<testcase classname="k" name="t{c}"/>' for c in range(CHUNK))
    again = '<testcase classname="k" name="t0"><failure message="x"/></testcase>'
    body = f"<testsuite>{cases}{again}</testsuite>".encode()
    upload_id, key = w.upload(body)
    w.uploads.process(key)
    w.deliver_chunks()
    attempts = sorted(
        int(e["attempt"]) for e in w.s.db.executions.values() if e["testCaseId"].endswith("t0")
    )
    assert attempts == [1, 2]
    assert w.progress(upload_id)["processed"] == CHUNK + 1
