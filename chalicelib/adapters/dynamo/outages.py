"""Outages of the outside systems, shared by every container: each Jira site's circuit breaker,
and each lead's tickets an outage delays (so the lead hears once, not once per attempt)."""

from __future__ import annotations

from decimal import Decimal

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import Table, condition_failed
from chalicelib.domain.delivery import CircuitState


def _n(seconds: float) -> Decimal:
    """Times are epoch seconds to the millisecond (DynamoDB takes no float)."""
    return Decimal(str(round(seconds, 3)))


def _state(item: dict) -> CircuitState:
    return CircuitState(
        failures=int(item.get("failures", 0)),
        open_until=float(item.get("openUntil", 0)),
        throttled_until=float(item.get("throttledUntil", 0)),
        since=float(item["since"]) if item.get("since") is not None else None,
    )


class CircuitRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def state(self, site: str) -> CircuitState:
        return _state(self._t.get(keys.circuit(site), consistent=True) or {})

    def failed(self, site: str, now: float, threshold: int, open_seconds: float) -> CircuitState:
        item = self._t.update(
            keys.circuit(site),
            "ADD failures :one SET since = if_not_exists(since, :now)",
            values={":one": 1, ":now": _n(now)},
            ReturnValues="ALL_NEW",
        )
        state = _state(item)
        if state.failures >= threshold and state.open_until <= now:
            self._t.update_if(
                keys.circuit(site),
                "SET openUntil = :until",
                ConditionExpression="attribute_not_exists(openUntil) OR openUntil <= :now",
                values={":until": _n(now + open_seconds), ":now": _n(now)},
            )
            state = self.state(site)
        return state

    def claim_probe(self, site: str, now: float, open_seconds: float) -> bool:
        return (
            self._t.update_if(
                keys.circuit(site),
                "SET openUntil = :until",
                ConditionExpression="openUntil <= :now",
                values={":until": _n(now + open_seconds), ":now": _n(now)},
            )
            is not None
        )

    def throttled(self, site: str, until: float) -> None:
        self._t.update_if(
            keys.circuit(site),
            "SET throttledUntil = :until",
            ConditionExpression=("attribute_not_exists(throttledUntil) OR throttledUntil < :until"),
            values={":until": _n(until)},
        )

    def close(self, site: str) -> None:
        self._t.delete(keys.circuit(site))


class DelayNoticeRepository:
    """DELAYED#{lead}: `pending` (string set of delayed tickets), `told` (the delay was told),
    `done` (string set of "ticket=outcome"). An episode ends when `pending` empties."""

    def __init__(self, table: Table) -> None:
        self._t = table

    def delayed(self, lead: str, ticket_id: str) -> bool:
        self._t.update(
            keys.delayed(lead),
            "ADD pending :t",
            values={":t": {ticket_id}},
        )
        return (
            self._t.update_if(
                keys.delayed(lead),
                "SET told = :yes",
                ConditionExpression="attribute_not_exists(told) AND contains(pending, :id)",
                values={":yes": True, ":id": ticket_id},
            )
            is not None
        )

    def through(self, lead: str, ticket_id: str, outcome: str) -> dict[str, str] | None:
        item = self._t.update_if(
            keys.delayed(lead),
            "DELETE pending :t ADD done :d",
            ConditionExpression="contains(pending, :id)",
            values={":t": {ticket_id}, ":d": {f"{ticket_id}={outcome}"}, ":id": ticket_id},
            ReturnValues="ALL_NEW",
        )
        if item is None:
            return None  # not delayed (or told already: a redelivery)
        if item.get("pending"):
            return None
        try:  # the episode ends here, once
            self._t.client.delete_item(
                TableName=self._t.name,
                Key={k: {"S": v} for k, v in keys.delayed(lead).items()},
                ConditionExpression="attribute_not_exists(pending)",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None  # another ticket of the lead was delayed meanwhile
            raise
        if not item.get("told"):
            return None
        return dict(sorted(d.split("=", 1) for d in item.get("done") or ()))  # type: ignore[misc]

    def sent(self, notice_id: str) -> bool:
        return self._t.get(keys.notice(notice_id), consistent=True) is not None

    def mark_sent(self, notice_id: str, now: int) -> None:
        self._t.put({**keys.notice(notice_id), "sentAt": now, "expiresAt": now + 7 * 86400})
