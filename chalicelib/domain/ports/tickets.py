"""Ports of the ticket loop's storage: tickets, filing, scenarios, executions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.ports.core import Cursor, Cursors, TransactItem  # noqa: F401

if TYPE_CHECKING:  # annotations only: a port's types are imported by its users
    from chalicelib.domain.clusters import Cluster, Label, Member
    from chalicelib.domain.executions import Execution
    from chalicelib.domain.lifecycle import Move
    from chalicelib.domain.scenarios import Scenario
    from chalicelib.domain.signatures import Signature
    from chalicelib.domain.tickets import Ticket


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
        self,
        ticket_id: str,
        fields: dict[str, Any],
        only_status: str | None = None,
        *,
        jira_before: int | None = None,
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
        jira_before: int | None = None,
    ) -> None: ...

    def absorb_update(self, target_id: str, source: Ticket, at: str) -> TransactItem: ...

    def claim_create_attempt(self, ticket_id: str, seen: int, now: int) -> bool: ...

    def add_steps(self, ticket_id: str, steps: set[str]) -> None: ...

    def claim_step(self, ticket_id: str, step: str, now: int, lease: int) -> bool: ...

    def release_step(self, ticket_id: str, step: str) -> None: ...

    def store_feedback_token(self, ticket_id: str, token: str, entered: str) -> bool: ...

    def add_warning(self, ticket_id: str, warning: str) -> None: ...

    def jira_index_put(self, jira_key: str, ticket_id: str) -> TransactItem: ...

    def by_jira_key(self, jira_key: str) -> str | None: ...


class ClusterRepository(Protocol):
    """Root causes across scenarios (`domain.clusters`) and the leads' labels."""

    def get(self, project: str, cluster_id: str) -> Cluster: ...

    def of_project(self, project: str) -> tuple[list[Cluster], list[Label]]: ...

    def found(self, cluster: Cluster) -> bool: ...

    def join(
        self,
        project: str,
        cluster_id: str,
        member: Member,
        signature: Signature,
        *,
        new_key: bool,
        sample: bool,
    ) -> bool: ...

    def remove_members(self, project: str, cluster_id: str, ticket_ids: list[str]) -> None: ...

    def claim_primary(self, project: str, cluster_id: str, ticket_id: str) -> str: ...

    def claim_decision(self, project: str, cluster_id: str, decision: str) -> str: ...

    def decided(self, project: str, cluster_id: str, decision: dict[str, Any]) -> None: ...

    def put_label(self, project: str, label: Label) -> None: ...


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

    def with_results(self, project: str, scenario_id: str) -> Scenario | None:
        """The scenario with its test cases and each one's latest result (the scenario page)."""
        ...

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

    def mark_flaky(self, project: str, scenario_id: str, test_case_id: str, flaky: bool) -> None:
        """Add the test case to (or take it from) the scenario's flaky ones; idempotent."""
        ...

    def set_quarantine_until(self, project: str, scenario_id: str, until: str | None) -> bool:
        """Set (None: remove) the scenario's quarantine end; False if there is no scenario."""
        ...


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

    def of_case(self, project: str, run_id: str, test_case_id: str) -> list[Execution]:
        """One test case's executions in a run, attempts in order."""
        ...

    def run(self, project: str, run_id: str) -> dict[str, Any] | None:
        """A reported run as its reports gave it (name, build, environment and its snapshot)."""
        ...

    def reidentify(self, execution: Execution, fields: dict[str, Any]) -> None: ...
