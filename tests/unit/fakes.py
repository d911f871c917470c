"""In-memory fakes of the ports in `chalicelib.domain.ports`, for fast unit tests of services.

They reproduce the DynamoDB repositories' semantics (`chalicelib/adapters/dynamo/`): the
conditions of each write, which domain exception a failed condition raises, and that a
transaction applies all of its items or none. One `FakeDb` holds the state every repository
fake reads and writes, as the single table does.

Transaction items handed from one repository to another (`nonces.use`, `absorb_update`,
`jira_index_put`) are `TxItem`s: a dict (as the port's `TransactItem` type says) carrying a
condition and an effect, which `FakeTickets.transition` checks and applies atomically."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from chalicelib.domain.clusters import Cluster, Label, Member
from chalicelib.domain.conflicts import (
    AlsoFailed,
    DraftAlreadyOpen,
    DuplicateExecutions,
    TicketNotLive,
    TransactionConflict,
)
from chalicelib.domain.delivery import CircuitState
from chalicelib.domain.executions import Execution
from chalicelib.domain.lifecycle import Move
from chalicelib.domain.outside import JiraRejected, TokenRejected
from chalicelib.domain.scenarios import Scenario
from chalicelib.domain.signatures import Signature
from chalicelib.domain.statuses import ENDED_TICKET_STATUSES, ClusterStatus, is_live
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Conflict, NotFound

Cursor = dict[str, Any]
_ENDED = {s.value for s in ENDED_TICKET_STATUSES}


class ConditionFailed(Exception):
    """A condition the DynamoDB adapter does not translate (it lets the ClientError through)."""


class TxItem(dict[str, Any]):
    """A transaction item: `check()` is its condition, `apply()` its write."""

    def __init__(self, check: Callable[[], bool], apply: Callable[[], None], what: str) -> None:
        super().__init__(what=what)
        self.check = check
        self.apply = apply


def _ticket_data(ticket: Ticket) -> dict[str, Any]:
    """What the adapter stores: set attributes only (empty history/requirements/evidence kept)."""
    keep_empty = {"history", "requirements", "evidence"}
    return {
        k: copy.deepcopy(v)
        for k, v in ticket.to_dict().items()
        if v is not None and (v != [] or k in keep_empty)
    }


class FakeDb:
    """The one table's state."""

    def __init__(self) -> None:
        self.tickets: dict[str, dict[str, Any]] = {}
        self.scenarios: dict[tuple[str, str], dict[str, Any]] = {}
        self.executions: dict[str, dict[str, Any]] = {}  # execution id -> stored attributes
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}
        self.jira_index: dict[str, str] = {}
        self.nonces: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.modules: dict[tuple[str, str], dict[str, Any]] = {}
        self.knowledge: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.api_keys: dict[str, dict[str, Any]] = {}
        self.outbox: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.digest_windows: dict[str, int] = {}
        self.flush_scheduled: dict[str, int] = {}
        self.flush_leases: dict[str, int] = {}
        self.flush_missed: set[str] = set()  # a flush was turned away while the lease was held
        self.uploads: dict[str, dict[str, Any]] = {}
        self.attachments: dict[tuple[str, str], dict[str, Any]] = {}
        self.deliveries: dict[str, int] = {}

    # -- helpers shared by the repositories ----------------------------------------------

    def scenario_item(self, project: str, scenario_id: str) -> dict[str, Any] | None:
        return self.scenarios.get((project, scenario_id))

    def ensure_scenario(self, project: str, scenario_id: str) -> dict[str, Any]:
        """An update on a missing item creates it (with its key attributes only)."""
        return self.scenarios.setdefault(
            (project, scenario_id), {"project": project, "scenarioId": scenario_id}
        )

    def put_executions(self, executions: Sequence[Execution]) -> None:
        for e in executions:
            self.executions[e.execution_id] = copy.deepcopy(e.stored())

    def put_runs(self, runs: Sequence[dict[str, Any]]) -> None:
        for r in runs:
            self.runs[(r["project"], r["id"])] = copy.deepcopy(r)

    def duplicates(self, executions: Sequence[Execution]) -> list[str]:
        return [e.execution_id for e in executions if e.execution_id in self.executions]

    def add_to_ticket(self, item: dict[str, Any], n: int, reporters: set[str], at: str) -> None:
        item["occurrences"] = int(item.get("occurrences") or 0) + n
        if reporters:
            item["reporters"] = sorted({*item.get("reporters", []), *reporters})
        item["lastSeenAt"] = at
        item["updatedAt"] = at

    def record_move(self, item: dict[str, Any], done: Move) -> None:
        item["status"] = done.to_status.value
        item["history"] = [*item.get("history", []), done.entry.to_dict()]
        item["updatedAt"] = done.entry.at
        item["lastChange"] = done.event.to_dict()


