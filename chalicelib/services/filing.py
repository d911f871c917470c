"""Filing one report's failures into tickets, one scenario at a time: join the scenario's live
ticket, reopen its recently ended one (a regression), or open a new draft — racing other
reports safely (conditional transactions; the loser re-reads and tries again)."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain import lifecycle
from chalicelib.domain.conflicts import (
    DraftAlreadyOpen,
    DuplicateExecutions,
    TicketNotLive,
    TransactionConflict,
)
from chalicelib.domain.executions import Execution
from chalicelib.domain.lifecycle import Cause
from chalicelib.domain.results import draft_fields
from chalicelib.domain.scenarios import Scenario
from chalicelib.domain.statuses import ResultStatus, TicketStatus, is_live
from chalicelib.domain.tasks import TaskType
from chalicelib.domain.tickets import HistoryEntry, Ticket
from chalicelib.errors import NotFound
from chalicelib.ids import new_id
from chalicelib.models import ResultIn, RunIn

if TYPE_CHECKING:
    from chalicelib.services.ingest import ResultsService

# A transaction holds 100 items: the scenario, the ticket, the run, 48 occurrences and their
# test cases' latest results (issue #9: they ride the filing transaction).
DRAFT_CHUNK = 48
# A trace longer than this lives in S3 (`traces/...`); the item keeps its first TRACE_PREVIEW
# characters and the object's key. 97 inline traces of 8 KB stay inside a transaction's 4 MB,
# and a page of 200 occurrences inside the API's 6 MB.
TRACE_INLINE_BYTES = 8 * 1024
TRACE_PREVIEW = 2000
MAX_ATTEMPTS = 12  # lost races and transaction conflicts on a hot scenario


class Report:
    """One report being recorded: its results, their execution ids and what each became."""

    def __init__(
        self,
        service: ResultsService,
        project: dict[str, Any],
        run: RunIn,
        results: Sequence[ResultIn],
        ids: list[str],
        flaky: set[int],
        at: str,
        reported_by: str,
        run_item: dict[str, Any] | None,
    ) -> None:
        self.s = service
        self.project = project
        self.key: str = project["key"]
        self.run = run
        self.results = results
        self.ids = ids
        self.flaky = flaky
        self.at = at
        self.reported_by = reported_by
        self.run_item = run_item  # written with the first transaction, saving a call
        self._trace_keys: dict[int, str] = {}  # traces stored in S3 already (retries reuse)
        self._signatures: dict[int, dict[str, Any]] = {}
        self.clusters: dict[str, Any] = {}  # the project's clusters, read once per report
        self.versions: dict[str, int] = {}  # test case -> the version that ran
        self.muted: dict[int, str] = {}  # failures that open nothing: flaky, quarantined
        self.outage = False  # most of the report failed: not evidence of flakiness
        # results whose execution's write also stores its test case's latest result (the
        # scenario's touch found the report not late)
        self.latest: set[int] = set()
        self.outcomes: list[dict[str, Any]] = [
            {"executionId": ids[i], "ticket": None, **({"flaky": True} if i in flaky else {})}
            for i in range(len(results))
        ]

    def reporter(self, i: int) -> str:
        return self.results[i].reporter or self.reported_by

    def take_run_item(self) -> list[dict[str, Any]]:
        """The run, for the write about to be tried to carry (it rides along once)."""
        return [self.run_item] if self.run_item is not None else []

    def execution(self, i: int, ticket_id: str | None, *, flaky: bool = False) -> Execution:
        r = self.results[i]
        return Execution(
            execution_id=self.ids[i],
            project=self.key,
            run_id=self.run.id,
            scenario_id=r.scenario_id,
            test_case_id=r.test_case_id,
            test_case_version=self.versions.get(r.test_case_id),
            attempt=r.attempt,
            status=r.status.value,
            reporter=self.reporter(i),
            at=self.at,
            duration_ms=r.duration_ms,
            actual=r.actual,
            error=self.error(i),
            report_url=r.report_url,
            run_name=self.run.name,
            ci_url=self.run.ci_url,
            environment=self.run.environment,
            release=self.run.release,
            sprint=self.run.sprint,
            evidence=[
                e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in r.evidence
            ]
            or None,
            ticket_id=ticket_id,
            flaky=True if flaky or self.muted.get(i) == "flaky" else None,
            muted=self.muted.get(i),
            commit=self.run.commit,
            outage=True if self.outage else None,
            # the JUnit facts its identity was derived from (`reidentify` reads them)
            source=r.source.model_dump(mode="json", exclude_none=True) if r.source else None,
            module=r.module_name,
            requirements=list(r.requirements) or None,
            signature=self.signature(i),
            latest=True if i in self.latest else None,
        )

    def signature(self, i: int) -> dict[str, Any] | None:
        """A failure's root-cause signature (from its whole trace, before any is moved to S3)."""
        r = self.results[i]
        if r.status.value != ResultStatus.FAILED:
            return None
        if i not in self._signatures:
            # imported here: its patterns are compiled only when a report has a failure
            from chalicelib.domain.signatures import signature_of

            error = r.error.model_dump(mode="json", exclude_none=True) if r.error else None
            self._signatures[i] = signature_of(error, r.actual).to_dict()
        return self._signatures[i]

    def error(self, i: int) -> dict[str, Any] | None:
        """The result's error as stored: a long trace goes to S3, once, under a key derived
        from the execution id (a retried report writes the same object again)."""
        r = self.results[i]
        if r.error is None:
            return None
        error = r.error.model_dump(mode="json", by_alias=True, exclude_none=True)
        trace = error.get("trace") or ""
        blobs = self.s.blobs
        if blobs is None or len(trace) <= TRACE_INLINE_BYTES // 4:  # short in any encoding
            return error
        data = trace.encode()
        if len(data) <= TRACE_INLINE_BYTES:
            return error
        key = self._trace_keys.get(i)
        if key is None:
            key = f"traces/{self.key}/{self.ids[i]}.txt"
            blobs.put(key, data, "text/plain; charset=utf-8")
            self._trace_keys[i] = key
        return {**error, "trace": trace[:TRACE_PREVIEW], "traceKey": key, "traceBytes": len(data)}

    def settle(self, indexes: list[int], ticket_id: str, status: str, *, opened: bool) -> None:
        for n, i in enumerate(indexes):
            merged = not (opened and n == 0)
            self.outcomes[i]["ticket"] = {"id": ticket_id, "status": status, "merged": merged}


