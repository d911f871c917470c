"""SQS adapter: every SQS call failbridge makes itself (Lambda's event sources receive and
delete for the handlers): messages we send to our own queues, a failed message kept away for a
while, and a DLQ moved back to its queue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class Queues:
    def __init__(self, client: Any) -> None:
        self._client = client

    def send(self, queue_url: str, body: dict[str, Any], delay_seconds: int = 0) -> None:
        """One JSON message; `delay_seconds` (at most SQS's 900) before it can be received."""
        kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": json.dumps(body)}
        if delay_seconds > 0:
            kwargs["DelaySeconds"] = min(900, delay_seconds)
        self._client.send_message(**kwargs)

    def to(self, queue_url: str) -> Queue:
        """This adapter, bound to one queue."""
        return Queue(self, queue_url)

    def url_of(self, name: str) -> str:
        return str(self._client.get_queue_url(QueueName=name)["QueueUrl"])

    def delay(self, queue_url: str, receipt_handle: str, seconds: float) -> None:
        """Keep a failed message away until it is worth trying again (at most 12 hours)."""
        self._client.change_message_visibility(
            QueueUrl=queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=int(max(1, min(43_200, round(seconds)))),
        )

    def redrive(self, dlq_url: str, queue_url: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Move messages from a DLQ back to its queue; returns their bodies."""
        moved: list[dict[str, Any]] = []
        while len(moved) < limit:
            messages = self._client.receive_message(
                QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return moved
            for m in messages:
                self._client.send_message(QueueUrl=queue_url, MessageBody=m["Body"])
                self._client.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
                moved.append(json.loads(m["Body"]))
        return moved


@dataclass(frozen=True)
class Queue:
    """One queue of `Queues`: what a service that only ever sends to that queue is given."""

    queues: Queues
    url: str

    def send(self, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self.queues.send(self.url, body, delay_seconds)
