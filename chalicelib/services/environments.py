"""Environments: configuration and status with a snapshot per change, and reservations whose
overlap check holds under concurrency (the store's conditional transactions; a booking that
raced another reads again and decides again)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain import environments as e
from chalicelib.domain.ports import Cursors
from chalicelib.domain.ports.environments import EnvironmentRepository
from chalicelib.errors import Conflict, NotFound, Unavailable, ValidationFailed, field_problem
from chalicelib.ids import new_id

ENV_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RESERVATION_ID = re.compile(r"^res_[0-9a-z]{26}$")
EDITABLE = ("name", "status", "configuration", "description")
ATTEMPTS = 60  # a booking racing this many others in a row gives up with 503


class EnvironmentService:
    def __init__(
        self,
        environments: EnvironmentRepository,
        cursors: Cursors,
        *,
        clock: Callable[[], str] = now_iso,
        pause: Callable[[float], None] = time.sleep,
        changed: Callable[[str], None] | None = None,
    ) -> None:
        self._repo = environments
        # an environment of the project changed: this container reads the project (and so its
        # environments generation) again on its next request, other containers within 5 s
        self._changed = changed or (lambda project: None)
        self._cursors = cursors
        self._clock = clock
        self._pause = pause

    # -- environments ----------------------------------------------------------------------

    def create(self, project: str, fields: dict[str, Any], by: str | None) -> dict[str, Any]:
        env_id = str(fields["envId"])
        if not ENV_ID.match(env_id):
            raise ValidationFailed(
                "envId is not a valid id",
                [field_problem("envId", "must be 1-100 letters, digits, '.', '_' or '-'")],
            )
        at = self._clock()
        environment = {
            "envId": env_id,
            "project": project,
            "name": fields.get("name") or env_id,
            "description": fields.get("description"),
            "status": str(fields.get("status") or e.EnvironmentStatus.AVAILABLE),
            "configuration": dict(fields.get("configuration") or {}),
            "revision": 1,
            "bookings": 0,
            "createdAt": at,
            "updatedAt": at,
            "updatedBy": by,
        }
        environment = {k: v for k, v in environment.items() if v is not None}
        try:
            self._repo.create(project, environment)
        except e.EnvironmentExists as exc:
            raise Conflict(
                f"environment {env_id} exists already",
                [field_problem("envId", "is taken in this project")],
            ) from exc
        self._changed(project)
        return _view(environment)

    def get(self, project: str, env_id: str) -> dict[str, Any]:
        return _view(self._environment(project, env_id))

    def of_project(self, project: str, limit: int, cursor: str | None) -> dict[str, Any]:
        items, last = self._repo.of_project(project, limit, self._cursors.decode(cursor))
        return {"items": [_view(i) for i in items], "next": self._cursors.encode(last)}

    def update(self, project: str, env_id: str, fields: dict[str, Any], by: str | None) -> dict:
        """Change configuration, status, name or description: a new revision with its snapshot.
        A change that changes nothing makes no revision."""
        for _ in range(ATTEMPTS):
            current = self._environment(project, env_id)
            changed = {k: v for k, v in fields.items() if k in EDITABLE and current.get(k) != v}
            if not changed:
                return _view(current)
            revision = int(current["revision"])
            nxt = {
                **current,
                **changed,
                "revision": revision + 1,
                "updatedAt": self._clock(),
                "updatedBy": by,
            }
            nxt = {k: v for k, v in nxt.items() if v is not None}
            try:
                self._repo.update(project, nxt, revision)
            except e.EnvironmentChanged:
                self._backoff()
                continue
            self._changed(project)
            return _view(nxt)
        raise Unavailable("the environment is changing too often; try again")

    def snapshots(self, project: str, env_id: str, limit: int, cursor: str | None) -> dict:
        self._environment(project, env_id)
        items, last = self._repo.snapshots(project, env_id, limit, self._cursors.decode(cursor))
        return {"items": items, "next": self._cursors.encode(last)}

    def current_snapshot(self, project: str, env_id: str) -> dict[str, Any]:
        """What a run records of the environment it runs on (revision and configuration)."""
        return e.snapshot_of(self._environment(project, env_id))

    # -- reservations --------------------------------------------------------------------------

    def reserve(
        self, project: str, env_id: str, fields: dict[str, Any], by: str | None
    ) -> dict[str, Any]:
        """Book [from, to). 409 naming the reservation it overlaps. Race-free: the booking is
        stored only if no other booking of the environment committed since we read."""
        window = e.Window.of(str(fields["from"]), str(fields["to"]))
        reservation = {
            "reservationId": new_id("res"),
            "project": project,
            "envId": env_id,
            "from": e.iso(window.start),
            "to": e.iso(window.end),
            "purpose": fields.get("purpose"),
            "runId": fields.get("runId"),
            "reservedBy": by,
            "createdAt": self._clock(),
        }
        reservation = {k: v for k, v in reservation.items() if v is not None}
        for _ in range(ATTEMPTS):
            current = self._environment(project, env_id)
            nearby = self._repo.reservations_starting(
                project, env_id, e.iso(window.earliest_overlapping_start), e.iso(window.end)
            )
            taken = e.first_overlap(window, nearby)
            if taken is not None:
                raise Conflict(
                    f"{env_id} is reserved then: {e.describe(taken)}",
                    [field_problem("from", f"overlaps {e.describe(taken)}")],
                )
            try:
                self._repo.book(project, env_id, reservation, int(current.get("bookings") or 0))
            except e.EnvironmentChanged:
                self._backoff()
                continue
            return reservation
        raise Unavailable("the environment's bookings are changing too often; try again")

    def reservations(
        self, project: str, env_id: str, start: str | None, end: str | None
    ) -> dict[str, Any]:
        """Reservations overlapping [from, to) (default: from now on, for MAX_RESERVATION x 12)."""
        self._environment(project, env_id)
        low = e.instant(start, "from") if start else e.instant(self._clock(), "from")
        high = e.instant(end, "to") if end else low + e.MAX_RESERVATION * 12
        if high <= low:
            raise ValidationFailed(
                "to must be after from", [field_problem("to", "is not after from")]
            )
        window = e.Window(low, high)
        items = self._repo.reservations_starting(
            project, env_id, e.iso(window.earliest_overlapping_start), e.iso(high)
        )
        hits = [r for r in items if window.overlaps(e.window_of(r))]
        return {"items": hits}

    def cancel(self, project: str, env_id: str, reservation_id: str) -> None:
        self._environment(project, env_id)
        reservation = (
            self._repo.reservation(project, env_id, reservation_id)
            if RESERVATION_ID.match(reservation_id)
            else None
        )
        if reservation is None:
            raise NotFound(f"no reservation {reservation_id} of {env_id}")
        self._repo.cancel(project, env_id, reservation)

    # -- helpers -------------------------------------------------------------------------------

    def _environment(self, project: str, env_id: str) -> dict[str, Any]:
        found = self._repo.get(project, env_id) if ENV_ID.match(env_id) else None
        if found is None:
            raise NotFound(f"no environment {env_id} in project {project}")
        return found

    def _backoff(self) -> None:
        self._pause(random.uniform(0.005, 0.05))


def _view(environment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in environment.items() if k not in ("bookings", "project")}
