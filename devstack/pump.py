"""The local stand-in for Lambda's event source mappings: it feeds the Chalice app's SQS handlers
from their queues and its scheduled handlers from a timer, the way Lambda would.

SQS: one thread per `@app.on_sqs_message` handler long-polls its queue (batch size as registered),
calls the handler with a Lambda-shaped SQS event, and deletes only the messages that succeeded. A
handler given a concurrency above 1 (`concurrency_by_name`) gets that many polling threads, so that
many batches are in flight at once, as Lambda scales an SQS event source mapping out; SQS's
visibility timeout keeps a received message from going to a second thread. The
handler reports failures as `{"batchItemFailures": [{"itemIdentifier": messageId}]}` (the event
source mapping has ReportBatchItemFailures); those stay on the queue, come back after the visibility
timeout, and past the queue's maxReceiveCount SQS (moto too) moves them to the dead-letter queue.
A handler that raises fails the whole batch, and so does a failure that names an unknown message,
as on Lambda.

DynamoDB Streams: the `@app.on_dynamodb_record` handler reads the table's stream from moto the way
Lambda's event source mapping does: every shard, from TRIM_HORIZON, GetRecords in batches of the
registered size, a Lambda-shaped event; a `batchItemFailures` sequence number makes it read again
from that record (and a handler that raises, from the batch's first record), in order.

Schedules: every `@app.schedule` handler gets a CloudWatch scheduled event every
`schedule_seconds`.

Handlers are found through the Chalice app's registered event sources, so handlers added later are
picked up without touching this module."""

from __future__ import annotations

import hashlib
import importlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalice.app import Chalice, DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from devstack.stream_pump import StreamPoller

log = logging.getLogger("devstack.pump")

ACCOUNT_ID = "123456789012"
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    region: str = "us-east-1"
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 300.0
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


def resolve_handler(app: Chalice, name: str, handler_string: str) -> Handler:
    """The callable Lambda would invoke: Chalice's wrapped handler, `handler(event, context)`."""
    handler = app.handler_map.get(name)
    if handler is None:
        module_name, _, attr = handler_string.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attr)
    return handler  # type: ignore[no-any-return]


def _message_attributes(raw: dict[str, Any]) -> dict[str, Any]:
    """SQS API message attributes (`StringValue`, `DataType`) in Lambda's event casing."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        item: dict[str, Any] = {
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType", "String"),
        }
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            item["binaryValue"] = value["BinaryValue"]
        out[name] = item
    return out


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Messages from ReceiveMessage, shaped as the event Lambda hands an SQS-triggered function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": _message_attributes(m.get("MessageAttributes", {})),
                "md5OfBody": m.get("MD5OfBody")
                or hashlib.md5(  # noqa: S324 (SQS's own digest)
                    m["Body"].encode()
                ).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def scheduled_event(rule_name: str, region: str) -> dict[str, Any]:
    """A CloudWatch Events / EventBridge scheduled event, as a schedule rule delivers it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


def failed_ids(result: Any, message_ids: list[str]) -> set[str]:
    """Which messages of a batch failed, read the way Lambda reads a partial batch response."""
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failures = result["batchItemFailures"]
    ids = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
    if not ids <= set(message_ids):  # an empty, null or unknown identifier fails the batch
        return set(message_ids)
    return {i for i in ids if i}


