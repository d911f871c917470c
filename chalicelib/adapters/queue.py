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
