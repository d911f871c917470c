"""Asking leads: the outbox of drafts waiting for a lead's digest, the digest window, and the
nonces of used approval links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import (
    Table,
    TransactItem,
    condition_failed,
    load,
    vals,
)


class OutboxRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def queue(self, lead: str, ticket_id: str, at: str) -> None:
        self._t.put(
            {**keys.outbox(lead, at, ticket_id), "ticketId": ticket_id, "lead": lead, "at": at}
        )

    def pending(self, lead: str) -> list[dict[str, Any]]:
        return self._t.query_all(keys.outbox_partition(lead))

    def clear(self, items: Sequence[dict[str, Any]]) -> None:
        self._t.batch_delete([keys.outbox(i["lead"], i["at"], i["ticketId"]) for i in items])

    def digest_window(self, lead: str, now: int, seconds: int) -> tuple[int, bool]:
        """When the lead's current digest window closes (opening one if none is open, or the
        last one closed or was flushed), and whether its flush still has to be scheduled (it
        opened now, or its opener has not noted the flush as scheduled: a crash between the two
        must not strand the window). An update, not a put: a running flush's lease (on the same
        item) stays."""
        try:
            self._t.client.update_item(
                TableName=self._t.name,
                Key=vals(keys.digest_window(lead)),
                UpdateExpression="SET closesAt = :closes, expiresAt = :expires "
                "REMOVE flushScheduled",
                ConditionExpression="attribute_not_exists(closesAt) OR closesAt < :now",
                ExpressionAttributeValues=vals(
                    {":closes": now + seconds, ":expires": now + seconds + 3600, ":now": now}
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return now + seconds, True
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            old = load(exc.response.get("Item") or {})
            closes = int(old.get("closesAt", now))
            return closes, old.get("flushScheduled") != closes

    def flush_scheduled(self, lead: str, closes: int) -> None:
        """The window's flush is on the queue: later drafts of the window schedule none."""
        self._t.update_if(
            keys.digest_window(lead),
            "SET flushScheduled = :c",
            ConditionExpression="closesAt = :c",
            values={":c": closes},
        )

    def claim_flush(self, lead: str, now: int, lease_seconds: int) -> bool:
        """One flush of a lead at a time: a lease, taken if free or expired (a flush that died
        holds it no longer than `lease_seconds`). Taking it ends the lead's digest window: a
        draft queued from here on opens the next one (and schedules its flush), so none can join
        a window whose flush has already read the outbox. Turned away, a flush notes it on the
        lease (`flushMissed`) for the holder to see when it lets go; if the lease was let go
        meanwhile, it tries again."""
        for _ in range(3):
            claimed = self._t.update_if(
                keys.digest_window(lead),
                "SET flushLease = :until REMOVE closesAt, flushScheduled",
                ConditionExpression="attribute_not_exists(flushLease) OR flushLease < :now",
                values={":until": now + lease_seconds, ":now": now},
            )
            if claimed is not None:
                return True
            noted = self._t.update_if(
                keys.digest_window(lead),
                "SET flushMissed = :missed",
                ConditionExpression="flushLease >= :now",
                values={":missed": True, ":now": now},
            )
            if noted is not None:
                return False  # the holder sees it when it lets go
            # let go of meanwhile: claim it again
        return False
        return False

    def release_flush(self, lead: str) -> bool:
        """Let go of the lease; True if a flush was turned away while it was held."""
        old = self._t.update(
            keys.digest_window(lead), "REMOVE flushLease, flushMissed", ReturnValues="UPDATED_OLD"
        )
        return bool(old.get("flushMissed"))


class NonceRepository:
    """Approval links are single use: a link's nonce is consumed in the decision's transaction."""

    def __init__(self, table: Table) -> None:
        self._t = table

    def use(self, nonce: str, ticket_id: str, at: str, expires_at: int) -> TransactItem:
        """A transaction item that consumes the nonce, once."""
        item = {**keys.nonce(nonce), "ticketId": ticket_id, "usedAt": at, "expiresAt": expires_at}
        return self._t.put_item(item, "attribute_not_exists(pk)")

    def consume(self, nonce: str, subject: str, at: str, expires_at: int) -> bool:
        """Consume the nonce on its own (a cluster's link: its decision is many writes); False
        if it was used already."""
        item = {**keys.nonce(nonce), "ticketId": subject, "usedAt": at, "expiresAt": expires_at}
        return self._t.put_if(item, "attribute_not_exists(pk)")

    def used(self, nonce: str) -> bool:
        return self._t.get(keys.nonce(nonce), consistent=True) is not None