def file_failures(report: Report, failures: list[int], scenario: Scenario) -> str | None:
    """File failures of one scenario; returns the ticket they went to."""
    for start in range(0, len(failures), DRAFT_CHUNK):
        scenario = _file_chunk(report, failures[start : start + DRAFT_CHUNK], scenario)
    return scenario.live_ticket_id


def _file_chunk(report: Report, chunk: list[int], scenario: Scenario) -> Scenario:
    stores = report.s.stores
    remaining = list(chunk)
    scenario_id = report.results[chunk[0]].scenario_id
    stale: str | None = None
    for attempt in range(MAX_ATTEMPTS):
        live_id = scenario.live_ticket_id
        if live_id and live_id == stale:
            live_id = None  # it pointed at a ticket that has ended: open a new draft
        try:
            if live_id:
                return _join(report, remaining, scenario, live_id)
            regressed = None if stale else _regression_of(report, scenario)
            if regressed is not None:
                return _reopen(report, regressed, remaining, scenario)
            joined = None if stale else _join_root_cause(report, remaining, scenario)
            if joined is not None:
                return joined
            return _open(report, remaining, scenario, stale)
        except DuplicateExecutions as dup:
            remaining = _settle_recorded(report, remaining, set(dup.execution_ids))
            if not remaining:
                return scenario
        except TicketNotLive:
            stale = live_id
            scenario = _reread(report, scenario_id)
        except DraftAlreadyOpen:
            scenario = _reread(report, scenario_id)
        except TransactionConflict:
            time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
    raise RuntimeError(f"could not file failures of scenario {stores and scenario_id}")


