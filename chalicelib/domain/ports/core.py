"""The ports every other port file uses: clocks, counters, cursors."""

from __future__ import annotations

from typing import Any, Protocol

Cursor = dict[str, Any]
TransactItem = dict[str, Any]  # built by one repository, carried by a service to another


class Clock(Protocol):
    def __call__(self) -> str: ...


class Counter(Protocol):
    def __call__(self, name: str, value: int = 1) -> None: ...


class Cursors(Protocol):
    """Paging: a storage position to an opaque cursor string for clients, and back (a cursor
    that is not ours is a 400 naming `field`)."""

    def encode(self, key: Cursor | None) -> str | None: ...

    def decode(self, cursor: str | None, field: str = "cursor") -> Cursor | None: ...
