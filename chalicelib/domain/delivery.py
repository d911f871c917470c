"""Delivering to an outside system (Jira, Slack) within a budget of time, not of attempts.

Throttling is never a failure: the wait is what the system asked for, and it does not spend the
budget. Outages (5xx, timeouts, connection errors) back off exponentially with full jitter up to a
cap, until `budget_seconds` have passed since the first failure; only then is the delivery given
up. The state of one delivery travels with its queue message (`Attempt`), so no queue limit
(maxReceiveCount, visibility) can end it earlier: each wait is a fresh message delayed by at most
SQS's 900 s, carrying when the first failure happened."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SQS_MAX_DELAY = 900


@dataclass(frozen=True)
class RetryPolicy:
    budget_seconds: float = 86_400.0
    base_seconds: float = 2.0
    cap_seconds: float = 900.0
    notice_after_seconds: float = 300.0  # a lead hears of a delay only once it is this long
    jitter: Callable[[float], float] = field(default=lambda top: random.uniform(0.0, top))

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [base, min(cap, base * 2**attempt)]."""
        top = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt))
        return max(self.base_seconds, self.jitter(top))


@dataclass(frozen=True)
class Attempt:
    """Where one delivery stands, carried in its message: how many tries, since when it has
    been delayed at all (any cause), since when it has been failing (outages only: the budget),
    and not before when it may try again (a wait longer than one SQS delay)."""

    number: int = 0
    delayed_since: float | None = None
    failing_since: float | None = None
    not_before: float | None = None

    @classmethod
    def of(cls, task: dict[str, Any]) -> Attempt:
        def num(name: str) -> float | None:
            value = task.get(name)
            return None if value is None else float(value)

        return cls(
            int(task.get("attempt", 0)),
            num("delayedSince"),
            num("failingSince"),
            num("notBefore"),
        )

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attempt": self.number}
        for name, value in (
            ("delayedSince", self.delayed_since),
            ("failingSince", self.failing_since),
            ("notBefore", self.not_before),
        ):
            if value is not None:
                out[name] = value
        return out

    def later(self, now: float, wait: float, *, failing: bool) -> Attempt:
        return Attempt(
            self.number + 1,
            self.delayed_since if self.delayed_since is not None else now,
            (self.failing_since if self.failing_since is not None else now)
            if failing
            else self.failing_since,
            now + wait,
        )

    def spent(self, now: float, policy: RetryPolicy) -> bool:
        return self.failing_since is not None and now - self.failing_since >= policy.budget_seconds

    def delayed_for(self, now: float) -> float:
        return 0.0 if self.delayed_since is None else now - self.delayed_since


class Later(Exception):
    """Deliver this again after `seconds`; `attempt` is what the next message carries."""

    def __init__(self, seconds: float, reason: str, attempt: Attempt) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason
        self.attempt = attempt


def redelivery(task: dict[str, Any], later: Later) -> tuple[dict[str, Any], int]:
    """The message that carries a delivery on after `later`, and its SQS delay (<= 900 s)."""
    body = {
        k: v
        for k, v in task.items()
        if k not in ("attempt", "delayedSince", "failingSince", "notBefore")
    }
    body.update(later.attempt.fields())
    seconds = max(0.0, later.seconds)
    return body, int(min(SQS_MAX_DELAY, -(-seconds // 1)))  # ceil: never early


@dataclass(frozen=True)
class CircuitState:
    """A Jira site as every container sees it (DynamoDB): consecutive failures, open until when
    (one probe is let through after that), throttled until when (Retry-After for the site)."""

    failures: int = 0
    open_until: float = 0.0
    throttled_until: float = 0.0
    since: float | None = None

    @property
    def closed(self) -> bool:
        return self.failures == 0 and self.open_until == 0 and self.throttled_until == 0
