"""Asynchronous report uploads and their progress; evidence attachments of tickets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import (
    Table,
    TransactItem,
    cancel_codes,
    set_clause,
    strip_keys,
)
from chalicelib.domain.conflicts import TransactionConflict
from chalicelib.domain.statuses import ImportStatus, UploadStatus


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
        item = self._t.update_if(
            keys.upload(upload_id),
            f"ADD doneChunks :chunk, {adds} SET updatedAt = :at",
            ConditionExpression="attribute_exists(pk) AND NOT contains(doneChunks, :n)",
            ExpressionAttributeNames=names,
            values=values,
            ReturnValues="ALL_NEW",
        )
        if item is None:
            return None
        return strip_keys(item)

    def complete(self, upload_id: str, at: str) -> bool:
        """processing -> completed, once."""
        return (
            self._t.update_if(
                keys.upload(upload_id),
                "SET #s = :done, updatedAt = :at",
                ConditionExpression="#s = :processing",
                ExpressionAttributeNames={"#s": "status"},
                values={
                    ":done": UploadStatus.COMPLETED.value,
                    ":processing": UploadStatus.PROCESSING.value,
                    ":at": at,
                },
            )
            is not None
        )


class TestCaseImportLedger:
    """A large test-case import's record (`UPLOAD#id`) as the claim and cursor of its write:
    `claim`/`claimUntil` say which delivery works on it, `batch`/`step` how far the write got,
    `pending` the counter moves the current batch intends. Every write but the claim is
    conditional on the claim still being the caller's."""

    _HELD = "claim = :token"

    def __init__(self, table: Table) -> None:
        self._t = table

    def claim(self, import_id: str, token: str, now: int, until: int) -> dict[str, Any] | None:
        """The import, claimed by `token` until `until`, if nobody holds a live claim and it is
        not finished; else None."""
        item = self._t.update_if(
            keys.upload(import_id),
            "SET claim = :token, claimUntil = :until",
            ConditionExpression=(
                "attribute_exists(pk) AND #s IN (:a, :b, :c) "
                "AND (attribute_not_exists(claim) OR claimUntil < :now)"
            ),
            ExpressionAttributeNames={"#s": "status"},
            values={
                ":token": token,
                ":until": until,
                ":now": now,
                ":a": ImportStatus.WAITING_FOR_UPLOAD.value,
                ":b": ImportStatus.VALIDATING.value,
                ":c": ImportStatus.WRITING.value,
            },
            ReturnValues="ALL_NEW",
        )
        if item is None:
            return None
        return strip_keys(item)

    def release(self, import_id: str, token: str) -> None:
        """Give the claim up (a failed attempt, so that a redelivery needs not wait for it)."""
        self._t.update_if(
            keys.upload(import_id),
            "REMOVE claim, claimUntil",
            ConditionExpression=self._HELD,
            values={":token": token},
        )

    def note(
        self, import_id: str, token: str, fields: dict[str, Any], batch: int | None = None
    ) -> bool:
        """Set fields while the claim holds (and the cursor is at `batch`, if given)."""
        return self._set(import_id, token, fields, "", batch)

    def settle(self, import_id: str, token: str, fields: dict[str, Any]) -> bool:
        """The outcome (fields with its status), and the claim dropped."""
        return self._set(import_id, token, fields, " REMOVE claim, claimUntil, pending", None)

    def advance(
        self,
        import_id: str,
        token: str,
        batch: int,
        step: int,
        fields: dict[str, Any],
        also: Sequence[TransactItem],
        *,
        last: bool,
    ) -> bool:
        """With `also` (a batch's counter moves, at most 99 items), in one transaction: the
        cursor from (batch, step) to the next step, or past the batch if `last`. False if the
        claim is lost or the cursor moved already: then nothing of it happened."""
        clause, names, values = set_clause(fields)
        names.update({"#b": "batch", "#st": "step"})
        values.update({":token": token, ":b": batch, ":st": step})
        if last:
            values.update({":nb": batch + 1, ":zero": 0})
            moves, tail = ["#b = :nb", "#st = :zero"], " REMOVE pending"
        else:
            values[":nst"] = step + 1
            moves, tail = ["#st = :nst"], ""
        update = "SET " + ", ".join([*([clause] if clause else []), *moves]) + tail
        cursor = self._t.update_item(
            keys.upload(import_id),
            update,
            condition=f"{self._HELD} AND #b = :b AND #st = :st",
            names=names,
            values=values,
        )
        try:
            self._t.transact([cursor, *also])
        except TransactionConflict:
            return False
        except ClientError as exc:
            if "ConditionalCheckFailed" in cancel_codes(exc)[:1]:
                return False
            raise
        return True

    def _set(
        self, import_id: str, token: str, fields: dict[str, Any], tail: str, batch: int | None
    ) -> bool:
        clause, names, values = set_clause(fields)
        values[":token"] = token
        condition = self._HELD
        if batch is not None:
            condition += " AND #b = :b"
            names["#b"] = "batch"
            values[":b"] = batch
        return (
            self._t.update_if(
                keys.upload(import_id),
                "SET " + clause + tail,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                values=values,
            )
            is not None
        )


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
        return (
            self._t.update_if(
                keys.attachment(ticket_id, attachment_id),
                "SET " + clause,
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={**names, "#status": "status"},
                values=values,
            )
            is not None
        )


class DeliveryRepository:
    """Jira webhook deliveries applied (by their identifier), kept a week."""

    def __init__(self, table: Table) -> None:
        self._t = table

    def seen(self, identifier: str) -> bool:
        return self._t.get(keys.delivery(identifier), consistent=True) is not None

    def remember(self, identifier: str, now: int) -> None:
        self._t.put({**keys.delivery(identifier), "expiresAt": now + 7 * 86400})
