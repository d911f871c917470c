"""Environments: configuration (key/values) and status, a snapshot per change, and reservations
(bookings of a time window) that must not overlap. Pure: the store makes a booking race-free
(`adapters.dynamo.environments`: one conditional transaction per booking)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.errors import ValidationFailed, field_problem

# A reservation is at most this long: a booking reads the reservations that start in the window
# [from - MAX_RESERVATION, to), so this bounds what every booking reads.
MAX_RESERVATION = timedelta(days=31)
# The project item's environments generation: moved with every environment's creation and new
# revision, so a container may keep the snapshots runs record while it does not move.
ENVIRONMENTS_GENERATION = "environmentsGeneration"


class EnvironmentStatus(StrEnum):
    AVAILABLE = "available"
    DEGRADED = "degraded"
    DOWN = "down"
    MAINTENANCE = "maintenance"


def instant(value: str, field: str) -> datetime:
    """An ISO-8601 date-time with a time zone (`Z` or an offset), as UTC; 422 naming `field`."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or not 1970 <= parsed.year <= 2999:
        raise ValidationFailed(
            f"{field} is not a date-time with a time zone",
            [
                field_problem(
                    field,
                    "must be an ISO-8601 date-time with a time zone, e.g. 2026-12-08T10:00:00Z "
                    "(years 1970 to 2999)",
                )
            ],
        )
    return parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    """The stored form: UTC, seconds, `Z`. Stored strings sort as the instants they name."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: str, end: str) -> Window:
        window = cls(instant(start, "from"), instant(end, "to"))
        if window.end <= window.start:
            raise ValidationFailed(
                "a reservation must end after it starts",
                [field_problem("to", "must be later than from")],
            )
        if window.end - window.start > MAX_RESERVATION:
            raise ValidationFailed(
                "a reservation is too long",
                [field_problem("to", f"must be at most {MAX_RESERVATION.days} days after from")],
            )
        return window

    def overlaps(self, other: Window) -> bool:
        """Half-open windows: 10:00-12:00 and 12:00-14:00 do not overlap."""
        return self.start < other.end and other.start < self.end

    @property
    def earliest_overlapping_start(self) -> datetime:
        """No reservation starting before this can reach into the window."""
        return self.start - MAX_RESERVATION


def window_of(reservation: dict[str, Any]) -> Window:
    return Window(instant(reservation["from"], "from"), instant(reservation["to"], "to"))


def first_overlap(window: Window, reservations: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The earliest reservation that overlaps the window, if any."""
    hits = [r for r in reservations if window.overlaps(window_of(r))]
    return min(hits, key=lambda r: (r["from"], r["reservationId"])) if hits else None


def describe(reservation: dict[str, Any]) -> str:
    by = reservation.get("reservedBy")
    return (
        f"reservation {reservation['reservationId']} ({reservation['from']} to "
        f"{reservation['to']}{', by ' + by if by else ''})"
    )


def snapshot_of(environment: dict[str, Any]) -> dict[str, Any]:
    """What a run records of the environment it ran on: its revision and configuration."""
    return {
        "envId": environment["envId"],
        "revision": environment["revision"],
        "status": environment["status"],
        "configuration": dict(environment.get("configuration") or {}),
        "at": environment.get("updatedAt"),
        "by": environment.get("updatedBy"),
    }


class EnvironmentChanged(Exception):
    """Another write changed the environment (its revision or its bookings) since we read it:
    read again and decide again."""


class EnvironmentExists(Exception):
    """An environment with this id exists already."""
