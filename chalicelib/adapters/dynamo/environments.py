"""Environments in the table (`keys`): the environment, a snapshot per revision, reservations.

Race-freedom: every change of an environment is one TransactWriteItems conditioned on what was
read. A configuration change is conditioned on the revision it started from and writes that
revision's snapshot with it; a booking is conditioned on the environment's booking counter
(`bookings`) and bumps it, so two bookings that both read "free" cannot both commit: the second
finds the counter moved, reads again, and sees the first (docs/decisions.md)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.retrying import transact_retrying
from chalicelib.adapters.dynamo.table import (
    Table,
    TransactItem,
    cancel_codes,
    cursor_checked,
    strip_keys,
)
from chalicelib.domain.conflicts import TransactionConflict
from chalicelib.domain.environments import (
    ENVIRONMENTS_GENERATION,
    EnvironmentChanged,
    EnvironmentExists,
)
from chalicelib.errors import NotFound

KEPT = ("envId", "bookings", "createdAt")  # a revision never writes these (bookings: its own)
SNAPSHOT_FIELDS = ("envId", "revision", "status", "configuration", "name", "updatedAt", "updatedBy")


class EnvironmentRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def create(self, project: str, environment: dict[str, Any]) -> None:
        env_id = environment["envId"]
        try:
            transact_retrying(
                self._t,
                [
                    self._t.put_item(
                        {**keys.environment(project, env_id), **environment},
                        condition="attribute_not_exists(pk)",
                    ),
                    self._t.put_item(self._snapshot(project, environment)),
                    self._generation_item(project),
                ],
            )
        except ClientError as exc:
            if cancel_codes(exc)[-1:] == ["ConditionalCheckFailed"]:
                raise NotFound(f"project {project} does not exist") from exc
            raise EnvironmentExists(env_id) from exc
        except TransactionConflict as exc:
            raise EnvironmentExists(env_id) from exc

    def get(self, project: str, env_id: str) -> dict[str, Any] | None:
        item = self._t.get(keys.environment(project, env_id), consistent=True)
        return strip_keys(item) if item else None

    def of_project(
        self, project: str, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, last = cursor_checked(
            cursor,
            lambda: self._t.query(
                keys.environments_partition(project),
                sk_prefix=keys.ENVIRONMENT_PREFIX,
                limit=limit,
                cursor=cursor,
            ),
        )
        return [strip_keys(i) for i in items], last

    def update(self, project: str, environment: dict[str, Any], expected_revision: int) -> None:
        condition = "#rev = :expected"
        fields = {k: v for k, v in environment.items() if k not in KEPT}
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values: dict[str, Any] = {f":f{i}": v for i, v in enumerate(fields.values())}
        names["#rev"] = "revision"
        values[":expected"] = expected_revision
        update = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        self._run(
            [
                self._t.update_item(
                    keys.environment(project, environment["envId"]),
                    update,
                    condition=condition,
                    names=names,
                    values=values,
                ),
                self._t.put_item(
                    self._snapshot(project, environment), condition="attribute_not_exists(pk)"
                ),
                self._generation_item(project),
            ]
        )

    def snapshots(
        self, project: str, env_id: str, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, last = cursor_checked(
            cursor,
            lambda: self._t.query(
                keys.environment_snapshots(project, env_id),
                limit=limit,
                cursor=cursor,
                forward=False,
            ),
        )
        return [strip_keys(i) for i in items], last

    def reservations_starting(
        self, project: str, env_id: str, low: str, high: str
    ) -> list[dict[str, Any]]:
        items = self._t.query_range(
            keys.reservations_partition(project, env_id),
            keys.RESERVATION_PREFIX + low,
            keys.RESERVATION_PREFIX + high + "~",  # every id after the same `from`
        )
        return [strip_keys(i) for i in items]

    def book(
        self, project: str, env_id: str, reservation: dict[str, Any], expected_bookings: int
    ) -> None:
        reservation_key = keys.reservation(
            project, env_id, reservation["from"], reservation["reservationId"]
        )
        self._run(
            [
                self._t.update_item(
                    keys.environment(project, env_id),
                    "SET #b = :next",
                    condition="#b = :expected",
                    names={"#b": "bookings"},
                    values={":next": expected_bookings + 1, ":expected": expected_bookings},
                ),
                self._t.put_item({**reservation_key, **reservation}),
                self._t.put_item(
                    {
                        **keys.reservation_pointer(project, env_id, reservation["reservationId"]),
                        "reservationSk": reservation_key["sk"],
                        "project": project,
                    }
                ),
            ]
        )

    def reservation(self, project: str, env_id: str, reservation_id: str) -> dict[str, Any] | None:
        pointer = self._t.get(
            keys.reservation_pointer(project, env_id, reservation_id), consistent=True
        )
        if pointer is None:
            return None
        item = self._t.get(
            {"pk": keys.reservations_partition(project, env_id), "sk": pointer["reservationSk"]},
            consistent=True,
        )
        return strip_keys(item) if item else None

    def cancel(self, project: str, env_id: str, reservation: dict[str, Any]) -> None:
        reservation_id = reservation["reservationId"]
        self._t.delete(keys.reservation(project, env_id, reservation["from"], reservation_id))
        self._t.delete(keys.reservation_pointer(project, env_id, reservation_id))

    # -- helpers ---------------------------------------------------------------------------

    def _generation_item(self, project: str) -> TransactItem:
        """The project's environments generation, moved with an environment's new revision:
        every container's remembered snapshots of the project are stale."""
        return self._t.update_item(
            keys.project(project),
            "ADD #g :one",
            condition="attribute_exists(pk)",
            names={"#g": ENVIRONMENTS_GENERATION},
            values={":one": 1},
        )

    def _snapshot(self, project: str, environment: dict[str, Any]) -> dict[str, Any]:
        snapshot = {k: environment.get(k) for k in SNAPSHOT_FIELDS}
        return {
            **keys.environment_snapshot(project, environment["envId"], environment["revision"]),
            "project": project,
            **snapshot,
        }

    def _run(self, items: list[dict[str, Any]]) -> None:
        """One transaction; any cancellation (a condition, a concurrent transaction) means the
        environment changed under us."""
        try:
            self._t.transact(items)
        except TransactionConflict as exc:
            raise EnvironmentChanged() from exc
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                raise EnvironmentChanged() from exc
            raise
