"""The change stream's reader side: stream records become change events (`domain.changes`),
handed to every registered reader in order. Readers are idempotent on the event id: the stream
delivers at least once, and a failed batch is retried from its first failed record."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from chalicelib.domain.changes import ChangeEvent, from_images


class ChangeReader(Protocol):
    """Something kept up to date from the change stream (metrics, exports, audit)."""

    name: str

    def apply(self, events: Sequence[ChangeEvent]) -> None: ...


class CountingReader:
    """Counts events by kind as a metric: proof of life for the stream, and its volume."""

    name = "count"

    def __init__(self, count: Callable[[str, int], None]) -> None:
        self._count = count

    def apply(self, events: Sequence[ChangeEvent]) -> None:
        kinds: dict[str, int] = {}
        for event in events:
            kinds[event.kind] = kinds.get(event.kind, 0) + 1
        for kind, n in kinds.items():
            self._count("ChangeEvents." + kind, n)


class ChangeFeed:
    def __init__(self, readers: Iterable[ChangeReader]) -> None:
        self.readers = list(readers)

    def events_of(
        self, entity: str, old: dict | None, new: dict | None, write_id: str = ""
    ) -> list[ChangeEvent]:
        return from_images(entity, old, new, write_id)

    def deliver(self, events: Sequence[ChangeEvent]) -> None:
        """Every reader gets the events in stream order. A reader that raises fails the record,
        and the stream delivers it (and what follows) again."""
        if not events:
            return
        for reader in self.readers:
            reader.apply(events)
