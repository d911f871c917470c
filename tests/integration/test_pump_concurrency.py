"""The local pump runs a queue's batches side by side when the handler is given a concurrency, as
Lambda scales an SQS event source mapping out: batches are in flight at once, each message reaches
the handler once, and only what succeeded is deleted (moto's SQS in-process)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice import Chalice
from moto import mock_aws

from devstack.pump import Pump

QUEUE = "pump-concurrency"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        client.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "30"})
        yield client


def test_batches_run_side_by_side_and_each_message_once(sqs: Any) -> None:
    app = Chalice(app_name="pumptest")
    both_in_flight = threading.Barrier(2, timeout=10)
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    @app.on_sqs_message(queue=QUEUE, batch_size=1, name="on_chunk")
    def on_chunk(event: Any) -> None:
        for record in event:
            with lock:
                seen[json.loads(record.body)["n"]] += 1
        both_in_flight.wait()  # breaks (and the batch fails) unless another batch is in flight

    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    for n in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": str(n)}))
    pump = Pump(app, sqs, concurrency_by_name={"on_chunk": 2}, schedule_seconds=3600)
    [poller] = pump.pollers
    assert poller.concurrency == 2
    pump.start()
    try:
        deadline = time.monotonic() + 20
        while poller.deleted < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pump.stop()
    assert poller.deleted == 4
    assert poller.failed == 0
    assert seen == Counter({str(n): 1 for n in range(4)})
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert left["ApproximateNumberOfMessages"] == "0"
    assert left["ApproximateNumberOfMessagesNotVisible"] == "0"
