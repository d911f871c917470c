"""Port of the audit log: entries appended by the change stream's audit reader, read by
period and actor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class AuditLog(Protocol):
    def append(self, entries: Sequence[dict[str, Any]]) -> None: ...

    def read(
        self,
        project: str,
        start: str,
        end: str,
        actor: str | None,
        limit: int,
        cursor: dict[str, Any] | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
