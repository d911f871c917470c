"""Flaky test cases across runs, and quarantines: pure rules, no storage.

A test case's recent outcomes are a short list of entries, oldest first (`Outcome`), kept per
test case by the change stream's flaky reader. The score looks at the last `window` of them that
did not come from an outage (a report where more than `outage_share` of at least
`OUTAGE_MIN_RESULTS` results failed: a dead database fails everything at once, which says
nothing about any one test):

- flip rate: how often the outcome changed from one execution to the next (flips / (n - 1));
  flaky when at least `min_executions` outcomes are known, the rate reaches `threshold` and
  there are at least MIN_FLIPS flips (a test broken once and fixed flips twice);
- pass on retry: a failure and a pass of the same code (the same commit, or the same run when
  the run names no commit) is flaky at once, however few executions are known.

A genuinely broken test fails every time (no flips); a fixed one flips once; neither is flaky.
A flaky test's failures are recorded but open no draft; so are a quarantined scenario's, until
its quarantine ends (compared with the clock when read: nothing has to run to end it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from chalicelib.domain.statuses import ResultStatus as R

DEFAULT_WINDOW = 20
DEFAULT_THRESHOLD = 0.15
DEFAULT_MIN_EXECUTIONS = 10
DEFAULT_OUTAGE_SHARE = 0.3
OUTAGE_MIN_RESULTS = 10  # a report smaller than this is never judged an outage
MIN_FLIPS = 3  # broken then fixed is two flips; a flake fails, passes and fails again
MAX_WINDOW = 100
KEEP_FACTOR = 2  # entries kept per test case: 2 x window (outage entries take room too)
MAX_QUARANTINE_DAYS = 180
MAX_REASON = 500

PASSED, FAILED = "P", "F"
MUTED_FLAKY = "flaky"
MUTED_QUARANTINE = "quarantined"

# API name -> (project attribute, settings field, lowest, highest)
SETTINGS: dict[str, tuple[str, str, float, float]] = {
    "window": ("flakyWindow", "window", 4, MAX_WINDOW),
    "threshold": ("flakyThreshold", "threshold", 0.01, 1.0),
    "minExecutions": ("flakyMinExecutions", "min_executions", 2, MAX_WINDOW),
    "outageShare": ("flakyOutageShare", "outage_share", 0.01, 1.0),
}
WHOLE = ("window", "minExecutions")


@dataclass(frozen=True)
class FlakySettings:
    """A project's flaky detection settings (its `flaky*` attributes, else the defaults)."""

    window: int = DEFAULT_WINDOW
    threshold: float = DEFAULT_THRESHOLD
    min_executions: int = DEFAULT_MIN_EXECUTIONS
    outage_share: float = DEFAULT_OUTAGE_SHARE

    @classmethod
    def of_project(cls, project: Mapping[str, Any]) -> FlakySettings:
        values: dict[str, Any] = {}
        for api, (attribute, name, _, _) in SETTINGS.items():
            if project.get(attribute) is not None:
                value = float(project[attribute])
                values[name] = int(value) if api in WHOLE else value
        return cls(**values)

    @property
    def keep(self) -> int:
        return self.window * KEEP_FACTOR

    def view(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "threshold": self.threshold,
            "minExecutions": self.min_executions,
            "outageShare": self.outage_share,
            "outageMinResults": OUTAGE_MIN_RESULTS,
        }


