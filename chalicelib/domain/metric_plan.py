"""What applying change events writes (`Plan`) and where a contribution goes: every counter to
its day, ISO week and month (`domain.metrics` describes the buckets)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from chalicelib.domain.metric_figures import SHARDS, BucketKey

StateKey = tuple[str, ...]


@dataclass
class Plan:
    """What applying events writes: state items (key -> new value) and bucket deltas."""

    state: dict[StateKey, dict[str, Any]] = field(default_factory=dict)
    adds: dict[BucketKey, dict[str, float]] = field(default_factory=dict)
    appends: dict[BucketKey, dict[str, list[float]]] = field(default_factory=dict)
    members: dict[BucketKey, dict[str, set[str]]] = field(default_factory=dict)

    def add(self, bucket: BucketKey, name: str, value: float = 1) -> None:
        counters = self.adds.setdefault(bucket, {})
        counters[name] = counters.get(name, 0) + value

    def append(self, bucket: BucketKey, name: str, value: float) -> None:
        self.appends.setdefault(bucket, {}).setdefault(name, []).append(value)

    def member(self, bucket: BucketKey, name: str, value: str) -> None:
        self.members.setdefault(bucket, {}).setdefault(name, set()).add(value)

    def buckets(self) -> set[BucketKey]:
        return set(self.adds) | set(self.appends) | set(self.members)

    def merge(self, other: Plan) -> None:
        self.state.update(other.state)
        for bucket, counters in other.adds.items():
            for name, value in counters.items():
                self.add(bucket, name, value)
        for bucket, lists in other.appends.items():
            for name, values in lists.items():
                for v in values:
                    self.append(bucket, name, v)
        for bucket, sets in other.members.items():
            for name, members in sets.items():
                self.members.setdefault(bucket, {}).setdefault(name, set()).update(members)


def levels_of(day: str) -> list[tuple[str, str]]:
    """The blocks a day adds to: itself, its ISO week (its Monday) and its month."""
    monday = date.fromisoformat(day) - timedelta(days=date.fromisoformat(day).weekday())
    return [("day", day), ("week", monday.isoformat()), ("mon", day[:7])]


def shard_of(kind: str, ident: str) -> str:
    """The shard of a scenario's or requirement's counters: a stable hash of its id."""
    return str(zlib.crc32(ident.encode()) % SHARDS[kind])


def count(p: Plan, scope: str, day: str, name: str, value: float = 1) -> None:
    """A counter of the day, its week and its month."""
    for level, key in levels_of(day):
        p.add(("c", scope, level, key), name, value)


def listed(p: Plan, scope: str, day: str, name: str, value: float) -> None:
    for level, key in levels_of(day):
        p.append(("l", scope, level, key), name, value)


def count_entity(
    p: Plan, kind: str, scope: str, day: str, ident: str, name: str, value: float = 1
) -> None:
    """A scenario's (kind "scn") or requirement's ("req") counter, `{name}:{id}`."""
    shard = shard_of(kind, ident)
    for level, key in levels_of(day):
        p.add((kind, scope, level, key, shard), f"{name}:{ident}", value)


def add_member(p: Plan, kind: str, scope: str, day: str, ident: str, name: str) -> None:
    """A requirement (kind "req") in a set of the block's shard, `name` (`run`: run, not
    skipped): a set union, so the figure is the union over the period's blocks. An empty id
    (the edge refuses one) is no member: DynamoDB's sets hold no empty string."""
    if not ident:
        return
    shard = shard_of(kind, ident)
    for level, key in levels_of(day):
        p.member((kind, scope, level, key, shard), name, ident)


def count_trend(p: Plan, scope: str, day: str, name: str, value: float = 1) -> None:
    p.add(("trend", scope, day[:7]), f"{name}:{day[8:]}", value)
