"""The table's change stream (DynamoDB Streams): a stream record's keys and images, in plain
values, for `domain.changes` to read."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import load, strip_keys


def images(
    record: dict[str, Any],
) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None, str]:
    """(entity, old image, new image, sequence number) of one stream record, as Lambda
    delivers it."""
    data = record.get("dynamodb") or {}
    key = load(data.get("Keys") or {})
    entity = keys.entity_of(str(key.get("pk", "")), str(key.get("sk", "")))
    old = data.get("OldImage")
    new = data.get("NewImage")
    return (
        entity,
        _plain_item(old) if old else None,
        _plain_item(new) if new else None,
        str(data.get("SequenceNumber", "")),
    )


def _plain_item(image: dict[str, Any]) -> dict[str, Any]:
    item = strip_keys(load(image))
    # a scenario's per-test-case results are attributes of their own (`latest#{testCase}`)
    return {k: v for k, v in item.items() if not k.startswith("latest#")}
