"""The table's change stream (DynamoDB Streams): a stream record's keys and images, in plain
values, for `domain.changes` to read."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import load, strip_keys
from chalicelib.clock import iso_of, now_iso
from chalicelib.domain.audit import written_event
from chalicelib.domain.changes import ChangeEvent


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


def written(record: dict[str, Any]) -> ChangeEvent | None:
    """The audit's event of one stream record: an audited item's write, with the actor and
    request id it was stamped with (None for items the audit does not record)."""
    data = record.get("dynamodb") or {}
    key = load(data.get("Keys") or {})
    pk, sk = str(key.get("pk", "")), str(key.get("sk", ""))
    if not keys.audited(pk, sk):
        return None
    old = strip_keys(load(data["OldImage"], stamps=True)) if data.get("OldImage") else None
    new = strip_keys(load(data["NewImage"], stamps=True)) if data.get("NewImage") else None
    item = new if new is not None else old
    if item is None:
        return None
    project = str(item.get("project") or pk.partition("#")[2].partition("#")[0])
    if not project:
        return None
    created = data.get("ApproximateCreationDateTime")
    at = iso_of(float(created)) if created else now_iso()
    target = keys.audit_target(pk, sk, item)
    return written_event(target, project, old, new, str(data.get("SequenceNumber", "")), at)
