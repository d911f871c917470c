"""The ports services depend on: small Protocols, implemented by the adapters (DynamoDB, S3,
SQS, Step Functions, Jira, Slack) in production and by in-memory fakes in unit tests. A service
never imports an adapter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import IO, Any, Protocol

from chalicelib.domain.delivery import CircuitState
from chalicelib.domain.executions import Execution
from chalicelib.domain.exports import Staged
from chalicelib.domain.lifecycle import Move
from chalicelib.domain.requirements import CoverageLink, Requirement
from chalicelib.domain.scenarios import Scenario
from chalicelib.domain.testcases import TestCase
from chalicelib.domain.tickets import Ticket

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


class TicketRepository(Protocol):
    def get(self, ticket_id: str, consistent: bool = True) -> Ticket: ...

    def page(
        self,
        project: str,
        *,
        status: str | None,
        module: str | None,
        limit: int,
        cursor: Cursor | None,
    ) -> tuple[list[Ticket], Cursor | None]: ...

    def of_scenario(self, project: str, scenario_id: str) -> list[Ticket]: ...

    def set_fields(
        self, ticket_id: str, fields: dict[str, Any], only_status: str | None = None
    ) -> bool: ...

    def update_draft(
        self, ticket_id: str, fields: dict[str, Any], entry: dict[str, Any]
    ) -> Ticket: ...

    def transition(
        self,
        ticket: Ticket,
        done: Move,
        *,
        extra: dict[str, Any] | None = None,
        also: Sequence[TransactItem] = (),
        point_scenario_to: tuple[str, str] | None = None,
    ) -> None: ...

    def absorb_update(self, target_id: str, source: Ticket, at: str) -> TransactItem: ...

    def claim_create_attempt(self, ticket_id: str, seen: int, now: int) -> bool: ...

    def add_steps(self, ticket_id: str, steps: set[str]) -> None: ...

    def add_warning(self, ticket_id: str, warning: str) -> None: ...

    def jira_index_put(self, jira_key: str, ticket_id: str) -> TransactItem: ...

    def by_jira_key(self, jira_key: str) -> str | None: ...


class Filing(Protocol):
    """Failures filed into tickets, atomically with their executions."""

    def open_draft(
        self,
        ticket: Ticket,
        executions: Sequence[Execution],
        replacing: str | None = None,
        runs: Sequence[dict[str, Any]] = (),
    ) -> None: ...

    def add_occurrences(
        self,
        ticket_id: str,
        executions: Sequence[Execution],
        reporters: set[str],
        at: str,
        runs: Sequence[dict[str, Any]] = (),
    ) -> None: ...

    def reopen_ended(
        self,
        ticket: Ticket,
        done: Move,
        executions: Sequence[Execution],
        reporters: set[str],
        runs: Sequence[dict[str, Any]] = (),
    ) -> None: ...


class ScenarioRepository(Protocol):
    def get(self, project: str, scenario_id: str, consistent: bool = False) -> Scenario | None: ...

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
    ) -> Scenario: ...


class ExecutionRepository(Protocol):
    def record(
        self, executions: Sequence[Execution], runs: Sequence[dict[str, Any]] = ()
    ) -> None: ...

    def get_many(
        self, project: str, run_id: str, cases: Sequence[tuple[str, int]]
    ) -> list[Execution]: ...

    def occurrences(self, ticket_id: str) -> list[Execution]: ...

    def occurrences_page(
        self, ticket_id: str, *, limit: int, cursor: Cursor | None
    ) -> tuple[list[Execution], Cursor | None]: ...

    def of_run(self, project: str, run_id: str) -> list[Execution]: ...

    def reidentify(self, execution: Execution, fields: dict[str, Any]) -> None: ...


class TestCaseRepository(Protocol):
    """Test case heads (the current version), their immutable versions, module counters."""

    def get(self, project: str, test_case_id: str) -> TestCase | None: ...

    def get_many(self, project: str, test_case_ids: Sequence[str]) -> dict[str, TestCase]: ...

    def create(self, case: TestCase) -> None: ...

    def save(self, case: TestCase, expected_version: int) -> None: ...

    def put_many(self, cases: Sequence[TestCase]) -> None: ...

    def versions(self, project: str, test_case_id: str) -> list[dict[str, Any]]: ...

    def page(
        self, project: str, *, limit: int, cursor: Cursor | None
    ) -> tuple[list[TestCase], Cursor | None]: ...

    def every(self, project: str) -> Iterator[TestCase]: ...

    def note_execution(
        self, project: str, test_case_id: str, last: dict[str, Any]
    ) -> TestCase | None: ...

    def add_counts(self, project: str, deltas: dict[str, dict[str, int]]) -> None: ...

    def module_counts(self, project: str) -> list[dict[str, Any]]: ...


class RequirementRepository(Protocol):
    """Requirements and stories, their links to test cases, release and sprint membership."""

    def get(self, project: str, requirement_id: str) -> Requirement | None: ...

    def get_many(self, project: str, ids: Sequence[str]) -> dict[str, Requirement]: ...

    def put(self, requirement: Requirement) -> Requirement | None: ...

    def ensure(self, project: str, ids: Sequence[str], at: str) -> None: ...

    def links(self, project: str, requirement_id: str) -> list[CoverageLink]: ...

    def link(self, links: Sequence[CoverageLink]) -> None: ...

    def unlink(self, project: str, pairs: Sequence[tuple[str, str]]) -> None: ...

    def note_execution(
        self,
        project: str,
        requirement_id: str,
        test_case_id: str,
        fields: dict[str, Any],
        scopes: dict[str, dict[str, Any]],
    ) -> None: ...

    def page_with_links(
        self, project: str, *, limit: int, cursor: Cursor | None
    ) -> tuple[list[tuple[Requirement, list[CoverageLink]]], Cursor | None]: ...

    def members(self, project: str, kind: str, name: str) -> list[str]: ...

    def last_sync(self, project: str) -> dict[str, Any] | None: ...

    def set_last_sync(self, project: str, sync: dict[str, Any]) -> None: ...


class TestCatalog(Protocol):
    """What recording results asks of the test cases: register the unknown ones and say which
    version each runs at. (What the results say reaches the test cases through the change
    stream: `services.testcases.CoverageReader`.)"""

    def register(
        self, project: str, results: Sequence[Any], at: str, by: str | None
    ) -> dict[str, int]: ...


class StorySource(Protocol):
    """Stories as Jira holds them: key, title, status, fixVersions, sprints, updated."""

    def stories(self, jql: str, sprint_field: str | None = None) -> Iterator[dict[str, Any]]: ...


class ProjectRepository(Protocol):
    def get(self, project: str) -> dict[str, Any] | None: ...

    def create(self, project: dict[str, Any]) -> None: ...

    def set_fields(self, project: str, fields: dict[str, Any]) -> None: ...

    def all(self) -> list[dict[str, Any]]: ...

    def bump_keys_generation(self, project: str) -> int: ...

    def put_module(self, project: str, module: dict[str, Any]) -> None: ...

    def get_module(self, project: str, module: str) -> dict[str, Any] | None: ...

    def modules(self, project: str) -> list[dict[str, Any]]: ...

    def put_knowledge(self, project: str, entry: dict[str, Any]) -> None: ...

    def knowledge(self, project: str, scenario_id: str) -> list[dict[str, Any]]: ...


class ApiKeyRepository(Protocol):
    def put(self, key_hash: str, key: dict[str, Any]) -> None: ...

    def get(self, key_hash: str) -> dict[str, Any] | None: ...

    def of_project(self, project: str) -> list[tuple[str, dict[str, Any]]]: ...

    def delete(self, key_hash: str) -> None: ...


class OutboxRepository(Protocol):
    def queue(self, lead: str, ticket_id: str, at: str) -> None: ...

    def pending(self, lead: str) -> list[dict[str, Any]]: ...

    def clear(self, items: Sequence[dict[str, Any]]) -> None: ...

    def digest_window(self, lead: str, now: int, seconds: int) -> tuple[int, bool]: ...

    def flush_scheduled(self, lead: str, closes: int) -> None: ...

    def claim_flush(self, lead: str, now: int, lease_seconds: int) -> bool: ...

    def release_flush(self, lead: str) -> None: ...


class NonceRepository(Protocol):
    def use(self, nonce: str, ticket_id: str, at: str, expires_at: int) -> TransactItem: ...

    def used(self, nonce: str) -> bool: ...


class UploadRepository(Protocol):
    def put(self, upload: dict[str, Any]) -> None: ...

    def get(self, upload_id: str) -> dict[str, Any] | None: ...

    def update(self, upload_id: str, fields: dict[str, Any]) -> None: ...

    def count_chunk(
        self, upload_id: str, chunk: int, counts: dict[str, int], at: str
    ) -> dict[str, Any] | None: ...

    def complete(self, upload_id: str, at: str) -> bool: ...


class AttachmentRepository(Protocol):
    def put(self, ticket_id: str, attachment: dict[str, Any]) -> None: ...

    def get(self, ticket_id: str, attachment_id: str) -> dict[str, Any] | None: ...

    def of_ticket(self, ticket_id: str) -> list[dict[str, Any]]: ...

    def settle(self, ticket_id: str, attachment_id: str, fields: dict[str, Any]) -> bool: ...


class DeliveryRepository(Protocol):
    def seen(self, identifier: str) -> bool: ...

    def remember(self, identifier: str, now: int) -> None: ...


class Workflow(Protocol):
    """The ticket workflow (Step Functions): one execution per ticket, named after it."""

    def start(self, name: str, payload: dict[str, Any]) -> bool: ...

    def answer(self, task_token: str, output: dict[str, Any]) -> None: ...


class Blobs(Protocol):
    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires: int
    ) -> dict[str, Any]: ...

    def presigned_get(self, key: str, expires: int) -> str: ...

    def head(self, key: str) -> dict[str, Any] | None: ...

    def read(self, key: str, max_bytes: int) -> bytes: ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def stream(self, key: str) -> Any: ...

    def delete(self, key: str) -> None: ...

    def put_if_changed(self, key: str, body: bytes, content_type: str) -> bool: ...

    @property
    def bucket(self) -> str: ...


class Queue(Protocol):
    """One SQS queue: work for later (optionally delayed)."""

    def send(self, body: dict[str, Any], delay_seconds: int = 0) -> None: ...


class Notifier(Protocol):
    """Slack: a message to a lead (by Slack user id) or to the team's channel."""

    def send(self, message: dict[str, Any], channel: str | None = None) -> None: ...


