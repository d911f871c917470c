"""The change stream end to end: what the app writes reaches the stream's readers through the
table's DynamoDB stream, read by the local pump the way Lambda's event source mapping reads it
(moto's stream, the app's own `on_change` handler, partial failures retried in order)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from chalice.app import DynamoDBEventConfig

from chalicelib import bootstrap
from chalicelib.domain.changes import ChangeEvent
from devstack.pump import resolve_handler
from devstack.stream_pump import StreamPoller
from tests.integration.conftest import Demo, report, result


class Recorder:
    """A reader that keeps what it is given; it can be told to fail its next delivery."""

    name = "recorder"

    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []
        self.fail_next = 0

    def apply(self, events: Sequence[ChangeEvent]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("the reader is down")
        self.events.extend(events)


def poller(aws: dict[str, Any]) -> StreamPoller:
    import app as lambda_app

    [source] = [s for s in lambda_app.app.event_sources if isinstance(s, DynamoDBEventConfig)]
    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    return StreamPoller(
        boto3.client("dynamodb"),
        streams,
        aws["table"],
        source,
        resolve_handler(lambda_app.app, source.name, source.handler_string),
        region="us-east-1",
        stop=threading.Event(),
    )


def drain_stream(pump: StreamPoller) -> None:
    for _ in range(50):
        if not pump.poll_once():
            return


def test_writes_reach_the_readers_as_change_events(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    recorder = Recorder()
    bootstrap.container().changes.readers.append(recorder)
    pump = poller(aws)
    body = report([result(), result(testCaseId="TC-PAY-002", reporter="bob@example.com")])
    opened = api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=body)
    ticket_id = opened.json_body["results"][0]["ticket"]["id"]
    assert bootstrap.container().decisions.expire(ticket_id) is True
    drain_stream(pump)

    kinds = [e.kind for e in recorder.events]
    executions = [e for e in recorder.events if e.kind == "execution.recorded"]
    assert {e.data["testCaseId"] for e in executions} == {"TC-PAY-001", "TC-PAY-002"}
    assert all(e.data["ticketId"] == ticket_id for e in executions)
    [opened_event] = [e for e in recorder.events if e.kind == "ticket.opened"]
    assert opened_event.subject == ticket_id and opened_event.data["to"] == "draft"
    [moved] = [e for e in recorder.events if e.kind == "ticket.moved"]
    assert (moved.data["from"], moved.data["to"], moved.data["cause"]) == (
        "draft",
        "expired",
        "expiry",
    )
    assert kinds.index("ticket.opened") < kinds.index("ticket.moved")
    assert "scenario.updated" in kinds
    assert len({e.id for e in recorder.events}) == len(recorder.events)  # one id per change


def test_a_reader_that_fails_gets_the_record_again_in_order(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    recorder = Recorder()
    bootstrap.container().changes.readers.append(recorder)
    pump = poller(aws)
    api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report([result()]))
    drain_stream(pump)
    before = len(recorder.events)

    recorder.fail_next = 1
    body = report([result(status="passed")], run_id="build-813")
    api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=body)
    pump.poll_once()  # the reader fails: nothing after the failed record is applied
    assert len(recorder.events) == before
    assert pump.retries == 1
    drain_stream(pump)
    later = recorder.events[before:]
    assert [e.kind for e in later].count("execution.recorded") == 1
    assert later[0].kind in ("scenario.updated", "execution.recorded")


def moto_shard(aws: dict[str, Any]) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"]["us-east-1"].tables[aws["table"]].stream_shard


def test_records_handed_over_are_forgotten_so_transactions_stay_cheap(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    """moto keeps every stream record and deep-copies the table with them once per item of a
    TransactWriteItems: the local stack grew past 10 GB under fuzzing. The pump forgets what it
    handed over; what comes after is still read, in order (each poll asks for a fresh
    iterator after the last record handed over)."""
    recorder = Recorder()
    bootstrap.container().changes.readers.append(recorder)
    pump = poller(aws)
    failures = [result(testCaseId=f"TC-PAY-{i:03}") for i in range(60)]
    api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=report(failures))
    drain_stream(pump)
    assert pump.records > 60
    assert moto_shard(aws).items == []

    body = report([result(status="passed")], run_id="build-814")
    api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=body)
    drain_stream(pump)
    later = [e for e in recorder.events if e.kind == "execution.recorded"]
    assert [e.data["runId"] for e in later].count("build-814") == 1
    assert moto_shard(aws).items == []


def test_a_cancelled_transaction_does_not_stall_the_stream(
    api: Any, demo: Demo, aws: dict[str, Any]
) -> None:
    """moto restores a copy of the table when a transaction is cancelled (here a lost update,
    412); the pump must still see what is written afterwards."""
    import json

    recorder = Recorder()
    bootstrap.container().changes.readers.append(recorder)
    pump = poller(aws)
    case = {"testCaseId": "TC-S", "title": "Stream", "module": "checkout"}
    api.post("/v1/projects/DEMO/test-cases", headers=demo.auth("tester"), body=json.dumps(case))
    drain_stream(pump)
    lost = api.put(
        "/v1/projects/DEMO/test-cases/TC-S",
        headers={**demo.auth("tester"), "If-Match": '"7"'},
        body=json.dumps({**case, "title": "x"}),
    )
    assert lost.status_code == 412
    body = report([result(testCaseId="TC-S", status="passed")], run_id="after-412")
    api.post("/v1/projects/DEMO/results", headers=demo.auth("ci"), body=body)
    drain_stream(pump)
    assert [e.data["runId"] for e in recorder.events if e.kind == "execution.recorded"] == [
        "after-412"
    ]