class FakeTickets:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    # test helper: a ticket as it would be stored, with its scenario pointing at it if live
    def seed(self, ticket: Ticket, *, point_scenario: bool = True) -> Ticket:
        self.db.tickets[ticket.id] = _ticket_data(ticket)
        if point_scenario and ticket.live:
            scenario = self.db.ensure_scenario(ticket.project, ticket.scenario_id)
            scenario["liveTicketId"] = ticket.id
            scenario["liveTicketStatus"] = ticket.status
        return self.get(ticket.id)

    def get(self, ticket_id: str, consistent: bool = True) -> Ticket:
        item = self.db.tickets.get(ticket_id)
        if item is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return Ticket.from_dict(copy.deepcopy(item))

    def page(
        self,
        project: str,
        *,
        status: str | None,
        module: str | None,
        limit: int,
        cursor: Cursor | None,
    ) -> tuple[list[Ticket], Cursor | None]:
        # gsi1: PROJECT#{p}#TICKETS / status#createdAt#id, a status prefix, a module filter
        def sort_key(t: dict[str, Any]) -> str:
            return f"{t['status']}#{t['createdAt']}#{t['id']}"

        items = sorted(
            (t for t in self.db.tickets.values() if t["project"] == project),
            key=sort_key,
        )
        if status:
            items = [t for t in items if t["status"] == status]
        if cursor:
            items = [t for t in items if sort_key(t) > cursor["after"]]
        # DynamoDB's Limit counts items read before the filter: reproduce that
        read = items[:limit]
        more = len(items) > limit
        found = [t for t in read if not module or t.get("module") == module]
        next_key = {"after": sort_key(read[-1])} if more and read else None
        return [Ticket.from_dict(copy.deepcopy(t)) for t in found], next_key

    def of_scenario(self, project: str, scenario_id: str) -> list[Ticket]:
        items = [
            t
            for t in self.db.tickets.values()
            if t["project"] == project and t["scenarioId"] == scenario_id
        ]
        items.sort(key=lambda t: f"{t['createdAt']}#{t['id']}", reverse=True)
        return [Ticket.from_dict(copy.deepcopy(t)) for t in items]

    def set_fields(
        self,
        ticket_id: str,
        fields: dict[str, Any],
        only_status: str | None = None,
        *,
        jira_before: int | None = None,
    ) -> bool:
        item = self.db.tickets.get(ticket_id)
        if item is None or (only_status and item["status"] != only_status):
            return False
        if jira_before is not None and int(item.get("jiraUpdatedAt") or 0) >= jira_before:
            return False
        item.update(copy.deepcopy(fields))
        return True

    def update_draft(self, ticket_id: str, fields: dict[str, Any], entry: dict[str, Any]) -> Ticket:
        item = self.db.tickets.get(ticket_id)
        if item is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        if item["status"] != "draft":
            raise Conflict("only a draft can be edited")
        item["history"] = [*item.get("history", []), dict(entry)]
        item["updatedAt"] = entry["at"]
        item.update(copy.deepcopy(fields))
        return self.get(ticket_id)

    def transition(
        self,
        ticket: Ticket,
        done: Move,
        *,
        extra: dict[str, Any] | None = None,
        also: Sequence[dict[str, Any]] = (),
        point_scenario_to: tuple[str, str] | None = None,
        jira_before: int | None = None,
    ) -> None:
        item = self.db.tickets.get(ticket.id)
        scenario = self.db.scenario_item(ticket.project, ticket.scenario_id)
        older = jira_before is None or (
            item is not None and int(item.get("jiraUpdatedAt") or 0) < jira_before
        )
        checks = [
            item is not None and item["status"] == done.from_status.value and older,
            scenario is not None and scenario.get("liveTicketId") == ticket.id,
            *(_tx(a).check() for a in also),
        ]
        failed = [i for i, ok in enumerate(checks) if not ok]
        if failed and failed[0] >= 2:
            raise AlsoFailed(failed[0] - 2)
        if failed:
            raise Conflict(f"ticket {ticket.id} is no longer in status {done.from_status.value}")
        assert item is not None and scenario is not None
        self.db.record_move(item, done)
        item.update(copy.deepcopy(extra or {}))
        to = done.to_status.value
        if point_scenario_to:
            scenario["liveTicketId"], scenario["liveTicketStatus"] = point_scenario_to
        elif to in _ENDED:
            scenario.pop("liveTicketId", None)
            scenario.pop("liveTicketStatus", None)
            scenario.update(
                {
                    "lastEndedTicketId": ticket.id,
                    "lastEndedStatus": to,
                    "lastEndedAt": done.entry.at,
                }
            )
        else:
            scenario["liveTicketStatus"] = to
        for a in also:
            _tx(a).apply()

    def absorb_update(self, target_id: str, source: Ticket, at: str) -> dict[str, Any]:
        def check() -> bool:
            target = self.db.tickets.get(target_id)
            return target is not None and is_live(target["status"])

        def apply() -> None:
            target = self.db.tickets[target_id]
            target["occurrences"] = int(target.get("occurrences") or 0) + source.occurrences
            if source.reporters:
                target["reporters"] = sorted({*target.get("reporters", []), *source.reporters})
            target["updatedAt"] = at
            target["mergedFrom"] = [*target.get("mergedFrom", []), source.id]

        return TxItem(check, apply, f"absorb {source.id} into {target_id}")

    def claim_create_attempt(self, ticket_id: str, seen: int, now: int) -> bool:
        # (DynamoDB's update would create a bare item for a missing ticket; no caller asks for
        # one, and a bare item would not read back as a Ticket, so the fake refuses instead.)
        item = self.db.tickets.get(ticket_id)
        if item is None:
            return False
        current = item.get("jiraCreateAttempts")
        if not ((current is None and seen == 0) or current == seen):
            return False
        item["jiraCreateAttempts"] = seen + 1
        item["jiraLastAttemptAt"] = now
        item["jiraUncertainAt"] = now
        return True

    def add_steps(self, ticket_id: str, steps: set[str]) -> None:
        item = self.db.tickets[ticket_id]
        item["jiraSteps"] = sorted({*item.get("jiraSteps", []), *steps})

    def claim_step(self, ticket_id: str, step: str, now: int, lease: int) -> bool:
        item = self.db.tickets.get(ticket_id)
        if item is None or step in item.get("jiraSteps", []):
            return False
        claims = item.setdefault("jiraClaims", {})
        if step in claims and claims[step] >= now - lease:
            return False
        claims[step] = now
        return True

    def release_step(self, ticket_id: str, step: str) -> None:
        self.db.tickets[ticket_id].get("jiraClaims", {}).pop(step, None)

    def store_feedback_token(self, ticket_id: str, token: str, entered: str) -> bool:
        item = self.db.tickets.get(ticket_id)
        if item is None or item.get("feedbackEnteredAt", "") > entered:
            return False
        item["feedbackToken"], item["feedbackEnteredAt"] = token, entered
        return True

    def add_warning(self, ticket_id: str, warning: str) -> None:
        item = self.db.tickets[ticket_id]
        item["jiraWarnings"] = [*item.get("jiraWarnings", []), warning[:300]]

    def jira_index_put(self, jira_key: str, ticket_id: str) -> dict[str, Any]:
        def apply() -> None:
            self.db.jira_index[jira_key] = ticket_id

        return TxItem(lambda: True, apply, f"index {jira_key}")

    def by_jira_key(self, jira_key: str) -> str | None:
        return self.db.jira_index.get(jira_key)


def _tx(item: dict[str, Any]) -> TxItem:
    if not isinstance(item, TxItem):
        raise TypeError(f"not a transaction item of the fakes: {item!r}")
    return item


