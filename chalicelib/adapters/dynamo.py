"""DynamoDB adapter: the single table and its access patterns. No Scan on any path.

Keys (pk / sk):
  PROJECT#{p} / PROJECT            project settings
  PROJECT#{p} / MODULE#{m}         module and its lead
  PROJECT#{p} / SCENARIO#{s}       scenario: test cases, last result, its live ticket (id, status)
  APIKEY#{sha256} / APIKEY         API key (gsi1: PROJECT#{p}#KEYS / keyId)
  TICKET#{id} / TICKET             ticket (gsi1: PROJECT#{p}#TICKETS / status#createdAt#id,
                                   gsi2: SCENARIO#{p}#{s} / createdAt#id)
  TICKET#{id} / ATTACH#{a}         evidence attachment
  RUN#{p}#{run} / RUN              run
  RUN#{p}#{run} / EXEC#{tc}#{n}    execution; a failure's is an occurrence
                                   (gsi1: TICKET#{id} / at#executionId)
  UPLOAD#{u} / UPLOAD              asynchronous report upload and its progress
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.domain.statuses import ENDED_TICKET_STATUSES, LIVE_TICKET_STATUSES
from chalicelib.errors import Conflict, MalformedRequest, NotFound

_ser = TypeSerializer()
_de = TypeDeserializer()
_KEY_ATTRS = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
TRANSACTION_LIMIT = 100


class DraftAlreadyOpen(Exception):
    """The scenario got a live ticket between our read and our write."""


class TicketNotLive(Exception):
    """The ticket we meant to merge into ended meanwhile."""


class AlsoFailed(Exception):
    """One of the extra conditions of a transition failed; `index` says which."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class TransactionConflict(Exception):
    """Another transaction was writing the same item: try again after a pause."""


class DuplicateExecutions(Exception):
    """Some executions were recorded before (a retried report)."""

    def __init__(self, execution_ids: list[str]) -> None:
        super().__init__(execution_ids)
        self.execution_ids = execution_ids


def _dump(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items() if v is not None}


def _load(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_de.deserialize(v)) for k, v in raw.items()}


