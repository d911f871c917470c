"""Requirements and stories (a Jira story, or an id of the project's own), what covers them, and
how a release or sprint reads story by story.

A requirement's links to its test cases each carry the test case's last result, overall and per
release or sprint the run named (`in`: `{"release:2.4.0": {"status", "at"}}`), kept up to date as
results arrive, so the views read stored rows and compute nothing over executions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.record import Record
from chalicelib.domain.statuses import APPROVED_TICKET_STATUSES, ResultStatus, StoryBucket
from chalicelib.domain.text import WHITESPACE

# One pattern for every regex engine alike (`domain.text.WHITESPACE`): no whitespace, no control
# characters (C0, DEL, C1), none of the separators a list of ids uses.
REQUIREMENT_ID_PATTERN = rf"^[^{WHITESPACE}\x00-\x1f\x7f-\x9f,;#!\"]{{1,200}}$"
REQUIREMENT_ID = re.compile(REQUIREMENT_ID_PATTERN)
SCOPES = ("release", "sprint")
# Ticket statuses that are an open defect: approved and not yet verified or closed.
OPEN_DEFECT_STATUSES = APPROVED_TICKET_STATUSES
BUCKETS = tuple(b.value for b in StoryBucket)


def scope_key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


@dataclass
class Requirement(Record):
    project: str
    requirement_id: str
    title: str | None = None
    status: str | None = None
    source: str = "local"  # "jira" when synced from a Jira story
    fix_versions: list[str] = field(default_factory=list)
    sprints: list[str] = field(default_factory=list)
    description: str | None = None
    jira_updated: str | None = None
    updated_at: str | None = None
    other: dict[str, Any] = field(default_factory=dict)


@dataclass
class CoverageLink(Record):
    """A requirement covered by a test case, with the test case's last results."""

    project: str
    requirement_id: str
    test_case_id: str
    status: str | None = None
    at: str | None = None
    version: int | None = None
    scenario_id: str | None = None
    in_: dict[str, dict[str, Any]] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CoverageLink:
        data = dict(data)
        scoped = data.pop("in", None) or {}
        link = super().from_dict(data)
        link.in_ = dict(scoped)
        return link

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["in"] = out.pop("in_", {})
        return out


def coverage_of(links: list[CoverageLink]) -> str:
    """`complete`: every test case's last result passed; `partial`: test cases, not all passed
    (or not all run); `none`: no test case."""
    if not links:
        return "none"
    return "complete" if all(link.status == ResultStatus.PASSED for link in links) else "partial"


def last_tested(links: list[CoverageLink]) -> str | None:
    dates = [link.at for link in links if link.at]
    return max(dates)[:10] if dates else None


def story_bucket(
    links: list[CoverageLink], scope: str, defects: dict[str, list[dict[str, Any]]]
) -> str:
    """Where a story of a release or sprint stands: untested (no test case), withOpenDefects
    (a test case has an approved, unverified defect), notRun (a test case has not run in this
    release/sprint), failing (its last run here did not pass, no defect approved yet), or
    fullyTested (every test case's last run here passed)."""
    if not links:
        return StoryBucket.UNTESTED
    if any(defects.get(link.test_case_id) for link in links):
        return StoryBucket.WITH_OPEN_DEFECTS
    results = [(link.in_.get(scope) or {}).get("status") for link in links]
    if any(r is None for r in results):
        return StoryBucket.NOT_RUN
    if all(r == ResultStatus.PASSED for r in results):
        return StoryBucket.FULLY_TESTED
    return StoryBucket.FAILING
