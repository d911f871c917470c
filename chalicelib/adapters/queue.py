"""SQS adapter: messages we send to ourselves (e.g. a lead's digest, after its window)."""

from __future__ import annotations

import json
from typing import Any


class Queue:
    def __init__(self, client: Any, url: str) -> None:
        self._client = client
        self._url = url

    def send(self, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self._client.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps(body),
            DelaySeconds=max(0, min(900, delay_seconds)),
        )


class Queues:
    """What the handlers do to SQS beyond what Lambda's event source does for them."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def send(self, queue_url: str, body: dict[str, Any]) -> None:
        self._client.send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))

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
