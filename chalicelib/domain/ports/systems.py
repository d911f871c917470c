"""Ports of the outside systems: workflow, blobs, queues, Slack, Jira, and the outage
bookkeeping around them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, Protocol

from chalicelib.domain.ports.core import Cursor, Cursors, TransactItem  # noqa: F401

if TYPE_CHECKING:  # annotations only: a port's types are imported by its users
    from chalicelib.domain.delivery import CircuitState


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

    def commented_since(self, key: str, body: str, since: float) -> bool:
        """Whether the issue has a comment of exactly `body` created at or after `since`
        (epoch seconds), among its newest."""
        ...

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