class SqsPoller:
    """Feeds one SQS-triggered handler from its queue, batch by batch."""

    def __init__(
        self,
        sqs: Any,
        config: SQSEventConfig,
        handler: Handler,
        *,
        region: str,
        stop: threading.Event,
        wait_seconds: int = 1,
        concurrency: int = 1,
        app_name: str = "failbridge",
        stage: str = "dev",
    ) -> None:
        self.sqs = sqs
        self.concurrency = max(1, concurrency)
        self.name = config.name
        self.batch_size = max(1, min(int(config.batch_size or 10), 10))
        self.handler = handler
        self.region = region
        self.stop = stop
        self.wait_seconds = wait_seconds
        self.function_name = f"{app_name}-{stage}-{config.name}"
        queue_name = config.queue or str(config.queue_arn).rsplit(":", 1)[-1]
        self.queue_url: str = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        self.queue_arn: str = (
            config.queue_arn
            or sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        )
        self.batches = 0
        self.deleted = 0
        self.failed = 0
        self._counting = threading.Lock()  # the polling threads share the counters

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self.stop.is_set():
                    return
                log.exception("pump %s: polling %s failed", self.name, self.queue_url)
                self.stop.wait(1.0)

    def poll_once(self) -> int:
        """Receive one batch, run the handler on it, delete what succeeded. Returns its size."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
        if not messages:
            return 0
        ids = [m["MessageId"] for m in messages]
        event = sqs_event(messages, self.queue_arn, self.region)
        started = time.monotonic()
        error = None
        try:
            result = self.handler(event, LambdaContext(self.function_name, self.region))
            failed = failed_ids(result, ids)
        except Exception as exc:
            log.exception("pump %s: handler raised; the whole batch stays on the queue", self.name)
            error = f"{type(exc).__name__}: {exc}"
            failed = set(ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)
                ],
            )
        with self._counting:
            self.batches += 1
            self.deleted += len(done)
            self.failed += len(failed)
        receives = max(
            int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)) for m in messages
        )
        log.info(
            "pump %s: batch of %d, %d ok, %d failed%s (max receive count %d) in %.0f ms%s",
            self.name,
            len(messages),
            len(done),
            len(failed),
            f" {sorted(failed)}" if failed else "",
            receives,
            (time.monotonic() - started) * 1000,
            f" [{error}]" if error else "",
        )
        return len(messages)


class ScheduleTicker:
    """Calls one `@app.schedule` handler with a scheduled event every `seconds`."""

    def __init__(
        self,
        config: ScheduledEventConfig,
        handler: Handler,
        *,
        region: str,
        stop: threading.Event,
        seconds: float,
        app_name: str = "failbridge",
        stage: str = "dev",
    ) -> None:
        self.name = config.name
        self.handler = handler
        self.region = region
        self.stop = stop
        self.seconds = seconds
        self.function_name = f"{app_name}-{stage}-{config.name}"
        self.ticks = 0

    def run(self) -> None:
        while not self.stop.wait(self.seconds):
            self.tick()

    def tick(self) -> None:
        started = time.monotonic()
        event = scheduled_event(f"{self.function_name}-event", self.region)
        try:
            self.handler(event, LambdaContext(self.function_name, self.region))
            outcome = "ok"
        except Exception as exc:
            log.exception("schedule %s: handler raised", self.name)
            outcome = f"failed [{type(exc).__name__}: {exc}]"
        self.ticks += 1
        log.info(
            "schedule %s: tick %s in %.0f ms",
            self.name,
            outcome,
            (time.monotonic() - started) * 1000,
        )


class Pump:
    """All of an app's SQS pollers and schedule tickers, one thread each (a poller with a
    concurrency above 1, that many)."""

    def __init__(
        self,
        app: Chalice,
        sqs: Any,
        *,
        streams: tuple[Any, Any, str] | None = None,
        region: str = "us-east-1",
        schedule_seconds: float = 60.0,
        schedule_seconds_by_name: dict[str, float] | None = None,
        wait_seconds: int = 1,
        concurrency_by_name: dict[str, int] | None = None,
        stage: str = "dev",
    ) -> None:
        self.stop_event = threading.Event()
        self.pollers: list[SqsPoller] = []
        self.tickers: list[ScheduleTicker] = []
        self.stream_pollers: list[StreamPoller] = []
        self._threads: list[threading.Thread] = []
        common: dict[str, Any] = {
            "region": region,
            "stop": self.stop_event,
            "app_name": app.app_name,
            "stage": stage,
        }
        for source in app.event_sources:
            handler = resolve_handler(app, source.name, source.handler_string)
            if isinstance(source, SQSEventConfig):
                concurrency = (concurrency_by_name or {}).get(source.name, 1)
                self.pollers.append(
                    SqsPoller(
                        sqs,
                        source,
                        handler,
                        wait_seconds=wait_seconds,
                        concurrency=concurrency,
                        **common,
                    )
                )
            elif isinstance(source, ScheduledEventConfig):
                seconds = (schedule_seconds_by_name or {}).get(source.name, schedule_seconds)
                self.tickers.append(ScheduleTicker(source, handler, seconds=seconds, **common))
            elif isinstance(source, DynamoDBEventConfig) and streams is not None:
                dynamodb, streams_client, table_name = streams
                self.stream_pollers.append(
                    StreamPoller(dynamodb, streams_client, table_name, source, handler, **common)
                )
            else:
                log.warning(
                    "pump: event source %s (%s) is not emulated locally",
                    source.name,
                    type(source).__name__,
                )

    def describe(self) -> dict[str, Any]:
        return {
            "queues": {p.name: p.queue_url for p in self.pollers},
            "schedules": [t.name for t in self.tickers],
            "streams": {p.name: p.stream_arn for p in self.stream_pollers},
        }

    def start(self) -> None:
        workers: list[SqsPoller | ScheduleTicker | StreamPoller] = [
            *(p for p in self.pollers for _ in range(p.concurrency)),
            *self.tickers,
            *self.stream_pollers,
        ]
        for n, worker in enumerate(workers):
            thread = threading.Thread(
                target=worker.run, name=f"pump-{worker.name}-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info(
            "pump: polling %s; schedules %s",
            ", ".join(f"{p.name} <- {p.queue_url.rsplit('/', 1)[-1]}" for p in self.pollers)
            or "nothing",
            ", ".join(t.name for t in self.tickers) or "none",
        )

    def stop(self, timeout: float = 2.0) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("pump: still busy at shutdown: %s", ", ".join(stuck))
