"""Recording results: every result is an execution; failures open or join their scenario's draft."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from chalicelib.adapters.dynamo import (
    DraftAlreadyOpen,
    DuplicateExecutions,
    Store,
    TicketNotLive,
    TransactionConflict,
)
from chalicelib.clock import now_iso
from chalicelib.domain.results import draft_fields, flaky_indexes, group_by_scenario
from chalicelib.domain.statuses import ResultStatus, TicketStatus
from chalicelib.ids import execution_id, new_id
from chalicelib.models import ResultIn, RunIn

# A transaction holds 100 items: the scenario, the ticket, the run and 97 occurrences.
DRAFT_CHUNK = 97
MAX_ATTEMPTS = 12  # lost races and transaction conflicts on a hot scenario
DEFAULT_REMINDER_SECONDS = 24 * 3600  # a lead is reminded after a day without a decision
DEFAULT_DECISION_ROUNDS = 3  # ... and the draft expires after three such days


class Counter(Protocol):
    def __call__(self, name: str, value: int = 1) -> None: ...


class WorkflowPort(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> bool: ...


def _no_count(name: str, value: int = 1) -> None:
    return None


class ResultsService:
    def __init__(
        self,
        store: Store,
        workflow: WorkflowPort,
        *,
        count: Counter = _no_count,
        clock: Callable[[], str] = now_iso,
        tell_jira: Callable[[dict[str, Any]], None] | None = None,
        regression_window_days: float = 14.0,
    ) -> None:
        self._store = store
        self._workflow = workflow
        self._count = count
        self._clock = clock
        self._tell_jira = tell_jira or (lambda task: None)
        self._window_days = regression_window_days

    def record(
        self,
        project: dict[str, Any],
        run: RunIn,
        results: Sequence[ResultIn],
        *,
        reported_by: str,
    ) -> list[dict[str, Any]]:
        """Record a report's results; returns, per result, its execution and ticket (if any)."""
        at = self._clock()
        key = project["key"]
        results = _number_repeats(results)
        flaky = set() if project.get("flakyOpensDraft") else flaky_indexes(results)
        ids = [execution_id(key, run.id, r.test_case_id, r.attempt) for r in results]
        outcomes: list[dict[str, Any]] = [
            {"executionId": ids[i], "ticket": None, **({"flaky": True} if i in flaky else {})}
            for i in range(len(results))
        ]
        run_item = {
            "pk": f"RUN#{key}#{run.id}",
            "sk": "RUN",
            "project": key,
            **run.model_dump(mode="json", by_alias=True, exclude_none=True),
            "reportedAt": at,
        }
        plain: list[dict[str, Any]] = []
        filer = _Filer(self, project, run, results, ids, outcomes, at, reported_by, run_item)
        for batch in group_by_scenario(results, flaky):
            last = batch.last_index(results)
            latest = results[last]
            scenario = self._store.touch_scenario(
                key,
                batch.scenario_id,
                module=latest.module_name,
                title=latest.title or batch.scenario_id,
                test_case_ids={results[i].test_case_id for i in batch.indexes},
                last_result=latest.status.value,
                last_execution={
                    "executionId": ids[last],
                    "runId": run.id,
                    "testCaseId": latest.test_case_id,
                    "status": latest.status.value,
                    "at": at,
                },
                at=at,
            )
            if batch.failures:
                filed = filer.file(batch.failures, scenario)
                if (
                    filed
                    and scenario.get("liveTicketStatus") == TicketStatus.RESOLVED.value
                    and (filed == scenario.get("liveTicketId"))
                ):
                    self._retest(filer, batch.failures, filed, passed=False)
            elif scenario.get("liveTicketStatus") == TicketStatus.RESOLVED.value and (
                latest.status == ResultStatus.PASSED
            ):
                self._retest(filer, [last], scenario["liveTicketId"], passed=True)
            failures = set(batch.failures)
            plain.extend(
                Store.execution_item(filer.execution(i, None, flaky=i in flaky))
                for i in batch.indexes
                if i not in failures
            )
        if filer.run_item is not None:  # no transaction carried it
            plain.append(filer.run_item)
        self._store.batch_put(plain)
        self._count("ResultsIngested", len(results))
        if flaky:
            self._count("FlakyResults", len(flaky))
        return outcomes

    def start_workflow(self, project: dict[str, Any], ticket: dict[str, Any]) -> bool:
        """Start a draft's workflow (named after it: a repeated start is harmless)."""
        reminder = int(project.get("decisionReminderSeconds", DEFAULT_REMINDER_SECONDS))
        rounds = int(project.get("decisionRounds", DEFAULT_DECISION_ROUNDS))
        return self._workflow.start(
            ticket["id"],
            {
                "ticketId": ticket["id"],
                "project": ticket["project"],
                "module": ticket["module"],
                "scenarioId": ticket["scenarioId"],
                "resume": False,
                "round": 0,
                "reminderSeconds": reminder,
                "maxRounds": rounds,
                "deadline": int(time.time()) + reminder * rounds,
            },
        )

    def restart_stalled_drafts(self, older_than: str) -> int:
        """Drafts created before `older_than` whose workflow never asked for a decision (the
        start failed and the reporter did not retry): start it now. Runs on a schedule."""
        started = 0
        for project in self._store.list_projects():
            cursor = None
            while True:
                page, cursor = self._store.list_tickets(
                    project["key"],
                    status=TicketStatus.DRAFT.value,
                    module=None,
                    limit=100,
                    cursor=cursor,
                )
                for ticket in page:
                    if not ticket.get("workflowState") and ticket["createdAt"] < older_than:
                        started += int(self.start_workflow(project, ticket))
                if not cursor:
                    break
        return started

    def _retest(self, filer: _Filer, indexes: list[int], ticket_id: str, *, passed: bool) -> None:
        """The resolved ticket's scenario ran again: verified if it passed, reopened if not
        (the failures are its new occurrences). Jira hears of it through the Jira queue."""
        from chalicelib.errors import Conflict

        ticket = self._store.get_ticket(ticket_id)
        entry = _retest_entry(filer, indexes[-1], passed)
        try:
            self._store.transition(
                ticket,
                from_statuses=[TicketStatus.RESOLVED.value],
                to_status=entry["status"],
                entry=entry,
            )
        except Conflict:
            return  # someone else moved it first (a concurrent re-test, or Jira)
        for i in indexes:
            if filer.outcomes[i]["ticket"] is not None:
                filer.outcomes[i]["ticket"]["status"] = entry["status"]
            filer.outcomes[i]["retest"] = {"ticketId": ticket_id, "outcome": entry["status"]}
        self._count("RetestsPassed" if passed else "RetestsFailed")
        self._tell_jira(
            {"type": "retest_passed" if passed else "retest_failed", "ticketId": ticket_id}
        )