class FakeFiling:
    """Each method is one all-or-nothing write; when several conditions fail, the adapter's
    order of reporting is kept: duplicate executions first (a retried report), then the
    scenario's pointer, then the ticket."""

    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def open_draft(
        self,
        ticket: Ticket,
        executions: Sequence[Execution],
        replacing: str | None = None,
        runs: Sequence[dict[str, Any]] = (),
    ) -> None:
        dupes = self.db.duplicates(executions)
        if dupes:
            raise DuplicateExecutions(dupes)
        scenario = self.db.scenario_item(ticket.project, ticket.scenario_id) or {}
        live = scenario.get("liveTicketId")
        if live is not None and not (replacing and live == replacing):
            raise DraftAlreadyOpen()
        if ticket.id in self.db.tickets:
            raise ConditionFailed(f"ticket {ticket.id} exists")
        scenario = self.db.ensure_scenario(ticket.project, ticket.scenario_id)
        scenario["liveTicketId"], scenario["liveTicketStatus"] = ticket.id, ticket.status
        self.db.tickets[ticket.id] = _ticket_data(ticket)
        self.db.put_executions(executions)
        self.db.put_runs(runs)

    def add_occurrences(
        self,
        ticket_id: str,
        executions: Sequence[Execution],
        reporters: set[str],
        at: str,
        runs: Sequence[dict[str, Any]] = (),
    ) -> None:
        dupes = self.db.duplicates(executions)
        if dupes:
            raise DuplicateExecutions(dupes)
        item = self.db.tickets.get(ticket_id)
        if item is None or not is_live(item["status"]):
            raise TicketNotLive(ticket_id)
        self.db.add_to_ticket(item, len(executions), reporters, at)
        self.db.put_executions(executions)
        self.db.put_runs(runs)

    def reopen_ended(
        self,
        ticket: Ticket,
        done: Move,
        executions: Sequence[Execution],
        reporters: set[str],
        runs: Sequence[dict[str, Any]] = (),
    ) -> None:
        dupes = self.db.duplicates(executions)
        if dupes:
            raise DuplicateExecutions(dupes)
        scenario = self.db.scenario_item(ticket.project, ticket.scenario_id) or {}
        if scenario.get("liveTicketId") is not None:
            raise DraftAlreadyOpen()
        item = self.db.tickets.get(ticket.id)
        if item is None or item["status"] != done.from_status.value:
            raise TicketNotLive(ticket.id)
        scenario = self.db.ensure_scenario(ticket.project, ticket.scenario_id)
        scenario["liveTicketId"], scenario["liveTicketStatus"] = ticket.id, done.to_status.value
        self.db.record_move(item, done)
        self.db.add_to_ticket(item, len(executions), reporters, done.entry.at)
        self.db.put_executions(executions)
        self.db.put_runs(runs)


class FakeScenarios:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def get(self, project: str, scenario_id: str, consistent: bool = False) -> Scenario | None:
        item = self.db.scenario_item(project, scenario_id)
        return _scenario(item) if item is not None else None

    def with_results(self, project: str, scenario_id: str) -> Scenario | None:
        return self.get(project, scenario_id)

    def touch(
        self,
        project: str,
        scenario_id: str,
        *,
        module: str,
        title: str,
        latest: dict[str, dict[str, Any]],
        last_result: str,
        last_execution: dict[str, Any],
        at: str,
    ) -> Scenario:
        current = self.db.scenario_item(project, scenario_id)
        if current is not None and current.get("lastAt") is not None and current["lastAt"] > at:
            return self._late(current, latest)
        item = self.db.ensure_scenario(project, scenario_id)
        item.update(
            {
                "lastResult": last_result,
                "lastExecution": copy.deepcopy(last_execution),
                "lastAt": at,
            }
        )
        item.setdefault("module", module)
        item.setdefault("title", title)
        item.setdefault("firstSeenAt", at)
        item["testCases"] = sorted({*item.get("testCases", []), *latest})
        item.setdefault("latest", {}).update(copy.deepcopy(latest))
        return _scenario(item)

    def mark_flaky(self, project: str, scenario_id: str, test_case_id: str, flaky: bool) -> None:
        item = self.db.scenario_item(project, scenario_id)
        if item is not None:
            cases = set(item.get("mutedCases", [])) | {test_case_id}
            item["mutedCases"] = sorted(cases if flaky else cases - {test_case_id})

    def set_quarantine_until(self, project: str, scenario_id: str, until: str | None) -> bool:
        item = self.db.scenario_item(project, scenario_id)
        if item is None:
            return False
        if until:
            item["quarantineUntil"] = until
        else:
            item.pop("quarantineUntil", None)
        return True

    def _late(self, item: dict[str, Any], latest: dict[str, dict[str, Any]]) -> Scenario:
        """A result older than the scenario's latest: kept per test case with nothing newer."""
        held_all = item.setdefault("latest", {})
        for test_case, result in latest.items():
            held = held_all.get(test_case)
            if test_case in item.get("testCases", []) and str((held or {}).get("at", "")) >= str(
                result["at"]
            ):
                continue
            if held is None or str(held.get("at")) <= str(result["at"]):
                held_all[test_case] = copy.deepcopy(result)
                item["testCases"] = sorted({*item.get("testCases", []), test_case})
        return _scenario(item)


def _scenario(item: dict[str, Any]) -> Scenario:
    data = copy.deepcopy(item)
    latest = data.pop("latest", {})
    scenario = Scenario.from_dict(data)
    scenario.latest = latest
    return scenario


class FakeExecutions:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def record(self, executions: Sequence[Execution], runs: Sequence[dict[str, Any]] = ()) -> None:
        self.db.put_executions(executions)  # unconditional puts, as the adapter's batch
        self.db.put_runs(runs)

    def get_many(
        self, project: str, run_id: str, cases: Sequence[tuple[str, int]]
    ) -> list[Execution]:
        wanted = set(cases)
        return [
            Execution.from_dict(copy.deepcopy(e))
            for e in self.db.executions.values()
            if e["project"] == project
            and e["runId"] == run_id
            and (e["testCaseId"], int(e["attempt"])) in wanted
        ]

    def of_run(self, project: str, run_id: str) -> list[Execution]:
        found = [
            e
            for e in self.db.executions.values()
            if e["project"] == project and e["runId"] == run_id
        ]
        return [Execution.from_dict(copy.deepcopy(e)) for e in found]

    def run(self, project: str, run_id: str) -> dict[str, Any] | None:
        found = self.db.runs.get((project, run_id))
        return copy.deepcopy(found) if found is not None else None

    def of_case(self, project: str, run_id: str, test_case_id: str) -> list[Execution]:
        found = [e for e in self.of_run(project, run_id) if e.test_case_id == test_case_id]
        return sorted(found, key=lambda e: e.attempt)

    def reidentify(self, execution: Execution, fields: dict[str, Any]) -> None:
        """Identity fields set in place: the stored execution keeps its id."""
        self.db.executions[execution.execution_id].update(copy.deepcopy(fields))

    def occurrences(self, ticket_id: str) -> list[Execution]:
        found = [e for e in self.db.executions.values() if e.get("ticketId") == ticket_id]
        found.sort(key=lambda e: f"{e['at']}#{e['executionId']}")
        return [Execution.from_dict(copy.deepcopy(e)) for e in found]

    def occurrences_page(
        self, ticket_id: str, *, limit: int, cursor: Cursor | None
    ) -> tuple[list[Execution], Cursor | None]:
        every = self.occurrences(ticket_id)[::-1]  # newest first, as the index read backwards
        start = int((cursor or {}).get("offset", 0))
        page = every[start : start + limit]
        more = start + limit < len(every)
        return page, ({"offset": start + limit} if more else None)


