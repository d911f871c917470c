"""The metrics aggregates and the reader's state (`domain.metrics`), and saved quality gates.

A commit is one TransactWriteItems: the events' applied-markers (create-only), the reader's
state items (optimistic: the version read must still be there), and the buckets' counters
(ADD) and value lists (ADD to a string set: each value tagged `{value}#{random}`, so equal
values stay apart; a set is one attribute value, which moto serializes as cheaply as one
number). A redelivered event fails its marker's condition and the whole commit changes nothing.
A request names the buckets it reads (BatchGetItem): no range, no Scan."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import (
    KEY_ATTRS,
    Table,
    TransactItem,
    cancel_codes,
    load,
    plain,
    strip_keys,
    vals,
)
from chalicelib.domain.changes import ChangeEvent, from_images, ticket_history_events
from chalicelib.domain.conflicts import TransactionConflict
from chalicelib.domain.ports import AlreadyApplied
from chalicelib.domain.statuses import TicketStatus

_deserializer = TypeDeserializer()
MARKER_DAYS = 7  # the stream keeps records 24 hours: a redelivery comes well within a week
FIRST_GENERATION = "g0"


def _number(value: float) -> Decimal:
    return Decimal(str(round(value, 6)))


def _decimals(value: Any) -> Any:
    """Floats as Decimals, at any depth (boto3 refuses floats)."""
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    return value


class MetricsStore:
    def __init__(self, table: Table) -> None:
        self._t = table

    def generation(self, project: str) -> str:
        item = self._t.get(keys.metrics_generation(project), consistent=True)
        return str(item["generation"]) if item else FIRST_GENERATION

    def set_generation(self, project: str, generation: str) -> None:
        self._t.put({**keys.metrics_generation(project), "generation": generation})

    def load_state(
        self, project: str, generation: str, state_keys: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], dict[str, Any] | None]:
        wanted = {keys.metrics_state(project, generation, k)["pk"]: k for k in state_keys}
        found: dict[tuple[str, ...], dict[str, Any] | None] = dict.fromkeys(state_keys)
        if not wanted:
            return found
        items = self._t.batch_get([{"pk": pk, "sk": "STATE"} for pk in wanted])
        for item in items:
            found[wanted[item["pk"]]] = {**item["s"], "_v": int(item["v"])}
        return found

    def commit(
        self,
        project: str,
        generation: str,
        event_ids: Sequence[str],
        state: dict[tuple[str, ...], tuple[dict[str, Any], int | None]],
        adds: dict[tuple[str, ...], dict[str, float]],
        appends: dict[tuple[str, ...], dict[str, list[float]]],
        members: dict[tuple[str, ...], dict[str, set[str]]],
    ) -> None:
        expires = int(time.time()) + MARKER_DAYS * 86400
        items: list[TransactItem] = [
            self._t.put_item(
                {**keys.metrics_event(project, generation, e), "expiresAt": expires},
                condition="attribute_not_exists(pk)",
            )
            for e in event_ids
        ]
        markers = len(items)
        for key, (value, version) in state.items():
            body = _decimals({k: v for k, v in value.items() if k != "_v"})
            key_attrs = keys.metrics_state(project, generation, key)
            item = {**key_attrs, "s": body, "v": (version or 0) + 1}
            if version is None:
                items.append(self._t.put_item(item, condition="attribute_not_exists(pk)"))
            else:
                put = self._t.put_item(item, condition="v = :v")
                put["Put"]["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
                items.append(put)
        for bucket in sorted(set(adds) | set(appends) | set(members)):
            items.append(self._bucket_update(project, generation, bucket, adds, appends, members))
        if not items:
            return
        try:
            self._t.transact(items)
        except ClientError as exc:
            codes = cancel_codes(exc)
            if any(c == "ConditionalCheckFailed" for c in codes[:markers]):
                raise AlreadyApplied(str(event_ids)) from exc
            if any(c == "ConditionalCheckFailed" for c in codes[markers:]):
                raise TransactionConflict() from exc
            raise

    def _bucket_update(
        self,
        project: str,
        generation: str,
        bucket: tuple[str, ...],
        adds: dict[tuple[str, ...], dict[str, float]],
        appends: dict[tuple[str, ...], dict[str, list[float]]],
        members: dict[tuple[str, ...], dict[str, set[str]]],
    ) -> TransactItem:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        add_parts: list[str] = []
        for i, (name, value) in enumerate(sorted(adds.get(bucket, {}).items())):
            names[f"#a{i}"] = name
            values[f":a{i}"] = _number(value)
            add_parts.append(f"#a{i} :a{i}")
        for i, (name, listed) in enumerate(sorted(appends.get(bucket, {}).items())):
            names[f"#l{i}"] = name
            values[f":l{i}"] = {f"{_number(v)}#{uuid.uuid4().hex[:16]}" for v in listed}
            add_parts.append(f"#l{i} :l{i}")
        for i, (name, joining) in enumerate(sorted(members.get(bucket, {}).items())):
            names[f"#m{i}"] = name
            values[f":m{i}"] = set(joining)
            add_parts.append(f"#m{i} :m{i}")
        return self._t.update_item(
            keys.metrics_bucket(project, generation, bucket),
            "ADD " + ", ".join(add_parts),
            names=names,
            values=values,
        )

    def buckets(
        self, project: str, generation: str, wanted: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], dict[str, Any]]:
        """BatchGetItem (eventually consistent) per 100 keys; the items decoded here, not by
        `table.load`: a year's request is ~15,000 attribute values, and the generic path
        (Decimal, then back to int/float, sets sorted) was half of our code's time."""
        by_key = {}
        for bucket in wanted:
            key = keys.metrics_bucket(project, generation, bucket)
            by_key[(key["pk"], key["sk"])] = bucket
        found: dict[tuple[str, ...], dict[str, Any]] = {}
        listed = list(by_key)
        for start in range(0, len(listed), 100):
            chunk = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in listed[start : start + 100]]
            request: dict[str, Any] = {self._t.name: {"Keys": chunk}}
            while request:
                out = self._t.client.batch_get_item(RequestItems=request)
                for raw in out["Responses"].get(self._t.name, []):
                    bucket = by_key[(raw["pk"]["S"], raw["sk"]["S"])]
                    found[bucket] = _decoded(raw, tagged=bucket[0] == "l")
                request = out.get("UnprocessedKeys") or {}
        return found