class Tracker(Protocol):
    """Jira, as the defect tracker."""

    def fields(self) -> list[dict[str, Any]]: ...

    def issue_types(self, project: str) -> list[dict[str, Any]]: ...

    def create_fields(self, project: str, issue_type_id: str) -> list[dict[str, Any]]: ...

    def link_types(self) -> list[dict[str, str]]: ...

    def create_issue(self, fields: dict[str, Any]) -> str: ...

    def find_by_label(self, label: str) -> str | None: ...

    def link(self, link_type: str, inward: str, outward: str) -> None: ...

    def remote_link(self, key: str, global_id: str, url: str, title: str) -> None: ...

    def attach(self, key: str, name: str, stream: IO[bytes]) -> str: ...

    def comment(self, key: str, body: str) -> None: ...

    def transition(self, key: str, name: str) -> None: ...

    def current(self, keys: list[str]) -> list[dict[str, Any]]: ...

    def resolution_and_last_comment(self, key: str) -> tuple[str | None, str | None]: ...

    def issue_url(self, key: str) -> str: ...


class MessageFormat(Protocol):
    """How a lead is asked (Slack Block Kit, in the Slack adapter)."""

    def draft_message(
        self, draft: dict[str, Any], links: dict[str, str], *, reminder: bool = False
    ) -> dict[str, Any]: ...

    def digest_messages(
        self,
        drafts: Sequence[tuple[dict[str, Any], dict[str, str]]],
        *,
        more: int = 0,
        more_url: str | None = None,
    ) -> list[dict[str, Any]]: ...


