"""Statuses of results, tickets and scenarios, and the rules that relate them (the README's status
table; every move is in `chalicelib.domain.lifecycle`)."""

from __future__ import annotations

from enum import StrEnum


class ResultStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"


class TicketStatus(StrEnum):
    DRAFT = "draft"
    REJECTED = "rejected"
    MERGED = "merged"
    EXPIRED = "expired"
    APPROVED = "approved"
    JIRA_PENDING = "jira_pending"
    JIRA_FAILED = "jira_failed"
    OPEN = "open"
    DEFERRED = "deferred"
    BLOCKED = "blocked"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    VERIFIED = "verified"
    CLOSED = "closed"


class ScenarioStatus(StrEnum):
    PASSED = "passed"
    FAILING = "failing"
    DEFECT_OPEN = "defect_open"
    READY_FOR_RETEST = "ready_for_retest"


ENDED_TICKET_STATUSES = frozenset(
    {
        TicketStatus.REJECTED,
        TicketStatus.MERGED,
        TicketStatus.EXPIRED,
        TicketStatus.VERIFIED,
        TicketStatus.CLOSED,
    }
)
LIVE_TICKET_STATUSES = frozenset(set(TicketStatus) - ENDED_TICKET_STATUSES)
# Statuses in which a lead has confirmed the defect: the scenario shows `defect_open`.
APPROVED_TICKET_STATUSES = LIVE_TICKET_STATUSES - {TicketStatus.DRAFT}


def is_live(status: str) -> bool:
    return TicketStatus(status) in LIVE_TICKET_STATUSES


def scenario_status(last_result: str | None, live_ticket_status: str | None) -> ScenarioStatus:
    """Derived, never stored: the scenario's last result and its live ticket decide it."""
    if live_ticket_status == TicketStatus.RESOLVED.value:
        return ScenarioStatus.READY_FOR_RETEST
    if live_ticket_status and TicketStatus(live_ticket_status) in APPROVED_TICKET_STATUSES:
        return ScenarioStatus.DEFECT_OPEN
    if last_result == ResultStatus.FAILED.value:
        return ScenarioStatus.FAILING
    return ScenarioStatus.PASSED


class PlanStatus(StrEnum):
    """A test plan's lifecycle (`chalicelib.domain.plans.MOVES` is its table of moves)."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ACTIVE = "active"
    CLOSED = "closed"


class DefectClass(StrEnum):
    """Where a defect (a ticket a lead approved or linked) stands, for the metrics: its ticket
    status's class (`chalicelib.domain.metrics.defect_class`)."""

    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


class StoryBucket(StrEnum):
    """Where a story of a release or sprint stands (`chalicelib.domain.requirements`)."""

    FULLY_TESTED = "fullyTested"
    WITH_OPEN_DEFECTS = "withOpenDefects"
    FAILING = "failing"
    NOT_RUN = "notRun"
    UNTESTED = "untested"


class TestCaseStatus(StrEnum):
    """A test case's own status (not its last result)."""

    DRAFT = "draft"
    ACTIVE = "active"
    DEPRECATED = "deprecated"


class UploadStatus(StrEnum):
    """A report upload (`POST /uploads`): waits for its file, is split, then processed."""

    WAITING_FOR_UPLOAD = "waiting_for_upload"
    SPLITTING = "splitting"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class ImportStatus(StrEnum):
    """A test-case import: waits for its file, is validated, then written (or not)."""

    WAITING_FOR_UPLOAD = "waiting_for_upload"
    VALIDATING = "validating"
    INVALID = "invalid"
    VALIDATED = "validated"
    WRITING = "writing"
    COMPLETED = "completed"
    FAILED = "failed"


class ExportJobStatus(StrEnum):
    """An export requested on demand (`POST .../exports`)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ClusterStatus(StrEnum):
    """A failure cluster: open until a lead decides it (`chalicelib.domain.clusters`)."""

    OPEN = "open"
    DECIDED = "decided"


class RunStatus(StrEnum):
    """A planned run: open until every test case has a result, or until closed on request."""

    OPEN = "open"
    CLOSED = "closed"
