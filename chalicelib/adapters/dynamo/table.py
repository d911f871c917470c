"""Table primitives shared by the repositories: (de)serialisation, get/put/update/query/batch/
transact, cursors, and DynamoDB's errors turned into ours. The repositories hold the access
patterns; this module knows nothing of tickets."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib import audit_context
from chalicelib.adapters.dynamo.keys import Key, audited
from chalicelib.domain.conflicts import TransactionConflict
from chalicelib.errors import MalformedRequest

_ser = TypeSerializer()
_de = TypeDeserializer()
KEY_ATTRS = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
TRANSACTION_LIMIT = 100
TransactItem = dict[str, Any]  # opaque to services: built by a repository, run by another


def dump(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items() if v is not None}


def load(raw: dict[str, Any], stamps: bool = False) -> dict[str, Any]:
    """A stored item in plain values; without the audit stamps (`audit_context`) unless asked:
    they are for the change stream, not for repositories or clients."""
    return {
        k: plain(_de.deserialize(v))
        for k, v in raw.items()
        if stamps or k not in audit_context.STAMP_ATTRS
    }


def stamped(item: dict[str, Any]) -> dict[str, Any]:
    """The item with who writes it and for which request, if it is an audited item."""
    if audited(str(item.get("pk", "")), str(item.get("sk", ""))):
        return {**item, **audit_context.stamp()}
    return item


_SET = re.compile(r"(?<![#:\w])SET\s", re.IGNORECASE)


def stamped_update(
    key: Key, update: str, names: dict[str, str] | None, values: dict[str, Any] | None
) -> tuple[str, dict[str, str] | None, dict[str, Any] | None]:
    """An UpdateExpression that also sets the audit stamps, for an audited item."""
    if not audited(key["pk"], key["sk"]):
        return update, names, values
    stamp = audit_context.stamp()
    clause = ", ".join(f"#audit{i} = :audit{i}" for i in range(len(stamp)))
    names = {**(names or {}), **{f"#audit{i}": k for i, k in enumerate(stamp)}}
    values = {**(values or {}), **{f":audit{i}": v for i, v in enumerate(stamp.values())}}
    if _SET.search(update):
        update = _SET.sub(lambda m: f"SET {clause}, ", update, count=1)
    else:
        update = f"{update} SET {clause}".strip()
    return update, names, values


def plain(value: Any) -> Any:
    """Decimals back to int/float, sets to sorted lists: what the domain and the API want."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def vals(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items()}


def strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in KEY_ATTRS}


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, field: str = "cursor") -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(key, dict):
            raise ValueError
        return key
    except ValueError as exc:
        raise MalformedRequest(
            "the cursor is not one we issued", [{"field": field, "problem": "is not valid"}]
        ) from exc


def cursor_checked(cursor: dict[str, Any] | None, call: Any) -> Any:
    """Run a query that starts at a client's cursor: a cursor DynamoDB refuses (a forged or
    foreign one) is the client's 400, not our 500."""
    try:
        return call()
    except ClientError as exc:
        if cursor and exc.response["Error"]["Code"] == "ValidationException":
            raise MalformedRequest(
                "the cursor is not one we issued", [{"field": "cursor", "problem": "is not valid"}]
            ) from exc
        raise


class Cursors:
    """LastEvaluatedKey <-> the opaque cursor clients page with."""

    encode = staticmethod(encode_cursor)
    decode = staticmethod(decode_cursor)


def cancel_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [r.get("Code", "None") for r in reasons]


def condition_failed(exc: ClientError) -> bool:
    return bool(exc.response["Error"]["Code"] == "ConditionalCheckFailedException")


def set_clause(fields: dict[str, Any], prefix: str = "n") -> tuple[str, dict[str, str], dict]:
    """`SET #n0 = :n0, ...` for fields whose names are not DynamoDB-safe identifiers."""
    names = {f"#{prefix}{i}": k for i, k in enumerate(fields)}
    values = {f":{prefix}{i}": v for i, v in enumerate(fields.values())}
    clause = ", ".join(f"#{prefix}{i} = :{prefix}{i}" for i in range(len(fields)))
    return clause, names, values


