"""Edge models of environments and their reservations (the OpenAPI document is generated from
them, so every constraint here is one JSON Schema can say)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.models import Name, StrictEdgeModel, Text

EnvId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
ConfigKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ConfigValue = Annotated[str, StringConstraints(max_length=2000)]
Status = Literal["available", "degraded", "down", "maintenance"]
Instant = Annotated[
    str,
    StringConstraints(
        max_length=40,
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$",
    ),
]


class EnvironmentIn(StrictEdgeModel):
    """A new environment: its id (e.g. `staging-eu`), configuration (key/values) and status."""

    env_id: EnvId
    name: Name | None = None
    description: Text | None = None
    status: Status = "available"
    configuration: dict[ConfigKey, ConfigValue] = Field(default_factory=dict, max_length=200)


class EnvironmentChange(StrictEdgeModel):
    """A change of an environment: the fields given replace the stored ones (`configuration`
    whole). Every change that changes something is a new revision with its snapshot."""

    name: Name | None = None
    description: Text | None = None
    status: Status | None = None
    configuration: dict[ConfigKey, ConfigValue] | None = Field(default=None, max_length=200)


class ReservationIn(StrictEdgeModel):
    """A booking of [from, to): ISO-8601 date-times with a time zone."""

    start: Instant = Field(alias="from")
    end: Instant = Field(alias="to")
    purpose: Text | None = None
    run_id: Name | None = None
