"""Tickets: read, list, edit, and move them through the lifecycle (with the scenario's
live-ticket pointer kept in step, in one transaction)."""

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
from chalicelib.domain.conflicts import AlsoFailed
from chalicelib.domain.lifecycle import Move
from chalicelib.domain.statuses import ENDED_TICKET_STATUSES, LIVE_TICKET_STATUSES, TicketStatus
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Conflict, MalformedRequest, NotFound

_KEEP_EMPTY = {"history", "requirements", "evidence"}


def ticket_item(ticket: Ticket) -> dict[str, Any]:
    """The stored item: the ticket's set attributes (sets where DynamoDB ADDs to them), keys."""
    data = {
        k: v for k, v in ticket.to_dict().items() if v is not None and (v != [] or k in _KEEP_EMPTY)
    }
    for name in ("reporters", "jiraSteps"):
        if data.get(name):
            data[name] = set(data[name])
    return {**keys.ticket(ticket.id), **keys.ticket_indexes(data), **data}


STATUS_ORDER = sorted(s.value for s in TicketStatus)


def _resume(
    project: str, cursor: dict[str, Any] | None, statuses: list[str]
) -> tuple[int, dict[str, Any] | None]:
    """Where a page starts: the status's position in `statuses` and the key within it. A
    cursor issued before `rekey` (one gsi1 partition, `status#createdAt#id`) is understood."""
    if not cursor:
        return 0, None
    if isinstance(cursor.get("gsi1sk"), dict) and "status" not in cursor:  # old LastEvaluatedKey
        status, _, rest = str(cursor["gsi1sk"].get("S", "")).partition("#")
        index = {"gsi1pk": {"S": keys.tickets_index(project, status)}, "gsi1sk": {"S": rest}}
        cursor = {"status": status, "key": {**cursor, **index}}
    if cursor.get("status") not in statuses:
        raise MalformedRequest(
            "the cursor is not one we issued", [{"field": "cursor", "problem": "is not valid"}]
        )
    key = cursor.get("key")
    return statuses.index(cursor["status"]), key if isinstance(key, dict) else None


def live_values() -> dict[str, Any]:
    return {f":live{i}": s.value for i, s in enumerate(sorted(LIVE_TICKET_STATUSES))}


def live_condition() -> str:
    return "#status IN (" + ", ".join(sorted(live_values())) + ")"


# Two deliveries for one issue applied at once: the older must not win.
_JIRA_OLDER = "(attribute_not_exists(jiraUpdatedAt) OR jiraUpdatedAt < :jiraAt)"


class TicketRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def get(self, ticket_id: str, consistent: bool = True) -> Ticket:
        item = self._t.get(keys.ticket(ticket_id), consistent)
        if item is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return Ticket.from_dict(strip_keys(item))

    def page(
        self,
        project: str,
        *,
        status: str | None,
        module: str | None,
        limit: int,
        cursor: dict[str, Any] | None,
    ) -> tuple[list[Ticket], dict[str, Any] | None]:
        """A page of the project's tickets, status by status (name order), oldest first within
        a status: one gsi1 partition per status, read in turn until the page is full."""
        statuses = [status] if status else STATUS_ORDER
        at, key = _resume(project, cursor, statuses)
        found: list[Ticket] = []
        for i in range(at, len(statuses)):
            items, next_key = self._t.query(
                keys.tickets_index(project, statuses[i]),
                index="gsi1",
                limit=limit - len(found),
                cursor=key,
                filters={"module": module} if module else None,
            )
            key = None
            found.extend(Ticket.from_dict(strip_keys(item)) for item in items)
            if next_key:
                return found, {"status": statuses[i], "key": next_key}
            if len(found) >= limit:
                more = i + 1 < len(statuses)
                return found, {"status": statuses[i + 1]} if more else None
        return found, None

    def of_scenario(self, project: str, scenario_id: str) -> list[Ticket]:
        items = self._t.query_all(
            keys.scenario_tickets_index(project, scenario_id), index="gsi2", forward=False
        )
        return [Ticket.from_dict(strip_keys(i)) for i in items]

    def set_fields(
        self,
        ticket_id: str,
        fields: dict[str, Any],
        only_status: str | None = None,
        *,
        jira_before: int | None = None,
    ) -> bool:
        """Set fields of an existing ticket (optionally only while it has `only_status`, and
        only while the Jira change it last applied is older than `jira_before`)."""
        clause, names, values = set_clause(fields)
        condition = "attribute_exists(pk)"
        if only_status:
            names["#status"] = "status"
            values[":only"] = only_status
            condition += " AND #status = :only"
        if jira_before is not None:
            condition += f" AND {_JIRA_OLDER}"
            values[":jiraAt"] = jira_before
        return (
            self._t.update_if(
                keys.ticket(ticket_id),
                "SET " + clause,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                values=values,
            )
            is not None
        )

    def update_draft(self, ticket_id: str, fields: dict[str, Any], entry: dict[str, Any]) -> Ticket:
        """Set fields of a ticket that is still a draft; 409 otherwise."""
        clause, names, values = set_clause(fields)
        names["#status"] = "status"
        values.update({":draft": TicketStatus.DRAFT.value, ":entry": [entry], ":at": entry["at"]})
        sets = "history = list_append(history, :entry), updatedAt = :at"
        item = self._t.update_if(
            keys.ticket(ticket_id),
            f"SET {sets}" + (f", {clause}" if clause else ""),
            ConditionExpression="attribute_exists(pk) AND #status = :draft",
            ExpressionAttributeNames=names,
            values=values,
            ReturnValues="ALL_NEW",
        )
        if item is None:
            self.get(ticket_id)  # 404 if it does not exist
            raise Conflict("only a draft can be edited")
        return Ticket.from_dict(strip_keys(item))

    def transition(
        self,
        ticket: Ticket,
        done: Move,
        *,
        extra: dict[str, Any] | None = None,
        also: Sequence[TransactItem] = (),
        point_scenario_to: tuple[str, str] | None = None,
        jira_before: int | None = None,
    ) -> None:
        """Store a move (status, history entry, change event, `extra` fields), keeping the
        scenario's live-ticket pointer in step, in one transaction with `also` (e.g. consuming
        an approval nonce). `point_scenario_to` hands the scenario to another live ticket (a
        merge). Conflict if the ticket left the move's from-status (or, with `jira_before`,
        applied a Jira change as new or newer meanwhile); AlsoFailed(i) if `also[i]`'s
        condition failed."""
        to = done.to_status.value
        items = [
            self._move_item(ticket, done, extra, jira_before),
            self._pointer(ticket, to, done.entry.at, point_scenario_to),
            *also,
        ]
        try:
            self._t.transact(items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            failed = [i for i, c in enumerate(cancel_codes(exc)) if c == "ConditionalCheckFailed"]
            if failed and failed[0] >= 2:
                raise AlsoFailed(failed[0] - 2) from exc
            raise Conflict(
                f"ticket {ticket.id} is no longer in status {done.from_status.value}"
            ) from exc

    def _move_item(
        self, ticket: Ticket, done: Move, extra: dict[str, Any] | None, jira_before: int | None
    ) -> TransactItem:
        """The ticket's update: status, history, its gsi1 partition, the change event, `extra`;
        only from the move's from-status (and, with `jira_before`, an older Jira change)."""
        to = done.to_status.value
        clause, names, values = set_clause(extra or {}, prefix="x")
        names["#status"] = "status"
        if jira_before is not None:
            values[":jiraAt"] = jira_before
        values.update(
            {
                ":to": to,
                ":from": done.from_status.value,
                ":entry": [done.entry.to_dict()],
                ":at": done.entry.at,
                ":g1pk": keys.tickets_index(ticket.project, to),
                ":ev": done.event.to_dict(),
            }
        )
        sets = "#status = :to, history = list_append(history, :entry), updatedAt = :at, "
        sets += "gsi1pk = :g1pk, lastChange = :ev" + (f", {clause}" if clause else "")
        return self._t.update_item(
            keys.ticket(ticket.id),
            "SET " + sets,
            condition="#status = :from"
            + (f" AND {_JIRA_OLDER}" if jira_before is not None else ""),
            names=names,
            values=values,
        )

    def _pointer(
        self, ticket: Ticket, to: str, at: str, point_to: tuple[str, str] | None
    ) -> TransactItem:
        key = keys.scenario(ticket.project, ticket.scenario_id)
        if point_to:
            return self._t.update_item(
                key,
                "SET liveTicketId = :to, liveTicketStatus = :s",
                condition="liveTicketId = :id",
                values={":id": ticket.id, ":to": point_to[0], ":s": point_to[1]},
            )
        if to in {s.value for s in ENDED_TICKET_STATUSES}:
            # A verified or closed ticket is remembered: a regression within the project's
            # window reopens it instead of opening a new draft.
            return self._t.update_item(
                key,
                "REMOVE liveTicketId, liveTicketStatus "
                "SET lastEndedTicketId = :id, lastEndedStatus = :to, lastEndedAt = :at",
                condition="liveTicketId = :id",
                values={":id": ticket.id, ":to": to, ":at": at},
            )
        return self._t.update_item(
            key,
            "SET liveTicketStatus = :s",
            condition="liveTicketId = :id",
            values={":id": ticket.id, ":s": to},
        )

    def absorb_update(self, target_id: str, source: Ticket, at: str) -> TransactItem:
        """A transaction item that gives a live ticket the occurrences of a draft merged into it."""
        values: dict[str, Any] = {
            ":n": source.occurrences,
            ":src": [source.id],
            ":empty": [],
            ":at": at,
            **live_values(),
        }
        added = "ADD occurrences :n"
        if source.reporters:
            added += ", reporters :rs"
            values[":rs"] = set(source.reporters)
        return self._t.update_item(
            keys.ticket(target_id),
            f"{added} SET updatedAt = :at, "
            "mergedFrom = list_append(if_not_exists(mergedFrom, :empty), :src)",
            condition=live_condition(),
            names={"#status": "status"},
            values=values,
        )

    def claim_create_attempt(self, ticket_id: str, seen: int, now: int) -> bool:
        """Count a Jira create attempt, if no one else counted it since we read `seen`. Its
        outcome is uncertain (`jiraUncertainAt`) until Jira answers: a process killed after Jira
        created the issue leaves it so, and the next attempt waits for Jira's search."""
        return (
            self._t.update_if(
                keys.ticket(ticket_id),
                "SET jiraCreateAttempts = :next, jiraLastAttemptAt = :now, jiraUncertainAt = :now",
                ConditionExpression="(attribute_not_exists(jiraCreateAttempts) AND :seen = :zero)"
                " OR jiraCreateAttempts = :seen",
                values={":next": seen + 1, ":now": now, ":seen": seen, ":zero": 0},
            )
            is not None
        )

    def add_steps(self, ticket_id: str, steps: set[str]) -> None:
        self._t.update(keys.ticket(ticket_id), "ADD jiraSteps :s", values={":s": steps})

    def claim_step(self, ticket_id: str, step: str, now: int, lease: int) -> bool:
        """Claim a step told to Jira: not when done (`jiraSteps`) or claimed by another
        delivery less than `lease` seconds ago (`jiraClaims`)."""
        key = keys.ticket(ticket_id)
        if (
            self._t.update_if(
                key,
                "SET jiraClaims = if_not_exists(jiraClaims, :none)",
                ConditionExpression="attribute_exists(pk)",
                values={":none": {}},
            )
            is None
        ):
            return False
        return (
            self._t.update_if(
                key,
                "SET jiraClaims.#s = :now",
                ConditionExpression="NOT contains(jiraSteps, :step) AND "
                "(attribute_not_exists(jiraClaims.#s) OR jiraClaims.#s < :lapsed)",
                ExpressionAttributeNames={"#s": step},
                values={":now": now, ":step": step, ":lapsed": now - lease},
            )
            is not None
        )

    def store_feedback_token(self, ticket_id: str, token: str, entered: str) -> bool:
        """The token of the workflow's wait for feedback, unless a later wait's token (one that
        entered the state after `entered`) is stored already: False then."""
        return (
            self._t.update_if(
                keys.ticket(ticket_id),
                "SET feedbackToken = :token, feedbackEnteredAt = :entered",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(feedbackEnteredAt) OR feedbackEnteredAt <= :entered)",
                values={":token": token, ":entered": entered},
            )
            is not None
        )

    def release_step(self, ticket_id: str, step: str) -> None:
        self._t.update(
            keys.ticket(ticket_id), "REMOVE jiraClaims.#s", ExpressionAttributeNames={"#s": step}
        )

    def add_warning(self, ticket_id: str, warning: str) -> None:
        self._t.update(
            keys.ticket(ticket_id),
            "SET jiraWarnings = list_append(if_not_exists(jiraWarnings, :e), :w)",
            values={":e": [], ":w": [warning[:300]]},
        )

    def jira_index_put(self, jira_key: str, ticket_id: str) -> TransactItem:
        """A transaction item: find the ticket from its Jira issue (webhooks name the issue)."""
        return self._t.put_item({**keys.jira_issue(jira_key), "ticketId": ticket_id})

    def by_jira_key(self, jira_key: str) -> str | None:
        item = self._t.get(keys.jira_issue(jira_key))
        return str(item["ticketId"]) if item else None
