"""Ports of environments: the environment with its snapshots and reservations."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.domain.ports.core import Cursor


class EnvironmentRepository(Protocol):
    def create(self, project: str, environment: dict[str, Any]) -> None:
        """Store a new environment and its first snapshot; EnvironmentExists if taken."""

    def get(self, project: str, env_id: str) -> dict[str, Any] | None: ...

    def of_project(
        self, project: str, limit: int, cursor: Cursor | None
    ) -> tuple[list[dict[str, Any]], Cursor | None]: ...

    def update(self, project: str, environment: dict[str, Any], expected_revision: int) -> None:
        """Replace the environment with its next revision and store that revision's snapshot,
        only if it is still at `expected_revision` (EnvironmentChanged otherwise)."""

    def snapshots(
        self, project: str, env_id: str, limit: int, cursor: Cursor | None
    ) -> tuple[list[dict[str, Any]], Cursor | None]: ...

    def reservations_starting(
        self, project: str, env_id: str, low: str, high: str
    ) -> list[dict[str, Any]]:
        """Reservations whose `from` is within [low, high] (ISO strings)."""

    def book(
        self, project: str, env_id: str, reservation: dict[str, Any], expected_bookings: int
    ) -> None:
        """Store the reservation only if the environment's booking counter is still
        `expected_bookings` (EnvironmentChanged otherwise), counting it in the same write."""

    def reservation(
        self, project: str, env_id: str, reservation_id: str
    ) -> dict[str, Any] | None: ...

    def cancel(self, project: str, env_id: str, reservation: dict[str, Any]) -> None: ...


class EnvironmentSnapshots(Protocol):
    """What a run needs of environments: the snapshot (revision, status, configuration) of the
    environment it runs on, to record with it. `EnvironmentService` is one."""

    def current_snapshot(self, project: str, env_id: str) -> dict[str, Any]:
        """NotFound (404) for an environment the project does not have."""