class Table:
    """One DynamoDB table, through a boto3 client built elsewhere (and lazily)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def get(self, key: Key, consistent: bool = False) -> dict[str, Any] | None:
        out = self.client.get_item(TableName=self.name, Key=vals(key), ConsistentRead=consistent)
        return load(out["Item"]) if "Item" in out else None

    def put(self, item: dict[str, Any], condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": dump(stamped(item))}
        if condition:
            kwargs["ConditionExpression"] = condition
        self.client.put_item(**kwargs)

    def update(self, key: Key, update: str, **kwargs: Any) -> dict[str, Any]:
        """UpdateItem; `values=` are plain values (serialised here); returns the attributes
        asked for with ReturnValues, loaded."""
        values = kwargs.pop("values", None)
        raw_values = kwargs.pop("ExpressionAttributeValues", None)
        names = kwargs.pop("ExpressionAttributeNames", None)
        update, names, values = stamped_update(key, update, names, values)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values or raw_values:
            kwargs["ExpressionAttributeValues"] = {**(raw_values or {}), **vals(values or {})}
        out = self.client.update_item(
            TableName=self.name, Key=vals(key), UpdateExpression=update, **kwargs
        )
        return load(out.get("Attributes") or {})

    def put_if(self, item: dict[str, Any], condition: str) -> bool:
        """`put` under `condition`; False when the condition failed (nothing was written)."""
        try:
            self.put(item, condition)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def update_if(self, key: Key, update: str, **kwargs: Any) -> dict[str, Any] | None:
        """`update` under its `ConditionExpression`: the attributes asked for (ReturnValues;
        `{}` without), or None when the condition failed (nothing was written). Any other
        error is raised."""
        if "ConditionExpression" not in kwargs:
            raise TypeError("update_if needs a ConditionExpression")
        try:
            return self.update(key, update, **kwargs)
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise

    def delete(self, key: Key) -> None:
        """Delete; an audited item is first stamped with who deletes it (a write the audit
        reader skips: it changes nothing else), so its deletion's old image names them."""
        if audited(key["pk"], key["sk"]):
            stamped = self.update_if(key, "", ConditionExpression="attribute_exists(pk)")
            if stamped is None:
                return  # gone already
        self.client.delete_item(TableName=self.name, Key=vals(key))

    def query(
        self,
        pk_value: str,
        *,
        index: str | None = None,
        sk_prefix: str | None = None,
        limit: int | None = None,
        cursor: dict[str, Any] | None = None,
        forward: bool = True,
        filters: dict[str, str] | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        pk_name, sk_name = ("pk", "sk") if index is None else (f"{index}pk", f"{index}sk")
        expr = "#pk = :pk"
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": pk_value}
        if sk_prefix:
            expr += " AND begins_with(#sk, :sk)"
            names["#sk"] = sk_name
            values[":sk"] = sk_prefix
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": expr,
            "ScanIndexForward": forward,
        }
        if filters:
            parts = []
            for i, (attr, value) in enumerate(filters.items()):
                names[f"#f{i}"] = attr
                values[f":f{i}"] = value
                parts.append(f"#f{i} = :f{i}")
            kwargs["FilterExpression"] = " AND ".join(parts)
        kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = vals(values)
        if index:
            kwargs["IndexName"] = index
        if limit:
            kwargs["Limit"] = limit
        if cursor:
            kwargs["ExclusiveStartKey"] = cursor
        out = self.client.query(**kwargs)
        return [load(i) for i in out.get("Items", [])], out.get("LastEvaluatedKey")

    def query_all(self, pk_value: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page, cursor = self.query(pk_value, cursor=cursor, **kwargs)
            items.extend(page)
            if not cursor:
                return items

    def query_range(
        self, pk_value: str, low: str, high: str, projection: str | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a partition whose sort key is between `low` and `high` (inclusive)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": vals({":pk": pk_value, ":lo": low, ":hi": high}),
        }
        if projection:
            kwargs["ProjectionExpression"] = projection
        items: list[dict[str, Any]] = []
        while True:
            out = self.client.query(**kwargs)
            items.extend(load(i) for i in out.get("Items", []))
            if not out.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def batch_put(self, items: Sequence[dict[str, Any]]) -> None:
        """BatchWriteItem in chunks of 25, resending unprocessed items."""
        for start in range(0, len(items), 25):
            requests = [
                {"PutRequest": {"Item": dump(stamped(i))}} for i in items[start : start + 25]
            ]
            while requests:
                out = self.client.batch_write_item(RequestItems={self.name: requests})
                requests = out.get("UnprocessedItems", {}).get(self.name, [])

    def batch_delete(self, keys: Sequence[Key]) -> None:
        """BatchWriteItem deletes in chunks of 25, resending unprocessed ones."""
        for start in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": vals(k)}} for k in keys[start : start + 25]]
            while requests:
                out = self.client.batch_write_item(RequestItems={self.name: requests})
                requests = out.get("UnprocessedItems", {}).get(self.name, [])

    def batch_get(
        self, keys: Sequence[Key], projection: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """BatchGetItem in chunks of 100, consistently, asking again for unprocessed keys;
        only the `projection` attributes if given."""
        found: list[dict[str, Any]] = []
        shape: dict[str, Any] = {"ConsistentRead": True}
        if projection:
            names = {f"#a{i}": name for i, name in enumerate(projection)}
            shape["ProjectionExpression"] = ", ".join(names)
            shape["ExpressionAttributeNames"] = names
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                self.name: {"Keys": [vals(k) for k in keys[start : start + 100]], **shape}
            }
            while request:
                out = self.client.batch_get_item(RequestItems=request)
                found.extend(load(i) for i in out["Responses"].get(self.name, []))
                request = out.get("UnprocessedKeys") or {}
        return found

    def transact(self, items: list[TransactItem]) -> None:
        """TransactWriteItems. A conflict with another transaction is TransactionConflict;
        other cancellations stay ClientError for the caller to read with `cancel_codes`."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException" and (
                "TransactionConflict" in cancel_codes(exc)
            ):
                raise TransactionConflict() from exc
            raise

    # transaction items -------------------------------------------------------------------

    def put_item(self, item: dict[str, Any], condition: str | None = None) -> TransactItem:
        put: dict[str, Any] = {"TableName": self.name, "Item": dump(stamped(item))}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def update_item(
        self,
        key: Key,
        update: str,
        *,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> TransactItem:
        update, names, values = stamped_update(key, update, names, values)
        body: dict[str, Any] = {
            "TableName": self.name,
            "Key": vals(key),
            "UpdateExpression": update,
        }
        if condition:
            body["ConditionExpression"] = condition
        if names:
            body["ExpressionAttributeNames"] = names
        if values:
            body["ExpressionAttributeValues"] = vals(values)
        return {"Update": body}
