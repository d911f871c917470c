"""Two things the local stack needs from moto's in-process DynamoDB that moto does not do itself.

One request at a time: moto's DynamoDB backend has no locking, so the AWS server's middleware
(`devstack.stack`) and anything here that touches the backend directly share `LOCK`.

Stream records are forgotten once read: moto keeps every stream record of a table for as long as
the process lives (DynamoDB keeps them 24 hours), and its TransactWriteItems deep-copies the whole
table, stream history included, once per item of the transaction (for its rollback). With a
growing history a 100-item transaction (a report of many failures) took seconds, then minutes,
and the copies (cyclic, freed only by the garbage collector) drove the process past 10 GB under
the schemathesis run. The change-stream pump is the stream's only reader and never reads back
before its last handed-over batch, so what it has handed over is forgotten."""

from __future__ import annotations

import threading
from typing import Any

LOCK = threading.Lock()


def _shard_of(stream_arn: str, shard_id: str) -> Any:
    """moto's shard behind this stream ARN, if the table lives in this process."""
    from moto.dynamodb.models import dynamodb_backends

    account, region = stream_arn.split(":")[4], stream_arn.split(":")[3]
    if account not in dynamodb_backends or region not in dynamodb_backends[account]:
        return None
    for table in list(dynamodb_backends[account][region].tables.values()):
        shard = getattr(table, "stream_shard", None)
        if shard is not None and shard.id == shard_id and stream_arn.startswith(table.table_arn):
            return shard
    return None


def forget_read_records(stream_arn: str, shard_id: str, up_to: str | int) -> int:
    """Drop the shard's records up to and including sequence number `up_to`; how many were
    dropped. Sequence numbers and iterators past that point stay valid: the shard's starting
    sequence number moves along with what is dropped. A stream not in this process: 0."""
    with LOCK:
        shard = _shard_of(stream_arn, shard_id)
        if shard is None:
            return 0
        drop = min(len(shard.items), int(up_to) - int(shard.starting_sequence_number) + 1)
        if drop <= 0:
            return 0
        del shard.items[:drop]
        shard.starting_sequence_number += drop
        return drop