class FakeProjects:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def get(self, project: str) -> dict[str, Any] | None:
        found = self.db.projects.get(project)
        return copy.deepcopy(found) if found is not None else None

    def create(self, project: dict[str, Any]) -> None:
        if project["key"] in self.db.projects:
            raise Conflict(f"project {project['key']} exists")
        self.db.projects[project["key"]] = copy.deepcopy(project)

    def set_fields(self, project: str, fields: dict[str, Any]) -> None:
        if project not in self.db.projects:
            raise ConditionFailed(f"project {project} does not exist")
        self.db.projects[project].update(copy.deepcopy(fields))

    def all(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(self.db.projects[k]) for k in sorted(self.db.projects)]

    def bump_keys_generation(self, project: str) -> int:
        if project not in self.db.projects:
            raise ConditionFailed(f"project {project} does not exist")
        found = self.db.projects[project]
        found["keysGeneration"] = int(found.get("keysGeneration", 0)) + 1
        return int(found["keysGeneration"])

    def put_module(self, project: str, module: dict[str, Any]) -> None:
        self.db.modules[(project, module["name"])] = copy.deepcopy(module)

    def get_module(self, project: str, module: str) -> dict[str, Any] | None:
        found = self.db.modules.get((project, module))
        return copy.deepcopy(found) if found is not None else None

    def modules(self, project: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(m) for (p, n), m in sorted(self.db.modules.items()) if p == project]

    def put_knowledge(self, project: str, entry: dict[str, Any]) -> None:
        self.db.knowledge[(project, entry["scenarioId"], entry["ticketId"])] = copy.deepcopy(entry)

    def knowledge(self, project: str, scenario_id: str) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(e)
            for (p, s, _), e in sorted(self.db.knowledge.items())
            if p == project and s == scenario_id
        ]