def _reread(report: Report, scenario_id: str) -> Scenario:
    found = report.s.stores.scenarios.get(report.key, scenario_id, consistent=True)
    return found or Scenario(project=report.key, scenario_id=scenario_id)


def _join(report: Report, failures: list[int], scenario: Scenario, live_id: str) -> Scenario:
    """The failures become occurrences of the scenario's live ticket."""
    executions = [report.execution(i, live_id) for i in failures]
    reporters = {report.reporter(i) for i in failures}
    report.s.stores.filing.add_occurrences(
        live_id, executions, reporters, report.at, report.take_run_item()
    )
    report.run_item = None
    status = scenario.live_ticket_status or TicketStatus.DRAFT.value
    report.settle(failures, live_id, status, opened=False)
    report.s.count("OccurrencesMerged", len(failures))
    return scenario


def _join_root_cause(report: Report, failures: list[int], scenario: Scenario) -> Scenario | None:
    """A failure whose root cause was approved as one issue within the cluster's window is an
    occurrence of that issue's ticket, not a new draft (None: it was not, or the ticket ended)."""
    primary_id = report.s.approved_as(report, failures[0])
    if primary_id is None:
        return None
    try:
        primary = report.s.stores.tickets.get(primary_id)
    except NotFound:
        return None
    if not is_live(primary.status):
        return None  # its issue ended: a new draft (marked new since that decision)
    executions = [report.execution(i, primary_id) for i in failures]
    reporters = {report.reporter(i) for i in failures}
    try:
        report.s.stores.filing.add_occurrences(
            primary_id, executions, reporters, report.at, report.take_run_item()
        )
    except TicketNotLive:
        return None
    report.run_item = None
    report.settle(failures, primary_id, primary.status, opened=False)
    report.s.count("RootCauseOccurrences", len(failures))
    return scenario


def _open(report: Report, failures: list[int], scenario: Scenario, stale: str | None) -> Scenario:
    """A new draft, pre-filled from the first failure, as the scenario's live ticket."""
    ticket = _new_draft(report, new_id("tk"), failures)
    if scenario.last_ended_ticket_id:
        ticket.regression_of = scenario.last_ended_ticket_id
    ticket.last_change = lifecycle.opened(ticket).to_dict()
    report.s.reserve_cluster(report, ticket)  # the draft's item carries its cluster
    executions = [report.execution(i, ticket.id) for i in failures]
    executions[0].opened_ticket = True
    report.s.stores.filing.open_draft(
        ticket, executions, replacing=stale, runs=report.take_run_item()
    )
    report.run_item = None
    report.s.count("DraftsOpened")
    if len(failures) > 1:
        report.s.count("OccurrencesMerged", len(failures) - 1)
    report.settle(failures, ticket.id, TicketStatus.DRAFT.value, opened=True)
    report.s.place_in_cluster(report, ticket)  # before the lead is asked
    report.s.start_workflow(report.project, ticket)
    scenario.live_ticket_id, scenario.live_ticket_status = ticket.id, TicketStatus.DRAFT.value
    return scenario


def _regression_of(report: Report, scenario: Scenario) -> Ticket | None:
    """The scenario's verified or closed ticket, if it ended within the regression window."""
    ended = scenario.last_ended_ticket_id
    if not ended or scenario.last_ended_status not in (
        TicketStatus.VERIFIED,
        TicketStatus.CLOSED,
    ):
        return None
    window = float(report.project.get("regressionWindowDays", report.s.window_days))
    ended_at = datetime.fromisoformat(str(scenario.last_ended_at).replace("Z", "+00:00"))
    now = datetime.fromisoformat(report.at.replace("Z", "+00:00"))
    if (now - ended_at).total_seconds() > window * 86400:
        return None
    return report.s.stores.tickets.get(ended)