def _plain(value: Any) -> Any:
    """Decimals back to int/float, sets to sorted lists: what the API layer wants."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _vals(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items()}


def strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _KEY_ATTRS}


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


def _scenario_key(project: str, scenario_id: str) -> dict[str, Any]:
    return _vals({"pk": f"PROJECT#{project}", "sk": f"SCENARIO#{scenario_id}"})


def _cancel_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [r.get("Code", "None") for r in reasons]


def _live_values() -> dict[str, Any]:
    return {f":live{i}": s.value for i, s in enumerate(sorted(LIVE_TICKET_STATUSES))}


def _live_condition() -> str:
    return "#status IN (" + ", ".join(sorted(_live_values())) + ")"


class Store:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # -- generic -------------------------------------------------------------------------------

    def _get(self, pk: str, sk: str, consistent: bool = False) -> dict[str, Any] | None:
        out = self._client.get_item(
            TableName=self._table,
            Key=_vals({"pk": pk, "sk": sk}),
            ConsistentRead=consistent,
        )
        return _load(out["Item"]) if "Item" in out else None

    def _put(self, item: dict[str, Any], condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self._table, "Item": _dump(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        self._client.put_item(**kwargs)

    def _query(
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
            "TableName": self._table,
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
        kwargs["ExpressionAttributeValues"] = _vals(values)
        if index:
            kwargs["IndexName"] = index
        if limit:
            kwargs["Limit"] = limit
        if cursor:
            kwargs["ExclusiveStartKey"] = cursor
        out = self._client.query(**kwargs)
        return [_load(i) for i in out.get("Items", [])], out.get("LastEvaluatedKey")

    def _query_all(self, pk_value: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page, cursor = self._query(pk_value, cursor=cursor, **kwargs)
            items.extend(page)
            if not cursor:
                return items

    def batch_put(self, items: Sequence[dict[str, Any]]) -> None:
        """BatchWriteItem in chunks of 25, resending unprocessed items."""
        for start in range(0, len(items), 25):
            requests = [{"PutRequest": {"Item": _dump(i)}} for i in items[start : start + 25]]
            while requests:
                out = self._client.batch_write_item(RequestItems={self._table: requests})
                requests = out.get("UnprocessedItems", {}).get(self._table, [])

    # -- projects, modules, keys ---------------------------------------------------------------

    def get_project(self, project: str) -> dict[str, Any] | None:
        return self._get(f"PROJECT#{project}", "PROJECT")

    def create_project(self, project: dict[str, Any]) -> None:
        try:
            self._put(
                {
                    "pk": f"PROJECT#{project['key']}",
                    "sk": "PROJECT",
                    "gsi1pk": "PROJECTS",
                    "gsi1sk": project["key"],
                    **project,
                },
                "attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict(f"project {project['key']} exists") from exc
            raise

    def put_module(self, project: str, module: dict[str, Any]) -> None:
        self._put({"pk": f"PROJECT#{project}", "sk": f"MODULE#{module['name']}", **module})

    def get_module(self, project: str, module: str) -> dict[str, Any] | None:
        return self._get(f"PROJECT#{project}", f"MODULE#{module}")

    def list_modules(self, project: str) -> list[dict[str, Any]]:
        return [strip_keys(i) for i in self._query_all(f"PROJECT#{project}", sk_prefix="MODULE#")]

    def put_api_key(self, key_hash: str, key: dict[str, Any]) -> None:
        self._put(
            {
                "pk": f"APIKEY#{key_hash}",
                "sk": "APIKEY",
                "gsi1pk": f"PROJECT#{key['project']}#KEYS",
                "gsi1sk": key["keyId"],
                **key,
            },
            "attribute_not_exists(pk)",
        )

    def get_api_key(self, key_hash: str) -> dict[str, Any] | None:
        return self._get(f"APIKEY#{key_hash}", "APIKEY")

    def list_api_keys(self, project: str) -> list[dict[str, Any]]:
        return self._query_all(f"PROJECT#{project}#KEYS", index="gsi1")

    def delete_api_key(self, pk: str) -> None:
        self._client.delete_item(TableName=self._table, Key=_vals({"pk": pk, "sk": "APIKEY"}))

    # -- scenarios -----------------------------------------------------------------------------

    def touch_scenario(
        self,
        project: str,
        scenario_id: str,
        *,
        module: str,
        title: str,
        test_case_ids: Iterable[str],
        last_result: str,
        last_execution: dict[str, Any],
        at: str,
    ) -> dict[str, Any]:
        """Register the scenario and its test cases and record its latest result, unless a later
        result is already recorded. Returns the scenario (with its live ticket, if any)."""
        key = _scenario_key(project, scenario_id)
        test_cases = set(test_case_ids)
        try:
            out = self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=(
                    "SET #lr = :r, #le = :e, #la = :at, #sid = :sid, #p = :p, "
                    "#m = if_not_exists(#m, :m), #t = if_not_exists(#t, :t), "
                    "#fs = if_not_exists(#fs, :at) ADD #tc :tc"
                ),
                ConditionExpression="attribute_not_exists(#la) OR #la <= :at",
                ExpressionAttributeNames={
                    "#lr": "lastResult",
                    "#le": "lastExecution",
                    "#la": "lastAt",
                    "#sid": "scenarioId",
                    "#p": "project",
                    "#m": "module",
                    "#t": "title",
                    "#fs": "firstSeenAt",
                    "#tc": "testCases",
                },
                ExpressionAttributeValues=_vals(
                    {
                        ":r": last_result,
                        ":e": last_execution,
                        ":at": at,
                        ":sid": scenario_id,
                        ":p": project,
                        ":m": module,
                        ":t": title,
                        ":tc": test_cases,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return _load(out["Attributes"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = _load(exc.response.get("Item") or {}) or self._get(
                f"PROJECT#{project}", f"SCENARIO#{scenario_id}", consistent=True
            )
            if current and not test_cases <= set(current.get("testCases", [])):
                out = self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="ADD #tc :tc",
                    ExpressionAttributeNames={"#tc": "testCases"},
                    ExpressionAttributeValues=_vals({":tc": test_cases}),
                    ReturnValues="ALL_NEW",
                )
                return _load(out["Attributes"])
            return current or {}

    def get_scenario(self, project: str, scenario_id: str, consistent: bool = False) -> dict | None:
        return self._get(f"PROJECT#{project}", f"SCENARIO#{scenario_id}", consistent)

    # -- tickets -------------------------------------------------------------------------------

    @staticmethod
    def ticket_item(ticket: dict[str, Any]) -> dict[str, Any]:
        return {
            "pk": f"TICKET#{ticket['id']}",
            "sk": "TICKET",
            "gsi1pk": f"PROJECT#{ticket['project']}#TICKETS",
            "gsi1sk": f"{ticket['status']}#{ticket['createdAt']}#{ticket['id']}",
            "gsi2pk": f"SCENARIO#{ticket['project']}#{ticket['scenarioId']}",
            "gsi2sk": f"{ticket['createdAt']}#{ticket['id']}",
            **ticket,
        }

    @staticmethod
    def execution_item(execution: dict[str, Any]) -> dict[str, Any]:
        item = {
            "pk": f"RUN#{execution['project']}#{execution['runId']}",
            "sk": f"EXEC#{execution['testCaseId']}#{execution['attempt']:04d}",
            **execution,
        }
        if execution.get("ticketId"):
            item["gsi1pk"] = f"TICKET#{execution['ticketId']}"
            item["gsi1sk"] = f"{execution['at']}#{execution['executionId']}"
        return item

    def _execution_puts(self, executions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _dump(self.execution_item(e)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for e in executions
        ]

    def _transact(self, items: list[dict[str, Any]], head: int, executions: Sequence[dict]) -> None:
        """Run a transaction whose first `head` items are about the ticket/scenario and the rest
        are conditional execution puts; translate cancellations into domain exceptions."""
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = _cancel_codes(exc)
            if "TransactionConflict" in codes:
                raise TransactionConflict() from exc
            dupes = [
                executions[i - head]["executionId"]
                for i, code in enumerate(codes)
                if head <= i < head + len(executions) and code == "ConditionalCheckFailed"
            ]
            if dupes:
                raise DuplicateExecutions(dupes) from exc
            raise

    def open_draft(
        self,
        ticket: dict[str, Any],
        executions: Sequence[dict[str, Any]],
        replacing: str | None = None,
        also_put: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Create a draft as the scenario's live ticket, with its first occurrences, atomically.
        Raises DraftAlreadyOpen when the scenario has a live ticket already. `replacing` names a
        pointer known to be stale (a ticket that ended after another was merged into it)."""
        condition = "attribute_not_exists(liveTicketId)"
        values = {":id": ticket["id"], ":s": ticket["status"]}
        if replacing:
            condition += " OR liveTicketId = :stale"
            values[":stale"] = replacing
        items = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _scenario_key(ticket["project"], ticket["scenarioId"]),
                    "UpdateExpression": "SET liveTicketId = :id, liveTicketStatus = :s",
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": _vals(values),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _dump(self.ticket_item(ticket)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            *self._execution_puts(executions),
            *({"Put": {"TableName": self._table, "Item": _dump(i)}} for i in also_put),
        ]
        try:
            self._transact(items, 2, executions)
        except ClientError as exc:
            if _cancel_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                raise DraftAlreadyOpen() from exc
            raise

    def add_occurrences(
        self,
        ticket_id: str,
        executions: Sequence[dict[str, Any]],
        reporters: set[str],
        at: str,
        also_put: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Add failures of the scenario as occurrences of its live ticket, atomically.
        Raises TicketNotLive if the ticket ended meanwhile."""
        update = "ADD occurrences :n SET lastSeenAt = :at, updatedAt = :at"
        values: dict[str, Any] = {":n": len(executions), ":at": at, **_live_values()}
        if reporters:
            update = "ADD occurrences :n, reporters :rs SET lastSeenAt = :at, updatedAt = :at"
            values[":rs"] = reporters
        items = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _vals({"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}),
                    "UpdateExpression": update,
                    "ConditionExpression": _live_condition(),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _vals(values),
                }
            },
            *self._execution_puts(executions),
            *({"Put": {"TableName": self._table, "Item": _dump(i)}} for i in also_put),
        ]
        try:
            self._transact(items, 1, executions)
        except ClientError as exc:
            if _cancel_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                raise TicketNotLive(ticket_id) from exc
            raise

    def get_executions(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """Fetch executions by (pk, sk), consistently."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [_vals({"pk": pk, "sk": sk}) for pk, sk in keys[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                out = self._client.batch_get_item(RequestItems=request)
                found.extend(_load(i) for i in out["Responses"].get(self._table, []))
                request = out.get("UnprocessedKeys") or {}
        return found

    def get_ticket(self, ticket_id: str, consistent: bool = True) -> dict[str, Any]:
        item = self._get(f"TICKET#{ticket_id}", "TICKET", consistent)
        if item is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return strip_keys(item)

    def list_tickets(
        self,
        project: str,
        *,
        status: str | None,
        module: str | None,
        limit: int,
        cursor: dict[str, Any] | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, next_key = self._query(
            f"PROJECT#{project}#TICKETS",
            index="gsi1",
            sk_prefix=f"{status}#" if status else None,
            limit=limit,
            cursor=cursor,
            filters={"module": module} if module else None,
        )
        return [strip_keys(i) for i in items], next_key

    def scenario_tickets(self, project: str, scenario_id: str) -> list[dict[str, Any]]:
        items = self._query_all(f"SCENARIO#{project}#{scenario_id}", index="gsi2", forward=False)
        return [strip_keys(i) for i in items]

    def occurrences(self, ticket_id: str) -> list[dict[str, Any]]:
        return [strip_keys(i) for i in self._query_all(f"TICKET#{ticket_id}", index="gsi1")]

    def update_draft(self, ticket_id: str, fields: dict[str, Any], entry: dict[str, Any]) -> dict:
        """Set fields of a ticket that is still a draft; 409 otherwise."""
        names = {"#status": "status"}
        values: dict[str, Any] = {":draft": "draft", ":entry": [entry], ":at": entry["at"]}
        sets = ["history = list_append(history, :entry)", "updatedAt = :at"]
        for i, (name, value) in enumerate(fields.items()):
            names[f"#n{i}"] = name
            values[f":v{i}"] = value
            sets.append(f"#n{i} = :v{i}")
        try:
            out = self._client.update_item(
                TableName=self._table,
                Key=_vals({"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk) AND #status = :draft",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_vals(values),
                ReturnValues="ALL_NEW",
            )
            return strip_keys(_load(out["Attributes"]))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                self.get_ticket(ticket_id)  # 404 if it does not exist
                raise Conflict("only a draft can be edited") from exc
            raise

    def transition(
        self,
        ticket: dict[str, Any],
        *,
        from_statuses: Iterable[str],
        to_status: str,
        entry: dict[str, Any],
        extra: dict[str, Any] | None = None,
        also: Sequence[dict[str, Any]] = (),
        point_scenario_to: tuple[str, str] | None = None,
    ) -> None:
        """Move a ticket to a new status, keeping the scenario's live-ticket pointer in step, in
        one transaction with `also` (e.g. consuming an approval nonce). `point_scenario_to`
        hands the scenario to another live ticket (a merge)."""
        froms = sorted(set(from_statuses))
        values: dict[str, Any] = {
            ":to": to_status,
            ":entry": [entry],
            ":at": entry["at"],
            ":g1": f"{to_status}#{ticket['createdAt']}#{ticket['id']}",
            **{f":from{i}": s for i, s in enumerate(froms)},
        }
        names = {"#status": "status"}
        sets = [
            "#status = :to",
            "history = list_append(history, :entry)",
            "updatedAt = :at",
            "gsi1sk = :g1",
        ]
        for i, (name, value) in enumerate((extra or {}).items()):
            names[f"#x{i}"] = name
            values[f":x{i}"] = value
            sets.append(f"#x{i} = :x{i}")
        scenario_key = _scenario_key(ticket["project"], ticket["scenarioId"])
        if point_scenario_to:
            pointer = {
                "Update": {
                    "TableName": self._table,
                    "Key": scenario_key,
                    "UpdateExpression": "SET liveTicketId = :to, liveTicketStatus = :s",
                    "ConditionExpression": "liveTicketId = :id",
                    "ExpressionAttributeValues": _vals(
                        {
                            ":id": ticket["id"],
                            ":to": point_scenario_to[0],
                            ":s": point_scenario_to[1],
                        }
                    ),
                }
            }
        elif to_status in {s.value for s in ENDED_TICKET_STATUSES}:
            # A verified or closed ticket is remembered: a regression within the project's
            # window reopens it instead of opening a new draft.
            pointer = {
                "Update": {
                    "TableName": self._table,
                    "Key": scenario_key,
                    "UpdateExpression": "REMOVE liveTicketId, liveTicketStatus "
                    "SET lastEndedTicketId = :id, lastEndedStatus = :to, lastEndedAt = :at",
                    "ConditionExpression": "liveTicketId = :id",
                    "ExpressionAttributeValues": _vals(
                        {":id": ticket["id"], ":to": to_status, ":at": entry["at"]}
                    ),
                }
            }
        else:
            pointer = {
                "Update": {
                    "TableName": self._table,
                    "Key": scenario_key,
                    "UpdateExpression": "SET liveTicketStatus = :s",
                    "ConditionExpression": "liveTicketId = :id",
                    "ExpressionAttributeValues": _vals({":id": ticket["id"], ":s": to_status}),
                }
            }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _vals({"pk": f"TICKET#{ticket['id']}", "sk": "TICKET"}),
                            "UpdateExpression": "SET " + ", ".join(sets),
                            "ConditionExpression": "#status IN ("
                            + ", ".join(f":from{i}" for i in range(len(froms)))
                            + ")",
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": _vals(values),
                        }
                    },
                    pointer,
                    *also,
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                codes = _cancel_codes(exc)
                if "TransactionConflict" in codes:
                    raise TransactionConflict() from exc
                failed = [i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"]
                if failed and failed[0] >= 2:
                    raise AlsoFailed(failed[0] - 2) from exc
                raise Conflict(
                    f"ticket {ticket['id']} is no longer in status {', '.join(froms)}"
                ) from exc
            raise

    def set_ticket_fields(
        self, ticket_id: str, fields: dict[str, Any], only_status: str | None = None
    ) -> bool:
        """Set fields of an existing ticket (optionally only while it has `only_status`)."""
        names = {f"#n{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": v for i, v in enumerate(fields.values())}
        condition = "attribute_exists(pk)"
        if only_status:
            names["#status"] = "status"
            values[":only"] = only_status
            condition += " AND #status = :only"
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_vals({"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}),
                UpdateExpression="SET " + ", ".join(f"#n{i} = :v{i}" for i in range(len(fields))),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_vals(values),
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def nonce_put(self, nonce: str, ticket_id: str, at: str, expires_at: int) -> dict[str, Any]:
        """A transaction item that consumes an approval token's nonce, once."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": _dump(
                    {
                        "pk": f"NONCE#{nonce}",
                        "sk": "USED",
                        "ticketId": ticket_id,
                        "usedAt": at,
                        "expiresAt": expires_at,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def nonce_used(self, nonce: str) -> bool:
        return self._get(f"NONCE#{nonce}", "USED", consistent=True) is not None

    def absorb_update(self, target_id: str, source: dict[str, Any], at: str) -> dict[str, Any]:
        """A transaction item that gives a live ticket the occurrences of a draft merged into it."""
        values: dict[str, Any] = {
            ":n": int(source.get("occurrences", 0)),
            ":src": [source["id"]],
            ":empty": [],
            ":at": at,
            **_live_values(),
        }
        update = (
            "ADD occurrences :n SET updatedAt = :at, "
            "mergedFrom = list_append(if_not_exists(mergedFrom, :empty), :src)"
        )
        if source.get("reporters"):
            update = update.replace("ADD occurrences :n", "ADD occurrences :n, reporters :rs")
            values[":rs"] = set(source["reporters"])
        return {
            "Update": {
                "TableName": self._table,
                "Key": _vals({"pk": f"TICKET#{target_id}", "sk": "TICKET"}),
                "UpdateExpression": update,
                "ConditionExpression": _live_condition(),
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": _vals(values),
            }
        }

    def queue_notification(self, lead: str, ticket_id: str, at: str) -> None:
        self._put(
            {
                "pk": f"OUTBOX#{lead}",
                "sk": f"{at}#{ticket_id}",
                "ticketId": ticket_id,
                "lead": lead,
                "at": at,
            }
        )

    def pending_notifications(self, lead: str) -> list[dict[str, Any]]:
        return self._query_all(f"OUTBOX#{lead}")

    def clear_notifications(self, items: Sequence[dict[str, Any]]) -> None:
        for item in items:
            self._client.delete_item(
                TableName=self._table, Key=_vals({"pk": item["pk"], "sk": item["sk"]})
            )

    def digest_window(self, lead: str, now: int, seconds: int) -> int:
        """When the lead's current digest window closes, opening one if none is open."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_dump(
                    {
                        "pk": f"DIGEST#{lead}",
                        "sk": "WINDOW",
                        "closesAt": now + seconds,
                        "expiresAt": now + seconds + 3600,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk) OR closesAt < :now",
                ExpressionAttributeValues=_vals({":now": now}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return now + seconds
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = _load(exc.response.get("Item") or {})
            return int(old.get("closesAt", now))

    def claim_create_attempt(self, ticket_id: str, seen: int, now: int) -> bool:
        """Count a Jira create attempt, if no one else counted it since we read `seen`."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_vals({"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}),
                UpdateExpression="SET jiraCreateAttempts = :next, jiraLastAttemptAt = :now",
                ConditionExpression="(attribute_not_exists(jiraCreateAttempts) AND :seen = :zero)"
                " OR jiraCreateAttempts = :seen",
                ExpressionAttributeValues=_vals(
                    {":next": seen + 1, ":now": now, ":seen": seen, ":zero": 0}
                ),
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def add_ticket_steps(self, ticket_id: str, steps: set[str]) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_vals({"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}),
            UpdateExpression="ADD jiraSteps :s",
            ExpressionAttributeValues=_vals({":s": steps}),
        )

    def list_projects(self) -> list[dict[str, Any]]:
        return [strip_keys(i) for i in self._query_all("PROJECTS", index="gsi1")]

    def jira_index_put(self, jira_key: str, ticket_id: str) -> dict[str, Any]:
        """A transaction item: find the ticket from its Jira issue (webhooks name the issue)."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": _dump({"pk": f"JIRA#{jira_key}", "sk": "TICKET", "ticketId": ticket_id}),
            }
        }

    def ticket_by_jira_key(self, jira_key: str) -> str | None:
        item = self._get(f"JIRA#{jira_key}", "TICKET")
        return str(item["ticketId"]) if item else None

    def delivery_seen(self, identifier: str) -> bool:
        return self._get(f"DELIVERY#{identifier}", "JIRA", consistent=True) is not None

    def remember_delivery(self, identifier: str, now: int) -> None:
        self._put({"pk": f"DELIVERY#{identifier}", "sk": "JIRA", "expiresAt": now + 7 * 86400})

    def put_knowledge(self, project: str, entry: dict[str, Any]) -> None:
        self._put(
            {
                "pk": f"PROJECT#{project}",
                "sk": f"KB#{entry['scenarioId']}#{entry['ticketId']}",
                **entry,
            }
        )

    def knowledge(self, project: str, scenario_id: str) -> list[dict[str, Any]]:
        return [
            strip_keys(i)
            for i in self._query_all(f"PROJECT#{project}", sk_prefix=f"KB#{scenario_id}#")
        ]

    def reopen_ended(
        self,
        ticket: dict[str, Any],
        executions: Sequence[dict[str, Any]],
        reporters: set[str],
        entry: dict[str, Any],
        also_put: Sequence[dict[str, Any]] = (),
    ) -> None:
        """A regression: the scenario's last ended ticket becomes its live ticket again, reopened,
        with the new failures as occurrences. Raises DraftAlreadyOpen if the scenario got a live
        ticket meanwhile, TicketNotLive if the old ticket is not ended any more."""
        values: dict[str, Any] = {
            ":n": len(executions),
            ":at": entry["at"],
            ":to": "reopened",
            ":entry": [entry],
            ":v": "verified",
            ":c": "closed",
            ":g1": f"reopened#{ticket['createdAt']}#{ticket['id']}",
        }
        update = (
            "ADD occurrences :n SET #status = :to, history = list_append(history, :entry), "
            "lastSeenAt = :at, updatedAt = :at, gsi1sk = :g1"
        )
        if reporters:
            update = update.replace("ADD occurrences :n", "ADD occurrences :n, reporters :rs")
            values[":rs"] = reporters
        items = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _scenario_key(ticket["project"], ticket["scenarioId"]),
                    "UpdateExpression": "SET liveTicketId = :id, liveTicketStatus = :to",
                    "ConditionExpression": "attribute_not_exists(liveTicketId)",
                    "ExpressionAttributeValues": _vals({":id": ticket["id"], ":to": "reopened"}),
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _vals({"pk": f"TICKET#{ticket['id']}", "sk": "TICKET"}),
                    "UpdateExpression": update,
                    "ConditionExpression": "#status IN (:v, :c)",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _vals(values),
                }
            },
            *self._execution_puts(executions),
            *({"Put": {"TableName": self._table, "Item": _dump(i)}} for i in also_put),
        ]
        try:
            self._transact(items, 2, executions)
        except ClientError as exc:
            codes = _cancel_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise DraftAlreadyOpen() from exc
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise TicketNotLive(ticket["id"]) from exc
            raise

    def add_ticket_warning(self, ticket_id: str, warning: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_vals({"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}),
            UpdateExpression="SET jiraWarnings = list_append(if_not_exists(jiraWarnings, :e), :w)",
            ExpressionAttributeValues=_vals({":e": [], ":w": [warning[:300]]}),
        )

    def set_project_fields(self, project: str, fields: dict[str, Any]) -> None:
        names = {f"#n{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": v for i, v in enumerate(fields.values())}
        self._client.update_item(
            TableName=self._table,
            Key=_vals({"pk": f"PROJECT#{project}", "sk": "PROJECT"}),
            UpdateExpression="SET " + ", ".join(f"{n} = :v{i}" for i, n in enumerate(names)),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_vals(values),
        )

    # -- attachments ---------------------------------------------------------------------------

    def put_attachment(self, ticket_id: str, attachment: dict[str, Any]) -> None:
        self._put(
            {
                "pk": f"TICKET#{ticket_id}",
                "sk": f"ATTACH#{attachment['attachmentId']}",
                **attachment,
            }
        )

    def get_attachment(self, ticket_id: str, attachment_id: str) -> dict[str, Any] | None:
        return self._get(f"TICKET#{ticket_id}", f"ATTACH#{attachment_id}", consistent=True)

    def attachments(self, ticket_id: str) -> list[dict[str, Any]]:
        return [strip_keys(i) for i in self._query_all(f"TICKET#{ticket_id}", sk_prefix="ATTACH#")]

    def settle_attachment(self, ticket_id: str, attachment_id: str, fields: dict[str, Any]) -> bool:
        """Record the outcome of an evidence upload once; False if it was settled before."""
        names = {f"#n{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": v for i, v in enumerate(fields.values())}
        values[":pending"] = "pending"
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_vals({"pk": f"TICKET#{ticket_id}", "sk": f"ATTACH#{attachment_id}"}),
                UpdateExpression="SET " + ", ".join(f"{n} = :v{i}" for i, n in enumerate(names)),
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={**names, "#status": "status"},
                ExpressionAttributeValues=_vals(values),
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    # -- uploads -------------------------------------------------------------------------------

    def put_upload(self, upload: dict[str, Any]) -> None:
        self._put({"pk": f"UPLOAD#{upload['uploadId']}", "sk": "UPLOAD", **upload})

    def get_upload(self, upload_id: str) -> dict[str, Any] | None:
        item = self._get(f"UPLOAD#{upload_id}", "UPLOAD", consistent=True)
        return strip_keys(item) if item else None

    def update_upload(self, upload_id: str, fields: dict[str, Any]) -> None:
        names = {f"#n{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": v for i, v in enumerate(fields.values())}
        self._client.update_item(
            TableName=self._table,
            Key=_vals({"pk": f"UPLOAD#{upload_id}", "sk": "UPLOAD"}),
            UpdateExpression="SET " + ", ".join(f"{n} = :v{i}" for i, n in enumerate(names)),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_vals(values),
        )