class FakeApiKeys:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def put(self, key_hash: str, key: dict[str, Any]) -> None:
        if key_hash in self.db.api_keys:
            raise ConditionFailed("api key exists")
        self.db.api_keys[key_hash] = copy.deepcopy(key)

    def get(self, key_hash: str) -> dict[str, Any] | None:
        found = self.db.api_keys.get(key_hash)
        return copy.deepcopy(found) if found is not None else None

    def get_with_project(
        self, key_hash: str, project: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        found = self.db.projects.get(project)
        return self.get(key_hash), (copy.deepcopy(found) if found is not None else None)

    def of_project(self, project: str) -> list[tuple[str, dict[str, Any]]]:
        keys = [
            (h, copy.deepcopy(k)) for h, k in self.db.api_keys.items() if k["project"] == project
        ]
        return sorted(keys, key=lambda pair: str(pair[1]["keyId"]))

    def delete(self, key_hash: str) -> None:
        self.db.api_keys.pop(key_hash, None)


class FakeOutbox:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def queue(self, lead: str, ticket_id: str, at: str) -> None:
        self.db.outbox[(lead, at, ticket_id)] = {"ticketId": ticket_id, "lead": lead, "at": at}

    def pending(self, lead: str) -> list[dict[str, Any]]:
        return [dict(v) for (ld, _, _), v in sorted(self.db.outbox.items()) if ld == lead]

    def clear(self, items: Sequence[dict[str, Any]]) -> None:
        for item in items:
            self.db.outbox.pop((item["lead"], item["at"], item["ticketId"]), None)

    def digest_window(self, lead: str, now: int, seconds: int) -> tuple[int, bool]:
        closes = self.db.digest_windows.get(lead)
        if closes is None or closes < now:
            self.db.digest_windows[lead] = now + seconds
            self.db.flush_scheduled.pop(lead, None)
            return now + seconds, True
        return closes, self.db.flush_scheduled.get(lead) != closes

    def flush_scheduled(self, lead: str, closes: int) -> None:
        if self.db.digest_windows.get(lead) == closes:
            self.db.flush_scheduled[lead] = closes

    def claim_flush(self, lead: str, now: int, lease_seconds: int) -> bool:
        held = self.db.flush_leases.get(lead)
        if held is not None and held >= now:
            self.db.flush_missed.add(lead)  # the holder sees it when it lets go
            return False
        self.db.flush_leases[lead] = now + lease_seconds
        self.db.digest_windows.pop(lead, None)  # the window ends: later drafts open the next
        self.db.flush_scheduled.pop(lead, None)
        return True

    def release_flush(self, lead: str) -> bool:
        self.db.flush_leases.pop(lead, None)
        missed = lead in self.db.flush_missed
        self.db.flush_missed.discard(lead)
        return missed


class FakeNonces:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def use(self, nonce: str, ticket_id: str, at: str, expires_at: int) -> dict[str, Any]:
        def apply() -> None:
            self.db.nonces[nonce] = {"ticketId": ticket_id, "usedAt": at, "expiresAt": expires_at}

        return TxItem(lambda: nonce not in self.db.nonces, apply, f"use nonce {nonce}")

    def consume(self, nonce: str, subject: str, at: str, expires_at: int) -> bool:
        if nonce in self.db.nonces:
            return False
        self.db.nonces[nonce] = {"ticketId": subject, "usedAt": at, "expiresAt": expires_at}
        return True

    def used(self, nonce: str) -> bool:
        return nonce in self.db.nonces


class FakeClusters:
    """Clusters and labels in memory, with the adapter's conditions (`join` and
    `claim_decision` only on an open cluster; `found` only once per id)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.labels: dict[tuple[str, str], dict[str, Any]] = {}
        self.queries = 0

    def get(self, project: str, cluster_id: str) -> Cluster:
        item = self.items.get((project, cluster_id))
        if item is None:
            raise NotFound(f"cluster {cluster_id} does not exist")
        return Cluster.from_dict(copy.deepcopy(item))

    def of_project(self, project: str) -> tuple[list[Cluster], list[Label]]:
        self.queries += 1
        clusters = [self.get(p, c) for p, c in self.items if p == project]
        labels = [Label.from_dict(dict(v)) for (p, _), v in self.labels.items() if p == project]
        return clusters, labels

    def found(self, cluster: Cluster) -> bool:
        if (cluster.project, cluster.id) in self.items:
            return False
        self.items[(cluster.project, cluster.id)] = copy.deepcopy(cluster.to_dict())
        return True

    def join(
        self,
        project: str,
        cluster_id: str,
        member: Member,
        signature: Signature,
        *,
        new_key: bool,
        sample: bool,
    ) -> bool:
        item = self.items.get((project, cluster_id))
        if item is None or item["status"] != ClusterStatus.OPEN:
            return False
        item["members"][member.ticket_id] = member.to_dict()
        item["lastSeenAt"] = member.joined_at
        if new_key:
            item["signatureKeys"].append(signature.key)
        if sample:
            item["samples"].append(signature.to_dict())
        return True

    def remove_members(self, project: str, cluster_id: str, ticket_ids: list[str]) -> None:
        for t in ticket_ids:
            self.items[(project, cluster_id)]["members"].pop(t, None)

    def claim_primary(self, project: str, cluster_id: str, ticket_id: str) -> str:
        item = self.items[(project, cluster_id)]
        item["primaryTicketId"] = item.get("primaryTicketId") or ticket_id
        return str(item["primaryTicketId"])

    def claim_decision(self, project: str, cluster_id: str, decision: str) -> str:
        item = self.items[(project, cluster_id)]
        if item["status"] != ClusterStatus.OPEN:
            raise Conflict(f"cluster {cluster_id} was decided already")
        item["deciding"] = item.get("deciding") or decision
        return str(item["deciding"])

    def decided(self, project: str, cluster_id: str, decision: dict[str, Any]) -> None:
        item = self.items[(project, cluster_id)]
        item["status"], item["decision"] = ClusterStatus.DECIDED, copy.deepcopy(decision)

    def put_label(self, project: str, label: Label) -> None:
        self.labels[(project, label.id)] = label.to_dict()


class FakeUploads:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def put(self, upload: dict[str, Any]) -> None:
        self.db.uploads[upload["uploadId"]] = copy.deepcopy(upload)

    def get(self, upload_id: str) -> dict[str, Any] | None:
        found = self.db.uploads.get(upload_id)
        return copy.deepcopy(found) if found is not None else None

    def update(self, upload_id: str, fields: dict[str, Any]) -> None:
        self.db.uploads.setdefault(upload_id, {}).update(copy.deepcopy(fields))

    def count_chunk(
        self, upload_id: str, chunk: int, counts: dict[str, int], at: str
    ) -> dict[str, Any] | None:
        upload = self.db.uploads.get(upload_id)
        if upload is None or chunk in upload.get("doneChunks", ()):
            return None
        upload["doneChunks"] = sorted({*upload.get("doneChunks", ()), chunk})
        for name, n in counts.items():
            upload[name] = upload.get(name, 0) + n
        upload["updatedAt"] = at
        return copy.deepcopy(upload)

    def complete(self, upload_id: str, at: str) -> bool:
        upload = self.db.uploads.get(upload_id)
        if upload is None or upload.get("status") != "processing":
            return False
        upload.update({"status": "completed", "updatedAt": at})
        return True


class FakeAttachments:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def put(self, ticket_id: str, attachment: dict[str, Any]) -> None:
        self.db.attachments[(ticket_id, attachment["attachmentId"])] = copy.deepcopy(attachment)

    def get(self, ticket_id: str, attachment_id: str) -> dict[str, Any] | None:
        found = self.db.attachments.get((ticket_id, attachment_id))
        return copy.deepcopy(found) if found is not None else None

    def of_ticket(self, ticket_id: str) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(a) for (t, _), a in sorted(self.db.attachments.items()) if t == ticket_id
        ]

    def settle(self, ticket_id: str, attachment_id: str, fields: dict[str, Any]) -> bool:
        found = self.db.attachments.get((ticket_id, attachment_id))
        if found is None or found.get("status") != "pending":
            return False
        found.update(copy.deepcopy(fields))
        return True


class FakeDeliveries:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    def seen(self, identifier: str) -> bool:
        return identifier in self.db.deliveries

    def remember(self, identifier: str, now: int) -> None:
        self.db.deliveries[identifier] = now + 7 * 86400


class FakeCircuits:
    """Each Jira site's circuit breaker, as the DynamoDB repository keeps it."""

    def __init__(self) -> None:
        self.sites: dict[str, CircuitState] = {}

    def state(self, site: str) -> CircuitState:
        return self.sites.get(site, CircuitState())

    def failed(self, site: str, now: float, threshold: int, open_seconds: float) -> CircuitState:
        old = self.state(site)
        state = dataclasses.replace(
            old, failures=old.failures + 1, since=old.since if old.since is not None else now
        )
        if state.failures >= threshold and state.open_until <= now:
            state = dataclasses.replace(state, open_until=now + open_seconds)
        self.sites[site] = state
        return state

    def claim_probe(self, site: str, now: float, open_seconds: float) -> bool:
        state = self.state(site)
        if state.open_until > now:
            return False
        self.sites[site] = dataclasses.replace(state, open_until=now + open_seconds)
        return True

    def throttled(self, site: str, until: float) -> None:
        state = self.state(site)
        if state.throttled_until < until:
            self.sites[site] = dataclasses.replace(state, throttled_until=until)

    def close(self, site: str) -> None:
        self.sites.pop(site, None)


class FakeDelayNotices:
    def __init__(self) -> None:
        self.episodes: dict[str, dict[str, Any]] = {}
        self.notices: dict[str, int] = {}

    def delayed(self, lead: str, ticket_id: str) -> bool:
        episode = self.episodes.setdefault(lead, {"pending": set(), "done": {}, "told": False})
        episode["pending"].add(ticket_id)
        if episode["told"]:
            return False
        episode["told"] = True
        return True

    def through(self, lead: str, ticket_id: str, outcome: str) -> dict[str, str] | None:
        episode = self.episodes.get(lead)
        if episode is None or ticket_id not in episode["pending"]:
            return None
        episode["pending"].discard(ticket_id)
        episode["done"][ticket_id] = outcome
        if episode["pending"]:
            return None
        del self.episodes[lead]
        return dict(sorted(episode["done"].items())) if episode["told"] else None

    def sent(self, notice_id: str) -> bool:
        return notice_id in self.notices

    def mark_sent(self, notice_id: str, now: int) -> None:
        self.notices[notice_id] = now


class FakeStores:
    """Every repository fake over one `FakeDb`, like the adapter's `Repositories`."""

    def __init__(self) -> None:
        self.db = FakeDb()
        self.tickets = FakeTickets(self.db)
        self.filing = FakeFiling(self.db)
        self.scenarios = FakeScenarios(self.db)
        self.executions = FakeExecutions(self.db)
        self.projects = FakeProjects(self.db)
        self.api_keys = FakeApiKeys(self.db)
        self.outbox = FakeOutbox(self.db)
        self.nonces = FakeNonces(self.db)
        self.clusters = FakeClusters()
        self.uploads = FakeUploads(self.db)
        self.attachments = FakeAttachments(self.db)
        self.deliveries = FakeDeliveries(self.db)
        self.circuits = FakeCircuits()
        self.delays = FakeDelayNotices()
        self.metrics = FakeMetricsStore()
        self.gates = FakeGates()


class FakeMetricsStore:
    """The metrics aggregates in memory, with the adapter's commit semantics: all or nothing,
    AlreadyApplied for a marked event, TransactionConflict for a stale state version."""

    def __init__(self) -> None:
        self.generations: dict[str, str] = {}
        self.applied: set[tuple[str, str, str]] = set()
        self.state: dict[tuple[str, str, tuple[str, ...]], tuple[dict[str, Any], int]] = {}
        self.stored: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
        self.commits = 0
        self.reads: list[list[tuple[str, ...]]] = []  # the keys of each `buckets` call

    def generation(self, project: str) -> str:
        return self.generations.get(project, "g0")

    def set_generation(self, project: str, generation: str) -> None:
        self.generations[project] = generation

    def load_state(
        self, project: str, generation: str, keys: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], dict[str, Any] | None]:
        out: dict[tuple[str, ...], dict[str, Any] | None] = {}
        for key in keys:
            found = self.state.get((project, generation, key))
            out[key] = None if found is None else {**copy.deepcopy(found[0]), "_v": found[1]}
        return out

    def commit(
        self,
        project: str,
        generation: str,
        event_ids: Sequence[str],
        state: dict[tuple[str, ...], tuple[dict[str, Any], int | None]],
        adds: dict[tuple[str, ...], dict[str, float]],
        appends: dict[tuple[str, ...], dict[str, list[float]]],
        members: dict[tuple[str, ...], dict[str, set[str]]],
    ) -> None:
        from chalicelib.domain.conflicts import TransactionConflict
        from chalicelib.domain.ports import AlreadyApplied

        if any((project, generation, e) in self.applied for e in event_ids):
            raise AlreadyApplied(str(event_ids))
        for key, (_, version) in state.items():
            current = self.state.get((project, generation, key))
            if (current[1] if current else None) != version:
                raise TransactionConflict()
        self.commits += 1
        self.applied.update((project, generation, e) for e in event_ids)
        for key, (value, version) in state.items():
            body = {k: v for k, v in copy.deepcopy(value).items() if k != "_v"}
            self.state[(project, generation, key)] = (body, (version or 0) + 1)
        for bucket, counters in adds.items():
            item = self.stored.setdefault((project, generation, bucket), {})
            for name, amount in counters.items():
                item[name] = item.get(name, 0) + amount
        for bucket, lists in appends.items():
            item = self.stored.setdefault((project, generation, bucket), {})
            for name, values in lists.items():
                item[name] = [*item.get(name, []), *values]
        for bucket, sets in members.items():
            item = self.stored.setdefault((project, generation, bucket), {})
            for name, joining in sets.items():
                item[name] = sorted({*item.get(name, []), *joining})

    def buckets(
        self, project: str, generation: str, keys: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], dict[str, Any]]:
        self.reads.append(list(keys))
        return {
            k: copy.deepcopy(self.stored[(project, generation, k)])
            for k in keys
            if (project, generation, k) in self.stored
        }