class IssueFormat(Protocol):
    """How a ticket reads as a Jira issue (the Jira adapter's formatting)."""

    JIRA_KEY: Any

    def unique_label(self, ticket_id: str) -> str: ...

    def description(
        self, ticket: dict[str, Any], occurrences: list[dict[str, Any]], ticket_url: str
    ) -> str: ...

    def issue_fields(
        self, mapping: dict[str, Any], ticket: dict[str, Any], text: str
    ) -> dict[str, Any]: ...

    def filled_fields(self, mapping: dict[str, Any]) -> set[str]: ...

    def resolve_link_type(self, wanted: str, available: list[dict[str, str]]) -> str | None: ...


class CircuitRepository(Protocol):
    """The circuit breaker of each Jira site, shared by every container (DynamoDB)."""

    def state(self, site: str) -> CircuitState: ...

    def failed(self, site: str, now: float, threshold: int, open_seconds: float) -> CircuitState:
        """One more consecutive failure; opens the circuit for `open_seconds` at `threshold`."""
        ...

    def claim_probe(self, site: str, now: float, open_seconds: float) -> bool:
        """The one caller that may try an open circuit now (the interval starts again)."""
        ...

    def throttled(self, site: str, until: float) -> None: ...

    def close(self, site: str) -> None: ...


