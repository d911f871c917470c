"""The local stand-in for Lambda's DynamoDB Streams event source mapping: the change-stream
handler reads the table's stream from moto shard by shard, from TRIM_HORIZON, in batches of the
registered size; a `batchItemFailures` sequence number makes it read again from that record (and a
handler that raises, from the batch's first record), so records are handed over in order. Records
handed over are forgotten (`devstack.moto_dynamodb`): moto would keep them all. Each poll asks for a
fresh iterator after the last record handed over (moto restores a copy of the table when a
transaction is cancelled, and an older iterator keeps reading the old copy's stream)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalice.app import DynamoDBEventConfig

from devstack.moto_dynamodb import forget_read_records

if TYPE_CHECKING:
    from devstack.pump import Handler

log = logging.getLogger("devstack.pump")


def stream_event(records: list[dict[str, Any]], stream_arn: str, region: str) -> dict[str, Any]:
    """GetRecords' records in the shape Lambda hands a DynamoDB stream handler."""
    return {
        "Records": [
            {
                "eventID": r["eventID"],
                "eventName": r["eventName"],
                "eventVersion": r.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": {
                    **r["dynamodb"],
                    "ApproximateCreationDateTime": _epoch(
                        r["dynamodb"].get("ApproximateCreationDateTime")
                    ),
                },
                "eventSourceARN": stream_arn,
            }
            for r in records
        ]
    }


def _epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value) if value is not None else None


class StreamPoller:
    """Feeds the change-stream handler from the table's DynamoDB stream, shard by shard."""

    def __init__(
        self,
        dynamodb: Any,
        streams: Any,
        table_name: str,
        config: DynamoDBEventConfig,
        handler: Handler,
        *,
        region: str,
        stop: threading.Event,
        idle_seconds: float = 0.2,
        app_name: str = "failbridge",
        stage: str = "dev",
    ) -> None:
        self.streams = streams
        self.name = config.name
        self.batch_size = max(1, min(int(config.batch_size or 100), 1000))
        self.handler = handler
        self.region = region
        self.stop = stop
        self.idle_seconds = idle_seconds
        self.function_name = f"{app_name}-{stage}-{config.name}"
        table = dynamodb.describe_table(TableName=table_name)["Table"]
        self.stream_arn: str = table["LatestStreamArn"]
        self._positions: dict[str, tuple[str, str]] = {}  # shard -> where to read next
        self._closed: set[str] = set()
        self.batches = 0
        self.records = 0
        self.retries = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if not self.poll_once():
                    self.stop.wait(self.idle_seconds)
            except Exception:
                if self.stop.is_set():
                    return
                log.exception("pump %s: reading %s failed", self.name, self.stream_arn)
                self.stop.wait(1.0)

    def _iterator(self, shard_id: str, position: tuple[str, str] | None) -> str:
        kwargs: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if position:
            kwargs = {"ShardIteratorType": position[0], "SequenceNumber": position[1]}
        out = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id, **kwargs)
        return str(out["ShardIterator"])

    def poll_once(self) -> int:
        """One batch from every shard; returns how many records were handed over.

        Each poll asks for a fresh iterator after the last record handed over, rather than
        following NextShardIterator: moto restores a deep copy of the table when a transaction
        is cancelled (a lost race, a 412), and an iterator it issued before keeps reading the
        old copy's stream, so the pump would see nothing written after it."""
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        handed = 0
        for shard in shards["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id in self._closed:
                continue
            iterator = self._iterator(shard_id, self._positions.get(shard_id))
            out = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            records = out.get("Records", [])
            if records:
                handed += len(records)
                retry_from = self._hand_over(records)
                if retry_from is not None:
                    self.retries += 1
                    self._positions[shard_id] = ("AT_SEQUENCE_NUMBER", retry_from)
                    continue
                last = str(records[-1]["dynamodb"]["SequenceNumber"])
                self._positions[shard_id] = ("AFTER_SEQUENCE_NUMBER", last)
                forget_read_records(self.stream_arn, shard_id, last)
            if out.get("NextShardIterator") is None:
                self._closed.add(shard_id)
        return handed

    def _hand_over(self, records: list[dict[str, Any]]) -> str | None:
        """Run the handler on a batch; the sequence number to read again from, if any."""
        event = stream_event(records, self.stream_arn, self.region)
        first = records[0]["dynamodb"]["SequenceNumber"]
        try:
            result = self.handler(event, _context(self.function_name, self.region))
        except Exception:
            log.exception("pump %s: handler raised; the batch is read again", self.name)
            return str(first)
        failed = [f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])]
        self.batches += 1
        if failed:
            log.info("pump %s: batch of %d, retrying from %s", self.name, len(records), failed[0])
            return str(failed[0] or first)
        self.records += len(records)
        return None


def _context(function_name: str, region: str) -> Any:
    from devstack.pump import LambdaContext

    return LambdaContext(function_name, region)