class FakeGates:
    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], dict[str, Any]] = {}

    def put(self, project: str, name: str, gate: dict[str, Any]) -> None:
        self.saved[(project, name)] = copy.deepcopy(gate)

    def get(self, project: str, name: str) -> dict[str, Any] | None:
        found = self.saved.get((project, name))
        return copy.deepcopy(found) if found is not None else None


# -- outside systems ---------------------------------------------------------------------


class FakeWorkflow:
    """Step Functions: one execution per name (a repeated start returns False); answers are
    recorded; `reject_tokens` (or `reject_all`) makes `answer` raise TokenRejected."""

    def __init__(self) -> None:
        self.starts: dict[str, dict[str, Any]] = {}
        self.start_calls: list[str] = []
        self.answers: list[tuple[str, dict[str, Any]]] = []
        self.reject_tokens: set[str] = set()
        self.reject_all = False

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        self.start_calls.append(name)
        if name in self.starts:
            return False
        self.starts[name] = copy.deepcopy(payload)
        return True

    def answer(self, task_token: str, output: dict[str, Any]) -> None:
        if self.reject_all or task_token in self.reject_tokens:
            raise TokenRejected(f"no execution waits on {task_token}")
        self.answers.append((task_token, copy.deepcopy(output)))


class FakeNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], str | None]] = []

    def send(self, message: dict[str, Any], channel: str | None = None) -> None:
        self.sent.append((copy.deepcopy(message), channel))


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], int]] = []

    def send(self, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self.sent.append((copy.deepcopy(body), delay_seconds))


class FakeQueues:
    """The adapter's `Queues` (several queues by URL), as FeedbackService and redrive use it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.dead: dict[str, list[dict[str, Any]]] = {}

    def send(self, queue_url: str, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self.sent.append((queue_url, copy.deepcopy(body)))

    def redrive(self, dlq_url: str, queue_url: str) -> list[dict[str, Any]]:
        moved = self.dead.pop(dlq_url, [])
        for body in moved:
            self.send(queue_url, body)
        return moved


class FakeJira:
    """A small Jira: issues with keys `{project}-{n}`, labels found by search (at once, or only
    after `search_lags` calls), links, remote links, comments and transitions recorded.

    `fail(method, error)` queues an error for the next call of `method`; `fail_always(method,
    error)` makes every call raise it (until `heal(method)`)."""

    def __init__(self) -> None:
        self.issues: dict[str, dict[str, Any]] = {}
        self.links: list[tuple[str, str, str]] = []
        self.remote_links: dict[tuple[str, str], tuple[str, str]] = {}
        self.attachments: list[tuple[str, str, bytes]] = []
        self.comments: list[tuple[str, str]] = []
        self.transitions: list[tuple[str, str]] = []
        self.calls: list[str] = []
        self.field_list: list[dict[str, Any]] = [{"id": "summary", "name": "Summary"}]
        self.types: dict[str, list[dict[str, Any]]] = {"QA": [{"id": "1", "name": "Bug"}]}
        self.required: list[dict[str, Any]] = []
        self.link_type_list: list[dict[str, str]] = [
            {"name": "Relates", "inward": "relates to", "outward": "relates to"}
        ]
        self.search_visible = True  # False: created issues are not found by label yet
        self._queued: dict[str, list[Exception]] = {}
        self._always: dict[str, Exception] = {}
        self._next = 0

    def fail(self, method: str, error: Exception) -> None:
        self._queued.setdefault(method, []).append(error)

    def fail_always(self, method: str, error: Exception) -> None:
        self._always[method] = error

    def heal(self, method: str) -> None:
        self._always.pop(method, None)
        self._queued.pop(method, None)

    def _call(self, method: str) -> None:
        self.calls.append(method)
        if method in self._always:
            raise self._always[method]
        queued = self._queued.get(method)
        if queued:
            raise queued.pop(0)

    def fields(self) -> list[dict[str, Any]]:
        self._call("fields")
        return copy.deepcopy(self.field_list)

    def issue_types(self, project: str) -> list[dict[str, Any]]:
        self._call("issue_types")
        if project not in self.types:
            raise JiraRejected(f"no project {project}")
        return copy.deepcopy(self.types[project])

    def create_fields(self, project: str, issue_type_id: str) -> list[dict[str, Any]]:
        self._call("create_fields")
        return copy.deepcopy(self.required)

    def link_types(self) -> list[dict[str, str]]:
        self._call("link_types")
        return copy.deepcopy(self.link_type_list)

    def create_issue(self, fields: dict[str, Any]) -> str:
        self._call("create_issue")
        project = fields["project"]["key"]
        if project not in self.types:
            raise JiraRejected(f"no project {project}")
        self._next += 1
        key = f"{project}-{self._next}"
        self.issues[key] = {"fields": copy.deepcopy(fields), "status": "To Do"}
        return key

    def find_by_label(self, label: str) -> str | None:
        self._call("find_by_label")
        if not self.search_visible:
            return None
        for key, issue in self.issues.items():
            if label in issue["fields"].get("labels", []):
                return key
        return None

    def link(self, link_type: str, inward: str, outward: str) -> None:
        self._call("link")
        self.links.append((link_type, inward, outward))

    def remote_link(self, key: str, global_id: str, url: str, title: str) -> None:
        self._call("remote_link")
        self.remote_links[(key, global_id)] = (url, title)  # globalId: an upsert

    def attach(self, key: str, name: str, stream: IO[bytes]) -> str:
        self._call("attach")
        self.attachments.append((key, name, stream.read()))
        return f"att-{len(self.attachments)}"

    def comment(self, key: str, body: str) -> None:
        self._call("comment")
        self.comments.append((key, body))

    def commented_since(self, key: str, body: str, since: float) -> bool:
        self._call("commented_since")
        return (key, body) in self.comments

    def transition(self, key: str, name: str) -> None:
        self._call("transition")
        self.transitions.append((key, name))
        if key in self.issues:
            self.issues[key]["status"] = name

    def current(self, keys: list[str]) -> list[dict[str, Any]]:
        self._call("current")
        return [
            {"key": k, "status": self.issues[k]["status"], "category": "", "updatedAt": 0}
            for k in keys
            if k in self.issues
        ]

    def resolution_and_last_comment(self, key: str) -> tuple[str | None, str | None]:
        self._call("resolution_and_last_comment")
        last = [body for k, body in self.comments if k == key]
        return self.issues.get(key, {}).get("resolution"), (last[-1] if last else None)

    def issue_url(self, key: str) -> str:
        return f"https://jira.example/browse/{key}"


class FakeBlobs:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.deleted: list[str] = []

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires: int
    ) -> dict[str, Any]:
        return {
            "url": "https://blobs.example/upload",
            "fields": {"key": key, "Content-Type": content_type},
        }

    def presigned_get(self, key: str, expires: int) -> str:
        return f"https://blobs.example/{key}?expires={expires}"

    def head(self, key: str) -> dict[str, Any] | None:
        found = self.objects.get(key)
        if found is None:
            return None
        return {"size": len(found[0]), "contentType": found[1]}

    def read(self, key: str, max_bytes: int) -> bytes:
        return self.objects[key][0][:max_bytes]

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (bytes(body), content_type)

    def stream(self, key: str) -> Any:
        return io.BytesIO(self.objects[key][0])

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.deleted.append(key)

    def put_if_changed(self, key: str, body: bytes, content_type: str) -> bool:
        if self.objects.get(key, (None, ""))[0] == body:
            return False
        self.objects[key] = (body, content_type)
        return True

    @property
    def bucket(self) -> str:
        return "fake-bucket"


class FakeClock:
    """Time that moves only when told: `clock()` is an ISO-8601 string (the `Clock` port),
    `clock.time()` epoch seconds (for services that take `time.time`)."""

    def __init__(self, start: str = "2026-03-01T10:00:00.000Z") -> None:
        self.now = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC)

    def __call__(self) -> str:
        return self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def time(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float = 0, *, days: float = 0) -> None:
        self.now += timedelta(seconds=seconds, days=days)


class FakeCursors:
    def encode(self, key: Cursor | None) -> str | None:
        return json.dumps(key, sort_keys=True) if key else None

    def decode(self, cursor: str | None, field: str = "cursor") -> Cursor | None:
        return json.loads(cursor) if cursor else None


class FakeCounter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


# -- test management ----------------------------------------------------------------------


class FakeTestCases:
    """The adapter's TestCaseRepository: heads, immutable versions, module counters; `save`
    is conditional on the head's version (PreconditionFailed), `create` on its absence."""

    __test__ = False

    def __init__(self) -> None:
        from chalicelib.domain.testcases import TestCase

        self._cls = TestCase
        self.heads: dict[tuple[str, str], dict[str, Any]] = {}
        self.versions_of: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
        self.counters: dict[tuple[str, str], dict[str, int]] = {}
        self.generations: dict[str, int] = {}  # catalogue generations an import moved

    def _case(self, data: dict[str, Any]) -> Any:
        return self._cls.from_dict(copy.deepcopy(data))

    def _write(self, case: Any) -> None:
        key = (case.project, case.test_case_id)
        self.heads[key] = case.to_dict()
        self.versions_of.setdefault(key, {})[case.version] = case.version_item()

    def get(self, project: str, test_case_id: str) -> Any:
        data = self.heads.get((project, test_case_id))
        return self._case(data) if data else None

    def get_many(self, project: str, test_case_ids: Sequence[str]) -> dict[str, Any]:
        return {tc: c for tc in test_case_ids if (c := self.get(project, tc)) is not None}

    def current_versions(self, project: str, test_case_ids: Sequence[str]) -> dict[str, int]:
        return {tc: c.version for tc, c in self.get_many(project, test_case_ids).items()}

    def create(self, case: Any, also: Sequence[dict[str, Any]] = ()) -> None:
        if (case.project, case.test_case_id) in self.heads:
            raise Conflict(f"test case {case.test_case_id} exists")
        self._write(case)
        for item in also:
            item["apply"]()

    def save(self, case: Any, expected_version: int, also: Sequence[dict[str, Any]] = ()) -> None:
        from chalicelib.errors import PreconditionFailed

        head = self.heads.get((case.project, case.test_case_id))
        versions = self.versions_of.get((case.project, case.test_case_id), {})
        if head is None or head["version"] != expected_version or case.version in versions:
            raise PreconditionFailed(f"not at version {expected_version}")
        self._write(case)
        for item in also:
            item["apply"]()

    def put_many(self, cases: Sequence[Any]) -> None:
        for case in cases:
            self._write(case)

    def bump_generation(self, project: str) -> None:
        self.generations[project] = self.generations.get(project, 0) + 1

    def versions(self, project: str, test_case_id: str) -> list[dict[str, Any]]:
        found = self.versions_of.get((project, test_case_id), {})
        return [copy.deepcopy(found[v]) for v in sorted(found)]

    def page(self, project: str, *, limit: int, cursor: Cursor | None) -> tuple[list, Any]:
        ids = sorted(tc for p, tc in self.heads if p == project)
        start = ids.index(cursor["after"]) + 1 if cursor else 0
        chosen = ids[start : start + limit]
        more = start + limit < len(ids)
        return [self.get(project, tc) for tc in chosen], ({"after": chosen[-1]} if more else None)

    def every(self, project: str) -> Any:
        return iter([self.get(project, tc) for p, tc in sorted(self.heads) if p == project])

    def note_execution(self, project: str, test_case_id: str, last: dict[str, Any]) -> Any:
        head = self.heads.get((project, test_case_id))
        if head is None:
            return None
        before = head.get("lastExecution")
        order = (last["at"], int(last.get("attempt") or 1))
        if before and (before["at"], int(before.get("attempt") or 1)) > order:
            return None
        old = self._case(head)
        head["lastExecution"] = copy.deepcopy(last)
        head.pop("uncounted", None)
        return old

    def add_counts(self, project: str, deltas: dict[str, dict[str, int]]) -> None:
        for module, delta in deltas.items():
            bucket = self.counters.setdefault((project, module), {"name": module})  # type: ignore[dict-item]
            for k, v in delta.items():
                bucket[k] = bucket.get(k, 0) + v

    def count_items(self, project: str, deltas: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
        """Transaction items whose `apply` moves the counters (applied by create/save)."""
        return [
            {"apply": lambda m=m, d=d: self.add_counts(project, {m: d})} for m, d in deltas.items()
        ]

    def module_counts(self, project: str) -> list[dict[str, Any]]:
        return [dict(v) for (p, _), v in sorted(self.counters.items()) if p == project]


class FakeRequirements:
    """The adapter's RequirementRepository: requirements, links, scope membership, sync mark."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.link_items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.sync: dict[str, dict[str, Any]] = {}

    def get(self, project: str, requirement_id: str) -> Any:
        from chalicelib.domain.requirements import Requirement

        data = self.items.get((project, requirement_id))
        return Requirement.from_dict(copy.deepcopy(data)) if data else None

    def get_many(self, project: str, ids: Sequence[str]) -> dict[str, Any]:
        return {r: x for r in ids if (x := self.get(project, r)) is not None}

    def put(self, requirement: Any) -> Any:
        old = self.get(requirement.project, requirement.requirement_id)
        self.items[(requirement.project, requirement.requirement_id)] = requirement.to_dict()
        return old

    def ensure(self, project: str, ids: Sequence[str], at: str) -> None:
        for r in ids:
            self.items.setdefault(
                (project, r),
                {"project": project, "requirementId": r, "source": "local", "updatedAt": at},
            )

    def links(self, project: str, requirement_id: str) -> list[Any]:
        from chalicelib.domain.requirements import CoverageLink

        return [
            CoverageLink.from_dict(copy.deepcopy(v))
            for (p, r, _), v in sorted(self.link_items.items())
            if (p, r) == (project, requirement_id)
        ]

    def link(self, links: Sequence[Any]) -> None:
        for link in links:
            self.link_items[(link.project, link.requirement_id, link.test_case_id)] = link.to_dict()

    def unlink(self, project: str, pairs: Sequence[tuple[str, str]]) -> None:
        for r, tc in pairs:
            self.link_items.pop((project, r, tc), None)

    def note_execution(
        self,
        project: str,
        requirement_id: str,
        test_case_id: str,
        fields: dict[str, Any],
        scopes: dict[str, dict[str, Any]],
    ) -> None:
        item = self.link_items.get((project, requirement_id, test_case_id))
        if item is None:
            return
        item.update(copy.deepcopy(fields))
        item.setdefault("in", {}).update(copy.deepcopy(scopes))

    def page_with_links(self, project: str, *, limit: int, cursor: Cursor | None) -> Any:
        ids = sorted(r for p, r in self.items if p == project)
        start = ids.index(cursor["after"]) + 1 if cursor else 0
        chosen = ids[start : start + limit]
        more = start + limit < len(ids)
        rows = [(self.get(project, r), self.links(project, r)) for r in chosen]
        return rows, ({"after": chosen[-1]} if more else None)

    def members(self, project: str, kind: str, name: str) -> list[str]:
        field_name = "fixVersions" if kind == "release" else "sprints"
        return sorted(
            r for (p, r), v in self.items.items() if p == project and name in v.get(field_name, [])
        )

    def last_sync(self, project: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.sync.get(project))

    def set_last_sync(self, project: str, sync: dict[str, Any]) -> None:
        self.sync[project] = copy.deepcopy(sync)


class FakeStories:
    """Jira's stories as the StorySource port reads them; records every JQL asked."""

    def __init__(self) -> None:
        self.stories_by_key: dict[str, dict[str, Any]] = {}
        self.queries: list[str] = []

    def stories(self, jql: str, sprint_field: str | None = None) -> Any:
        self.queries.append(jql)
        return iter([copy.deepcopy(s) for _, s in sorted(self.stories_by_key.items())])


class FakeFlakyStore:
    """Flaky histories and quarantines in memory, with the DynamoDB store's version check and
    sparse listing (a history is listed while flaky; a quarantine always)."""

    def __init__(self) -> None:
        self.cases: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.quarantines: dict[tuple[str, str], dict[str, Any]] = {}
        self.loads = 0

    def load(
        self, project: str, cases: Sequence[tuple[str, str]], scenarios: Sequence[str]
    ) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
        self.loads += 1
        histories = {
            (s, tc): copy.deepcopy(self.cases[(project, s, tc)])
            for s, tc in cases
            if (project, s, tc) in self.cases
        }
        quarantines = {
            s: copy.deepcopy(self.quarantines[(project, s)])
            for s in scenarios
            if (project, s) in self.quarantines
        }
        return histories, quarantines

    def save_history(
        self,
        project: str,
        scenario_id: str,
        test_case_id: str,
        fields: dict[str, Any],
        *,
        version: int | None,
        listed: bool,
    ) -> None:
        key = (project, scenario_id, test_case_id)
        held = self.cases.get(key)
        if (held.get("version") if held else None) != version:
            raise TransactionConflict()
        self.cases[key] = {
            **copy.deepcopy(fields),
            "project": project,
            "scenarioId": scenario_id,
            "testCaseId": test_case_id,
            "version": (version or 0) + 1,
            "listed": listed,
        }

    def put_quarantine(
        self, project: str, scenario_id: str, quarantine: dict[str, Any], expires_at: int
    ) -> None:
        self.quarantines[(project, scenario_id)] = {
            **quarantine,
            "project": project,
            "scenarioId": scenario_id,
            "expiresAt": expires_at,
        }

    def delete_quarantine(self, project: str, scenario_id: str) -> dict[str, Any] | None:
        return self.quarantines.pop((project, scenario_id), None)

    def listed(self, project: str) -> list[dict[str, Any]]:
        out = [
            {**q, "kind": "quarantine"} for (p, _), q in self.quarantines.items() if p == project
        ]
        out += [
            {**c, "kind": "case"}
            for (p, _, _), c in self.cases.items()
            if p == project and c.get("listed")
        ]
        return copy.deepcopy(out)