class DelayNotices(Protocol):
    """Which of a lead's tickets an outage delays, so the lead hears once that they wait and
    once that they are through. Each method is idempotent (a redelivered message repeats it)."""

    def delayed(self, lead: str, ticket_id: str) -> bool:
        """Records the ticket as delayed; True for exactly one caller per episode of the lead."""
        ...

    def through(self, lead: str, ticket_id: str, outcome: str) -> dict[str, str] | None:
        """Records the ticket's outcome; when it was the lead's last delayed ticket of an episode
        whose delay was told, returns every outcome of the episode (once), else None."""
        ...

    def sent(self, notice_id: str) -> bool: ...

    def mark_sent(self, notice_id: str, now: int) -> None: ...


class AlreadyApplied(Exception):
    """A change event's applied-marker exists: the aggregates counted it before."""


class MetricsStore(Protocol):
    """The metrics aggregates (`domain.metrics`'s buckets and the reader's state), kept per
    project in generations: the reader writes the current one; a rebuild fills a new one and
    makes it current."""

    def generation(self, project: str) -> str: ...

    def set_generation(self, project: str, generation: str) -> None: ...

    def load_state(
        self, project: str, generation: str, keys: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], dict[str, Any] | None]: ...

    def commit(
        self,
        project: str,
        generation: str,
        event_ids: Sequence[str],
        state: dict[tuple[str, ...], tuple[dict[str, Any], int | None]],
        adds: dict[tuple[str, ...], dict[str, float]],
        appends: dict[tuple[str, ...], dict[str, list[float]]],
    ) -> None:
        """Atomically: mark the events applied (AlreadyApplied if one was), write the state
        (each item's version must still be the one read: TransactionConflict if not), add the
        counters and append the values. `state` maps key -> (value, version read or None)."""
        ...

    def days(
        self, project: str, generation: str, scope: str, start: str, end: str
    ) -> dict[str, dict[str, Any]]: ...

    def entities(
        self, project: str, generation: str, scope: str, kind: str, start: str, end: str
    ) -> list[tuple[str, str, dict[str, Any]]]: ...

    def gauge(self, project: str, generation: str, scope: str) -> dict[str, Any]: ...


class GateRepository(Protocol):
    def put(self, project: str, name: str, gate: dict[str, Any]) -> None: ...

    def get(self, project: str, name: str) -> dict[str, Any] | None: ...


class ExportStore(Protocol):
    """The exports' bookkeeping: staged rows, dirty day partitions, objects written, runs."""

    def stage(self, project: str, rows: Sequence[Staged], dirty: set[tuple[str, str]]) -> None: ...

    def dirty(self, project: str) -> list[tuple[str, str, str]]: ...

    def mark_dirty(self, project: str, dataset: str, day: str) -> None: ...

    def clear(self, project: str, dataset: str, day: str, token: str) -> bool: ...

    def rows(self, project: str, dataset: str, day: str) -> list[dict[str, Any]]: ...

    def written(self, project: str, dataset: str) -> dict[str, str]: ...

    def record_written(self, project: str, dataset: str, day: str, key: str) -> None: ...

    def put_job(self, project: str, export_id: str, job: dict[str, Any]) -> None: ...

    def get_job(self, project: str, export_id: str) -> dict[str, Any] | None: ...


class PageFeed(Protocol):
    """Each scenario's recent results and the project's recent activity (kept from the change
    stream for the pages)."""

    def add_results(self, results: Sequence[dict[str, Any]], expires_at: int) -> None: ...

    def recent_results(
        self, project: str, scenario_id: str, limit: int
    ) -> list[dict[str, Any]]: ...

    def add_activity(self, entries: Sequence[dict[str, Any]], expires_at: int) -> None: ...

    def activity(self, project: str, today: str, limit: int, days: int) -> list[dict[str, Any]]: ...


class ReportStore(Protocol):
    def put(self, report: dict[str, Any]) -> None: ...

    def get(self, project: str, report_id: str) -> dict[str, Any] | None: ...

    def put_schedule(self, schedule: dict[str, Any]) -> None: ...

    def schedules(self) -> list[dict[str, Any]]: ...

    def schedule_sent(self, project: str, name: str, at: str) -> None: ...
