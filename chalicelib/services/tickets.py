"""Reading and editing tickets, and their evidence."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import settings
from chalicelib.clock import now_iso
from chalicelib.domain.executions import Execution
from chalicelib.domain.ports import (
    AttachmentRepository,
    Blobs,
    Cursors,
    ExecutionRepository,
    ProjectRepository,
    ScenarioRepository,
    TicketRepository,
)
from chalicelib.domain.statuses import TicketStatus
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed, field_problem
from chalicelib.ids import new_id
from chalicelib.models import AttachmentRequest, TicketPatch
from chalicelib.services.access import Principal

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
LATEST_OCCURRENCES = 20  # shown on the ticket; the rest through its occurrences' pages
DEFAULT_OCCURRENCE_PAGE = 50
MAX_OCCURRENCE_PAGE = 200  # 200 occurrences with 8 KB traces stay far below 6 MB
OCCURRENCE_FIELDS = (
    "executionId",
    "runId",
    "runName",
    "ciUrl",
    "testCaseId",
    "attempt",
    "reporter",
    "at",
    "actual",
    "error",
    "evidence",
)


def _limit(raw: str | None, *, default: int, most: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ValidationFailed(
            "limit is out of range", [field_problem("limit", f"must be a whole number 1..{most}")]
        )
    return int(raw)


@dataclass(frozen=True)
class Stores:
    """The repositories reading and editing tickets use."""

    tickets: TicketRepository
    scenarios: ScenarioRepository
    executions: ExecutionRepository
    attachments: AttachmentRepository
    projects: ProjectRepository


class TicketService:
    def __init__(
        self,
        stores: Stores,
        blobs: Blobs,
        cursors: Cursors,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._stores = stores
        self._tickets = stores.tickets
        self._blobs = blobs
        self._cursors = cursors
        self._clock = clock

    def _visible(self, ticket_id: str, principal: Principal) -> Ticket:
        ticket = self._tickets.get(ticket_id)
        if ticket.project != principal.project:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return ticket

    def get(self, ticket_id: str, principal: Principal) -> dict[str, Any]:
        """The ticket with its counts (`occurrences`, `firstSeenAt`, `lastSeenAt`), its latest
        occurrences (newest first, at most LATEST_OCCURRENCES) and, when there are more, where
        to page on: the view's size does not grow with the ticket's history."""
        ticket = self._visible(ticket_id, principal)
        page, next_key = self._stores.executions.occurrences_page(
            ticket_id, limit=LATEST_OCCURRENCES, cursor=None
        )
        attachments = [
            self._attachment_view(a) for a in self._stores.attachments.of_ticket(ticket_id)
        ]
        knowledge = [
            k
            for k in self._stores.projects.knowledge(ticket.project, ticket.scenario_id)
            if k.get("ticketId") != ticket_id
        ]
        view = ticket.public_view()
        if view.get("error"):
            view["error"] = self._error_view(view["error"])
        return {
            **view,
            "knowledge": knowledge,
            "executions": [self._occurrence_view(e) for e in page],
            "moreExecutions": self._more(ticket_id, next_key),
            "attachments": attachments,
        }

    def occurrences(
        self, ticket_id: str, principal: Principal, *, cursor: str | None, limit: str | None
    ) -> dict[str, Any]:
        """One page of a ticket's occurrences, newest first."""
        self._visible(ticket_id, principal)
        size = _limit(limit, default=DEFAULT_OCCURRENCE_PAGE, most=MAX_OCCURRENCE_PAGE)
        page, next_key = self._stores.executions.occurrences_page(
            ticket_id, limit=size, cursor=self._cursors.decode(cursor)
        )
        return {
            "items": [self._occurrence_view(e) for e in page],
            "next": self._cursors.encode(next_key),
        }

    def _more(self, ticket_id: str, next_key: dict[str, Any] | None) -> dict[str, str] | None:
        cursor = self._cursors.encode(next_key)
        if cursor is None:
            return None
        return {"cursor": cursor, "href": f"/v1/tickets/{ticket_id}/occurrences?cursor={cursor}"}

    def _occurrence_view(self, execution: Execution) -> dict[str, Any]:
        e = execution.to_dict()
        view = {k: e[k] for k in OCCURRENCE_FIELDS if e.get(k) is not None}
        if view.get("error"):
            view["error"] = self._error_view(view["error"])
        return view

    def _error_view(self, error: dict[str, Any]) -> dict[str, Any]:
        """A trace stored in S3 is shown by its preview and a link to the whole of it."""
        if not error.get("traceKey"):
            return error
        view = {k: v for k, v in error.items() if k != "traceKey"}
        view["traceUrl"] = self._blobs.presigned_get(error["traceKey"], settings.PRESIGN_SECONDS)
        return view

    def _attachment_view(self, attachment: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in attachment.items() if k not in ("key", "project")}
        if attachment.get("status") == "stored":
            view["url"] = self._blobs.presigned_get(attachment["key"], settings.PRESIGN_SECONDS)
        return view

    def list(
        self,
        project: str,
        *,
        status: str | None,
        module: str | None,
        cursor: str | None,
        limit: int = 50,
    ) -> dict[str, Any]:
        if status is not None and status not in {s.value for s in TicketStatus}:
            raise ValidationFailed(
                "unknown ticket status",
                [
                    field_problem(
                        "status", "must be one of " + ", ".join(s.value for s in TicketStatus)
                    )
                ],
            )
        items, next_key = self._tickets.page(
            project,
            status=status,
            module=module,
            limit=limit,
            cursor=self._cursors.decode(cursor),
        )
        return {"items": [i.public_view() for i in items], "next": self._cursors.encode(next_key)}

    def patch(self, ticket_id: str, patch: TicketPatch, principal: Principal) -> dict[str, Any]:
        self._visible(ticket_id, principal)
        fields = patch.model_dump(exclude_unset=True)
        if not fields:
            raise ValidationFailed(
                "nothing to change",
                [field_problem("body", "set at least one of actual, notes, severity, priority")],
            )
        entry = {
            "at": self._clock(),
            "status": TicketStatus.DRAFT.value,
            "by": principal.user,
            "reason": "edited " + ", ".join(sorted(fields)),
        }
        return self._tickets.update_draft(ticket_id, fields, entry).public_view()

    def request_attachment(
        self, ticket_id: str, request: AttachmentRequest, principal: Principal
    ) -> dict[str, Any]:
        ticket = self._visible(ticket_id, principal)
        if not ticket.live:
            raise Conflict(f"ticket {ticket_id} is {ticket.status}; evidence is closed")
        if request.content_type not in settings.EVIDENCE_CONTENT_TYPES:
            raise ValidationFailed(
                "this kind of file is not accepted as evidence",
                [
                    field_problem(
                        "contentType",
                        "must be one of " + ", ".join(settings.EVIDENCE_CONTENT_TYPES),
                    )
                ],
            )
        if request.size > settings.MAX_EVIDENCE_BYTES:
            raise PayloadTooLarge(
                "evidence is too large",
                [field_problem("size", f"must be at most {settings.MAX_EVIDENCE_BYTES} bytes")],
            )
        attachment_id = new_id("at")
        name = _SAFE_NAME.sub("_", request.file_name)[:120]
        key = f"evidence/{ticket_id}/{attachment_id}/{name}"
        self._stores.attachments.put(
            ticket_id,
            {
                "attachmentId": attachment_id,
                "ticketId": ticket_id,
                "fileName": request.file_name,
                "contentType": request.content_type,
                "declaredSize": request.size,
                "kind": request.kind,
                "key": key,
                "status": "pending",
                "uploadedBy": principal.user,
                "createdAt": self._clock(),
            },
        )
        post = self._blobs.presigned_post(
            key,
            content_type=request.content_type,
            max_bytes=request.size,
            expires=settings.PRESIGN_SECONDS,
        )
        return {"attachmentId": attachment_id, "url": post["url"], "fields": post["fields"]}

    def settle_evidence(self, key: str) -> str:
        """An evidence object landed in S3: keep it if it is what was announced, else drop it.
        S3 enforces the presigned policy on AWS; we check again because not every store does."""
        parts = key.split("/")
        if len(parts) < 4:
            return "ignored"
        ticket_id, attachment_id = parts[1], parts[2]
        attachment = self._stores.attachments.get(ticket_id, attachment_id)
        if attachment is None or attachment.get("key") != key:
            self._blobs.delete(key)
            return "unknown"
        if attachment["status"] != "pending":
            return attachment["status"]
        head = self._blobs.head(key)
        if head is None:
            return "missing"
        problem = None
        if head["size"] > min(int(attachment["declaredSize"]), settings.MAX_EVIDENCE_BYTES):
            problem = (
                f"{head['size']} bytes is more than the {attachment['declaredSize']} announced"
            )
        elif head["contentType"].split(";")[0].strip() != attachment["contentType"]:
            problem = f"content type {head['contentType']} is not {attachment['contentType']}"
        if problem:
            self._blobs.delete(key)
            self._stores.attachments.settle(
                ticket_id, attachment_id, {"status": "rejected", "reason": problem}
            )
            return "rejected"
        self._stores.attachments.settle(
            ticket_id,
            attachment_id,
            {"status": "stored", "size": head["size"], "storedAt": self._clock()},
        )
        return "stored"

    def scenario(self, project: str, scenario_id: str) -> dict[str, Any]:
        scenario = self._stores.scenarios.with_results(project, scenario_id)
        if scenario is None:
            raise NotFound(f"scenario {scenario_id} does not exist")
        tickets = self._tickets.of_scenario(project, scenario_id)
        return {
            "id": scenario_id,
            "project": project,
            "module": scenario.module,
            "title": scenario.title,
            "status": scenario.status.value,
            "testCases": scenario.test_cases,
            "testCaseResults": scenario.test_case_view(),
            "failingTestCases": scenario.failing_test_cases,
            "lastExecution": scenario.last_execution,
            "liveTicket": scenario.live_ticket_id,
            "tickets": [
                {
                    "id": t.id,
                    "status": t.status,
                    "createdAt": t.created_at,
                    "occurrences": t.occurrences,
                    "jira": t.jira,
                }
                for t in tickets
            ],
        }