def _retest_entry(filer: _Filer, index: int, passed: bool) -> dict[str, Any]:
    r = filer.results[index]
    verdict = "passed" if passed else "failed"
    return {
        "at": filer.at,
        "status": (TicketStatus.VERIFIED if passed else TicketStatus.REOPENED).value,
        "by": filer.reporter(index),
        "reason": f"re-test {verdict}: {r.test_case_id} in run {filer.run.id}",
    }


def _number_repeats(results: Sequence[ResultIn]) -> list[ResultIn]:
    """A test case reported twice with the same attempt in one report is a rerun: number it."""
    seen: dict[str, set[int]] = {}
    out: list[ResultIn] = []
    for r in results:
        attempts = seen.setdefault(r.test_case_id, set())
        if r.attempt in attempts:
            r = r.model_copy(update={"attempt": max(attempts) + 1})
        attempts.add(r.attempt)
        out.append(r)
    return out


class _Filer:
    """Files the failures of one report into tickets, one scenario at a time."""

    def __init__(
        self,
        service: ResultsService,
        project: dict[str, Any],
        run: RunIn,
        results: Sequence[ResultIn],
        ids: list[str],
        outcomes: list[dict[str, Any]],
        at: str,
        reported_by: str,
        run_item: dict[str, Any] | None = None,
    ) -> None:
        self.s = service
        self.run_item = run_item  # written with the first transaction, saving a call
        self.project = project
        self.run = run
        self.results = results
        self.ids = ids
        self.outcomes = outcomes
        self.at = at
        self.reported_by = reported_by

    def reporter(self, i: int) -> str:
        return self.results[i].reporter or self.reported_by

    def execution(self, i: int, ticket_id: str | None, *, flaky: bool = False) -> dict[str, Any]:
        r = self.results[i]
        execution: dict[str, Any] = {
            "executionId": self.ids[i],
            "project": self.project["key"],
            "runId": self.run.id,
            "scenarioId": r.scenario_id,
            "testCaseId": r.test_case_id,
            "attempt": r.attempt,
            "status": r.status.value,
            "reporter": self.reporter(i),
            "at": self.at,
            "durationMs": r.duration_ms,
            "actual": r.actual,
            "error": r.error.model_dump(mode="json", exclude_none=True) if r.error else None,
            "reportUrl": r.report_url,
            "runName": self.run.name,
            "ciUrl": self.run.ci_url,
            "environment": self.run.environment,
            "evidence": [
                e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in r.evidence
            ]
            or None,
        }
        if r.source is not None:  # the JUnit facts its identity was derived from
            execution["source"] = r.source.model_dump(mode="json", exclude_none=True)
        if ticket_id:
            execution["ticketId"] = ticket_id
        if flaky:
            execution["flaky"] = True
        return execution

    def file(self, failures: list[int], scenario: dict[str, Any]) -> str | None:
        """File failures of one scenario; returns the ticket they went to."""
        for start in range(0, len(failures), DRAFT_CHUNK):
            scenario = self._file_chunk(failures[start : start + DRAFT_CHUNK], scenario)
        return scenario.get("liveTicketId")

    def _file_chunk(self, chunk: list[int], scenario: dict[str, Any]) -> dict[str, Any]:
        store = self.s._store
        key = self.project["key"]
        remaining = list(chunk)
        scenario_id = self.results[chunk[0]].scenario_id
        stale: str | None = None
        for attempt in range(MAX_ATTEMPTS):
            live_id = scenario.get("liveTicketId")
            if live_id and live_id == stale:
                live_id = None  # it pointed at a ticket that has ended: open a new draft
            ticket_id = live_id or new_id("tk")
            executions = [self.execution(i, ticket_id) for i in remaining]
            reporters = {self.reporter(i) for i in remaining}
            try:
                also = [self.run_item] if self.run_item else []
                if live_id:
                    store.add_occurrences(live_id, executions, reporters, self.at, also)
                    self.run_item = None
                    status = scenario.get("liveTicketStatus", TicketStatus.DRAFT.value)
                    self._settle(remaining, live_id, status, opened=False)
                    self.s._count("OccurrencesMerged", len(remaining))
                    return scenario
                regressed = None if stale else self._regression_of(scenario)
                if regressed is not None:
                    return self._reopen(regressed, remaining, reporters, scenario)
                ticket = self._new_draft(ticket_id, remaining, reporters)
                if scenario.get("lastEndedTicketId"):
                    ticket["regressionOf"] = scenario["lastEndedTicketId"]
                executions[0]["openedTicket"] = True
                store.open_draft(ticket, executions, replacing=stale, also_put=also)
                self.run_item = None
                self.s._count("DraftsOpened")
                if len(remaining) > 1:
                    self.s._count("OccurrencesMerged", len(remaining) - 1)
                self._settle(remaining, ticket_id, TicketStatus.DRAFT.value, opened=True)
                self._start_workflow(ticket)
                return {**scenario, "liveTicketId": ticket_id, "liveTicketStatus": "draft"}
            except DuplicateExecutions as dup:
                remaining = self._settle_recorded(remaining, set(dup.execution_ids))
                if not remaining:
                    return scenario
            except TicketNotLive:
                stale = live_id
                scenario = store.get_scenario(key, scenario_id, consistent=True) or {}
            except DraftAlreadyOpen:
                scenario = store.get_scenario(key, scenario_id, consistent=True) or {}
            except TransactionConflict:
                time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
        raise RuntimeError(f"could not file failures of scenario {scenario_id}")

    def _regression_of(self, scenario: dict[str, Any]) -> dict[str, Any] | None:
        """The scenario's verified or closed ticket, if it ended within the regression window."""
        from datetime import datetime

        ended = scenario.get("lastEndedTicketId")
        if not ended or scenario.get("lastEndedStatus") not in ("verified", "closed"):
            return None
        window = float(self.project.get("regressionWindowDays", self.s._window_days))
        ended_at = datetime.fromisoformat(str(scenario["lastEndedAt"]).replace("Z", "+00:00"))
        now = datetime.fromisoformat(self.at.replace("Z", "+00:00"))
        if (now - ended_at).total_seconds() > window * 86400:
            return None
        return dict(self.s._store.get_ticket(ended))

    def _reopen(
        self,
        ticket: dict[str, Any],
        failures: list[int],
        reporters: set[str],
        scenario: dict[str, Any],
    ) -> dict[str, Any]:
        """A regression within the window: the old ticket comes back, reopened, in Jira too."""
        executions = [self.execution(i, ticket["id"]) for i in failures]
        entry = {
            "at": self.at,
            "status": TicketStatus.REOPENED.value,
            "by": self.reporter(failures[0]),
            "reason": f"regression: {self.results[failures[0]].test_case_id} failed again "
            f"in run {self.run.id} after the ticket was {ticket['status']}",
        }
        also = [self.run_item] if self.run_item else []
        try:
            self.s._store.reopen_ended(ticket, executions, reporters, entry, also)
        except TicketNotLive:
            raise DraftAlreadyOpen() from None  # re-read the scenario and file again
        self.run_item = None
        self._settle(failures, ticket["id"], TicketStatus.REOPENED.value, opened=False)
        self.s._count("Regressions")
        reopened = sum(1 for h in ticket.get("history", []) if h["status"] == "reopened") + 1
        self.s._workflow.start(
            f"{ticket['id']}-reopened-{reopened}", {"ticketId": ticket["id"], "resume": True}
        )
        self.s._tell_jira({"type": "regression_reopened", "ticketId": ticket["id"]})
        return {**scenario, "liveTicketId": ticket["id"], "liveTicketStatus": "reopened"}

    def _new_draft(self, ticket_id: str, failures: list[int], reporters: set[str]) -> dict:
        first = self.results[failures[0]]
        return {
            "id": ticket_id,
            "project": self.project["key"],
            "status": TicketStatus.DRAFT.value,
            **draft_fields(first, self.run),
            "notes": None,
            "severity": None,
            "priority": None,
            "jira": None,
            "reporters": reporters,
            "occurrences": len(failures),
            "createdAt": self.at,
            "updatedAt": self.at,
            "firstSeenAt": self.at,
            "lastSeenAt": self.at,
            "history": [
                {
                    "at": self.at,
                    "status": TicketStatus.DRAFT.value,
                    "by": self.reporter(failures[0]),
                    "reason": f"{first.test_case_id} failed in run {self.run.id}",
                }
            ],
        }

    def _start_workflow(self, ticket: dict[str, Any]) -> None:
        self.s.start_workflow(self.project, ticket)

    def _settle(self, indexes: list[int], ticket_id: str, status: str, *, opened: bool) -> None:
        for n, i in enumerate(indexes):
            merged = not (opened and n == 0)
            self.outcomes[i]["ticket"] = {"id": ticket_id, "status": status, "merged": merged}

    def _settle_recorded(self, remaining: list[int], recorded: set[str]) -> list[int]:
        """Results of a retried report: answer with the ticket they were filed under before."""
        store = self.s._store
        key = self.project["key"]
        done = [i for i in remaining if self.ids[i] in recorded]
        keys = [
            (
                f"RUN#{key}#{self.run.id}",
                f"EXEC#{self.results[i].test_case_id}#{self.results[i].attempt:04d}",
            )
            for i in done
        ]
        by_id = {e["executionId"]: e for e in store.get_executions(keys)}
        tickets: dict[str, dict[str, Any]] = {}
        for i in done:
            recorded_execution = by_id.get(self.ids[i], {})
            ticket_id = recorded_execution.get("ticketId")
            if not ticket_id:
                continue
            if ticket_id not in tickets:
                tickets[ticket_id] = store.get_ticket(ticket_id)
                if tickets[ticket_id]["status"] == TicketStatus.DRAFT.value:
                    self._start_workflow(tickets[ticket_id])  # the first try may have died here
            self.outcomes[i]["ticket"] = {
                "id": ticket_id,
                "status": tickets[ticket_id]["status"],
                "merged": not recorded_execution.get("openedTicket", False),
            }
        return [i for i in remaining if self.ids[i] not in recorded]


__all__ = ["ResultStatus", "ResultsService"]