def _reopen(report: Report, ticket: Ticket, failures: list[int], scenario: Scenario) -> Scenario:
    """A regression within the window: the old ticket comes back, reopened, in Jira too."""
    first = report.results[failures[0]]
    done = lifecycle.move(
        ticket,
        Cause.REGRESSION,
        TicketStatus.REOPENED,
        by=report.reporter(failures[0]),
        reason=f"regression: {first.test_case_id} failed again in run {report.run.id} "
        f"after the ticket was {ticket.status}",
        at=report.at,
    )
    executions = [report.execution(i, ticket.id) for i in failures]
    reporters = {report.reporter(i) for i in failures}
    try:
        report.s.stores.filing.reopen_ended(
            ticket, done, executions, reporters, report.take_run_item()
        )
    except TicketNotLive:
        raise DraftAlreadyOpen() from None  # re-read the scenario and file again
    report.run_item = None
    report.settle(failures, ticket.id, TicketStatus.REOPENED.value, opened=False)
    report.s.count("Regressions")
    reopened = ticket.times_reopened() + 1
    report.s.workflow.start(
        f"{ticket.id}-reopened-{reopened}", {"ticketId": ticket.id, "resume": True}
    )
    report.s.tell_jira({"type": TaskType.REGRESSION_REOPENED.value, "ticketId": ticket.id})
    scenario.live_ticket_id, scenario.live_ticket_status = ticket.id, TicketStatus.REOPENED.value
    return scenario


def _new_draft(report: Report, ticket_id: str, failures: list[int]) -> Ticket:
    first = report.results[failures[0]]
    at = report.at
    return Ticket.from_dict(
        {
            "id": ticket_id,
            "project": report.key,
            "status": TicketStatus.DRAFT.value,
            **draft_fields(first, report.run),
            "error": report.error(failures[0]),
            "signature": report.signature(failures[0]),
            "testCaseVersion": report.versions.get(first.test_case_id),
            "reporters": sorted({report.reporter(i) for i in failures}),
            "occurrences": len(failures),
            "createdAt": at,
            "updatedAt": at,
            "firstSeenAt": at,
            "lastSeenAt": at,
            "history": [
                HistoryEntry(
                    at=at,
                    status=TicketStatus.DRAFT.value,
                    by=report.reporter(failures[0]),
                    reason=f"{first.test_case_id} failed in run {report.run.id}",
                )
            ],
        }
    )


def _settle_recorded(report: Report, remaining: list[int], recorded: set[str]) -> list[int]:
    """Results of a retried report: answer with the ticket they were filed under before."""
    stores = report.s.stores
    done = [i for i in remaining if report.ids[i] in recorded]
    cases = [(report.results[i].test_case_id, report.results[i].attempt) for i in done]
    by_id = {
        e.execution_id: e for e in stores.executions.get_many(report.key, report.run.id, cases)
    }
    tickets: dict[str, Ticket] = {}
    for i in done:
        execution = by_id.get(report.ids[i])
        if execution is None or not execution.ticket_id:
            continue
        ticket_id = execution.ticket_id
        if ticket_id not in tickets:
            tickets[ticket_id] = stores.tickets.get(ticket_id)
            if tickets[ticket_id].is_draft:
                report.s.place_in_cluster(report, tickets[ticket_id])
                report.s.start_workflow(
                    report.project, tickets[ticket_id]
                )  # the first try may have died here
        report.outcomes[i]["ticket"] = {
            "id": ticket_id,
            "status": tickets[ticket_id].status,
            "merged": not execution.opened_ticket,
        }
    return [i for i in remaining if report.ids[i] not in recorded]
