"""Asynchronous report uploads and their progress; evidence attachments of tickets."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import Table, condition_failed, set_clause, strip_keys


class UploadRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def put(self, upload: dict[str, Any]) -> None:
        self._t.put({**keys.upload(upload["uploadId"]), **upload})

    def get(self, upload_id: str) -> dict[str, Any] | None:
        item = self._t.get(keys.upload(upload_id), consistent=True)
        return strip_keys(item) if item else None

    def update(self, upload_id: str, fields: dict[str, Any]) -> None:
        clause, names, values = set_clause(fields)
        self._t.update(
            keys.upload(upload_id), "SET " + clause, ExpressionAttributeNames=names, values=values
        )

    def count_chunk(
        self, upload_id: str, chunk: int, counts: dict[str, int], at: str
    ) -> dict[str, Any] | None:
        """Add a recorded chunk's counts to the upload's progress, once per chunk (a redelivered
        chunk adds nothing): returns the upload as it is now, or None if it was counted before."""
        adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
        names = {f"#c{i}": k for i, k in enumerate(counts)}
        values: dict[str, Any] = {f":c{i}": v for i, v in enumerate(counts.values())}
        values.update({":chunk": {chunk}, ":n": chunk, ":at": at})
        try:
            item = self._t.update(
                keys.upload(upload_id),
                f"ADD doneChunks :chunk, {adds} SET updatedAt = :at",
                ConditionExpression="attribute_exists(pk) AND NOT contains(doneChunks, :n)",
                ExpressionAttributeNames=names,
                values=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return strip_keys(item)

    def complete(self, upload_id: str, at: str) -> bool:
        """processing -> completed, once."""
        try:
            self._t.update(
                keys.upload(upload_id),
                "SET #s = :done, updatedAt = :at",
                ConditionExpression="#s = :processing",
                ExpressionAttributeNames={"#s": "status"},
                values={":done": "completed", ":processing": "processing", ":at": at},
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise


class AttachmentRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def put(self, ticket_id: str, attachment: dict[str, Any]) -> None:
        self._t.put({**keys.attachment(ticket_id, attachment["attachmentId"]), **attachment})

    def get(self, ticket_id: str, attachment_id: str) -> dict[str, Any] | None:
        item = self._t.get(keys.attachment(ticket_id, attachment_id), consistent=True)
        return strip_keys(item) if item else None

    def of_ticket(self, ticket_id: str) -> list[dict[str, Any]]:
        items = self._t.query_all(
            keys.ticket_partition(ticket_id), sk_prefix=keys.ATTACHMENT_PREFIX
        )
        return [strip_keys(i) for i in items]

    def settle(self, ticket_id: str, attachment_id: str, fields: dict[str, Any]) -> bool:
        """Record the outcome of an evidence upload once; False if it was settled before."""
        clause, names, values = set_clause(fields)
        values[":pending"] = "pending"
        try:
            self._t.update(
                keys.attachment(ticket_id, attachment_id),
                "SET " + clause,
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={**names, "#status": "status"},
                values=values,
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise


class DeliveryRepository:
    """Jira webhook deliveries applied (by their identifier), kept a week."""

    def __init__(self, table: Table) -> None:
        self._t = table

    def seen(self, identifier: str) -> bool:
        return self._t.get(keys.delivery(identifier), consistent=True) is not None

    def remember(self, identifier: str, now: int) -> None:
        self._t.put({**keys.delivery(identifier), "expiresAt": now + 7 * 86400})