def setting_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, problem) for each setting (API names) out of its range."""
    problems = []
    for api, (_, _, low, high) in SETTINGS.items():
        value = values.get(api)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append((api, "must be a number"))
        elif not low <= value <= high:
            problems.append((api, f"must be from {low:g} to {high:g}"))
        elif api in WHOLE and int(value) != value:
            problems.append((api, "must be a whole number"))
    window, least = values.get("window"), values.get("minExecutions")
    if not problems and window is not None and least is not None and least > window:
        problems.append(("minExecutions", f"must be at most the window ({window:g})"))
    return problems


def settings_attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """The project attributes that hold these settings (API names in)."""
    return {SETTINGS[api][0]: values[api] for api in SETTINGS if values.get(api) is not None}


@dataclass(frozen=True)
class Outcome:
    """One execution of a test case as its history keeps it (compact keys when stored)."""

    run: str
    attempt: int
    at: str
    passed: bool
    commit: str | None = None
    outage: bool = False

    def stored(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "r": self.run,
            "a": self.attempt,
            "t": self.at,
            "s": PASSED if self.passed else FAILED,
        }
        if self.commit:
            out["c"] = self.commit
        if self.outage:
            out["x"] = 1
        return out

    @classmethod
    def of_stored(cls, item: Mapping[str, Any]) -> Outcome:
        return cls(
            run=str(item["r"]),
            attempt=int(item.get("a", 1)),
            at=str(item.get("t", "")),
            passed=item.get("s") == PASSED,
            commit=str(item["c"]) if item.get("c") else None,
            outage=bool(item.get("x")),
        )

    @property
    def key(self) -> tuple[str, int]:
        return (self.run, self.attempt)

    @property
    def code(self) -> str:
        """What identifies the code that ran: the commit, else the run."""
        return f"commit:{self.commit}" if self.commit else f"run:{self.run}"

    def view(self) -> dict[str, Any]:
        return {
            "runId": self.run,
            "attempt": self.attempt,
            "at": self.at,
            "status": R.PASSED if self.passed else R.FAILED,
            **({"commit": self.commit} if self.commit else {}),
            **({"outage": True} if self.outage else {}),
        }


def merged(history: Iterable[Outcome], new: Iterable[Outcome], keep: int) -> list[Outcome]:
    """The history with new outcomes added (a redelivered one replaces itself), oldest first,
    bounded to the last `keep`."""
    by_key = {o.key: o for o in history}
    for o in new:
        by_key[o.key] = o
    ordered = sorted(by_key.values(), key=lambda o: (o.at, o.run, o.attempt))
    return ordered[-keep:] if keep > 0 else []


@dataclass(frozen=True)
class FlakyScore:
    flaky: bool
    flip_rate: float
    flips: int
    considered: int  # outcomes in the window (outages excluded)
    retry_flip: bool  # failed and passed on the same code
    failures: int

    def view(self) -> dict[str, Any]:
        return {
            "flaky": self.flaky,
            "flipRate": round(self.flip_rate, 4),
            "flips": self.flips,
            "executions": self.considered,
            "failures": self.failures,
            "passOnRetry": self.retry_flip,
        }


def score(history: Sequence[Outcome], settings: FlakySettings) -> FlakyScore:
    """The test case's score over its last `window` outcomes outside outages."""
    window = [o for o in history if not o.outage][-settings.window :]
    flips = sum(1 for a, b in pairwise(window) if a.passed != b.passed)
    rate = flips / (len(window) - 1) if len(window) > 1 else 0.0
    by_code: dict[str, set[bool]] = {}
    for o in window:
        by_code.setdefault(o.code, set()).add(o.passed)
    retry_flip = any(len(seen) == 2 for seen in by_code.values())
    by_rate = (
        len(window) >= settings.min_executions
        and flips >= MIN_FLIPS
        and rate >= settings.threshold - 1e-9
    )
    return FlakyScore(
        flaky=by_rate or retry_flip,
        flip_rate=rate,
        flips=flips,
        considered=len(window),
        retry_flip=retry_flip,
        failures=sum(1 for o in window if not o.passed),
    )


def is_outage(passed: int, failed: int, settings: FlakySettings) -> bool:
    """A report that failed wholesale: more than `outage_share` of at least
    OUTAGE_MIN_RESULTS passed-or-failed results failed."""
    total = passed + failed
    return total >= OUTAGE_MIN_RESULTS and failed / total > settings.outage_share


# -- quarantine ---------------------------------------------------------------------------------


def parse_instant(value: str) -> datetime | None:
    """An ISO-8601 date-time with a zone (`Z` or an offset), in UTC; None if it is not one."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, AttributeError, OverflowError):
        return None


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def quarantine_problems(until: str | None, reason: str | None, now: str) -> list[tuple[str, str]]:
    """(field, problem) of a quarantine request; `now` is an ISO instant."""
    problems = []
    when = parse_instant(until) if isinstance(until, str) else None
    current = parse_instant(now)
    assert current is not None
    if when is None:
        problems.append(
            ("until", "must be an ISO-8601 date-time with a zone, e.g. 2026-01-31T00:00:00Z")
        )
    elif when <= current:
        problems.append(("until", "must be in the future"))
    elif when > current + timedelta(days=MAX_QUARANTINE_DAYS):
        problems.append(("until", f"must be within {MAX_QUARANTINE_DAYS} days"))
    if not isinstance(reason, str) or not reason.strip():
        problems.append(("reason", "is required"))
    elif len(reason) > MAX_REASON:
        problems.append(("reason", f"must be at most {MAX_REASON} characters"))
    return problems


def quarantine_active(quarantine: Mapping[str, Any] | None, now: str) -> bool:
    """A quarantine mutes until its `until` (ISO strings in UTC compare as instants)."""
    if not quarantine or not quarantine.get("until"):
        return False
    until, current = parse_instant(str(quarantine["until"])), parse_instant(now)
    return until is not None and current is not None and current < until


def muted_reason(
    test_case_id: str,
    muted_cases: Iterable[str],
    quarantine_until: str | None,
    now: str,
    *,
    flaky_opens_draft: bool = False,
) -> str | None:
    """Why a failure opens nothing, from its scenario's marks (None: it files as usual)."""
    if quarantine_active({"until": quarantine_until}, now):
        return MUTED_QUARANTINE
    if not flaky_opens_draft and test_case_id in set(muted_cases):
        return MUTED_FLAKY
    return None


def report_is_outage(project: Mapping[str, Any], statuses: Iterable[str]) -> bool:
    """Whether a report (its results' statuses) failed wholesale, by the project's settings."""
    seen = list(statuses)
    return is_outage(seen.count(R.PASSED), seen.count(R.FAILED), FlakySettings.of_project(project))