def _decoded(raw: dict[str, Any], tagged: bool) -> dict[str, Any]:
    """A bucket's attributes as the domain reads them: numbers as int or float, a tagged value
    set (`{value}#{tag}`, a value list's bucket) as its values, another set as its members."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name in KEY_ATTRS:
            continue
        if "N" in value:
            number = value["N"]
            out[name] = int(number) if number.lstrip("-").isdigit() else float(number)
        elif "SS" in value and tagged:
            out[name] = [float(v.split("#", 1)[0]) for v in value["SS"]]
        elif "SS" in value:
            out[name] = value["SS"]
        else:
            out[name] = plain(_deserializer.deserialize(value))
    return out


class GateRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def put(self, project: str, name: str, gate: dict[str, Any]) -> None:
        self._t.put({**keys.gate(project, name), **_decimals(gate)})

    def get(self, project: str, name: str) -> dict[str, Any] | None:
        item = self._t.get(keys.gate(project, name))
        return strip_keys(item) if item else None


def _tickets_of(table: Table, project: str) -> Iterator[dict[str, Any]]:
    """Every ticket of the project: its gsi1 partitions, one per status."""
    for status in sorted(s.value for s in TicketStatus):
        yield from table.query_all(keys.tickets_index(project, status), index="gsi1")


class StoredHistory:
    """What a metrics rebuild replays: every ticket of the project (its gsi1 partition) and
    every execution. Executions have no per-project index, so this is the one Scan of the
    code base: an operator's offline command, never a request."""

    def __init__(self, table: Table) -> None:
        self._t = table

    def events(self, project: str) -> Iterator[ChangeEvent]:
        for item in _tickets_of(self._t, project):
            ticket = self._t.get(keys.ticket(item["id"]), consistent=True) or item
            yield from ticket_history_events(strip_keys(ticket))
        kwargs: dict[str, Any] = {
            "TableName": self._t.name,
            "FilterExpression": "begins_with(pk, :pk) AND begins_with(sk, :sk)",
            "ExpressionAttributeValues": vals(
                {":pk": keys.run(project, "")["pk"], ":sk": keys.EXECUTION_PREFIX}
            ),
        }
        while True:
            out = self._t.client.scan(**kwargs)
            for raw in out.get("Items", []):
                yield from from_images("execution", None, strip_keys(load(raw)))
            if not out.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
