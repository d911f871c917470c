"""What the pages show: the dashboard (metrics figures, flaky top list, recent activity), a
ticket (evidence, occurrences paged, the scenario's last results, look-alike open tickets,
knowledge-base hints) and a run. Reads only: a page never changes state.

The scenario strip, the activity list and the look-alike buckets (live tickets by error type)
are kept from the change stream by `PageFeedReader` (every execution and ticket move is an
event), so no page scans anything."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib import settings
from chalicelib.clock import now_iso
from chalicelib.domain import metrics as m
from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.executions import final_results, run_counts
from chalicelib.domain.ports import (
    AttachmentRepository,
    Blobs,
    ExecutionRepository,
    MetricsStore,
    PageFeed,
    ProjectRepository,
    TicketRepository,
)
from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.domain.statuses import is_live
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import NotFound

STRIP = 20
OCCURRENCES_PER_PAGE = 20
ACTIVITY = 15
ACTIVITY_DAYS = 14
FLAKY_TOP = 10
KEEP_SECONDS = 90 * 24 * 3600
LOOK_ALIKE_SCAN = 100  # newest live tickets of the error type compared (bounded work per page)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


class Figures(Protocol):
    """The metrics service's side the pages use."""

    def period(self, start: str | None, end: str | None) -> m.Period: ...

    def figures(
        self, project: str, period: m.Period, module: str | None = None
    ) -> dict[str, Any]: ...


class PageFeedReader:
    """The change stream's reader for the pages: executions into their scenario's strip,
    ticket openings and moves into the project's activity and its error type's look-alike
    bucket. Puts are idempotent; the bucket follows the ticket as it is when the event is read
    (live: in it; ended or merged: out), so a late or repeated event changes nothing."""

    name = "pages"

    def __init__(
        self, feed: PageFeed, clock: Callable[[], float], tickets: TicketRepository | None = None
    ) -> None:
        self.feed = feed
        self._clock = clock
        self._tickets = tickets

    def apply(self, events: Sequence[ChangeEvent]) -> None:
        results, activity = [], []
        for e in events:
            d = e.data
            if e.kind == ChangeKind.EXECUTION_RECORDED and d.get("scenarioId"):
                results.append(
                    {
                        "project": e.project,
                        "scenarioId": d["scenarioId"],
                        "executionId": d.get("executionId", e.subject),
                        "runId": d.get("runId"),
                        "testCaseId": d.get("testCaseId"),
                        "status": d.get("status"),
                        "at": e.at,
                        **({"ticketId": d["ticketId"]} if d.get("ticketId") else {}),
                    }
                )
            elif e.kind in (ChangeKind.TICKET_OPENED, ChangeKind.TICKET_MOVED) and e.at:
                activity.append(
                    {
                        "project": e.project,
                        "id": e.id,
                        "at": e.at,
                        "ticketId": d.get("ticketId", e.subject),
                        "scenarioId": d.get("scenarioId"),
                        "module": d.get("module"),
                        "from": d.get("from"),
                        "to": d.get("to"),
                        "by": d.get("by"),
                    }
                )
        expires = int(self._clock()) + KEEP_SECONDS
        if results:
            self.feed.add_results(results, expires)
        if activity:
            self.feed.add_activity(activity, expires)
        for ticket_id in dict.fromkeys(a["ticketId"] for a in activity):
            self._sort_into_bucket(str(ticket_id))

    def _sort_into_bucket(self, ticket_id: str) -> None:
        if self._tickets is None:
            return
        try:
            ticket = self._tickets.get(ticket_id)
        except NotFound:
            return
        entry = look_alike_entry(ticket)
        if is_live(ticket.status) and not ticket.merged_into:
            self.feed.put_look_alike(entry)
        else:
            self.feed.drop_look_alike(entry)


def look_alike_entry(ticket: Ticket) -> dict[str, Any]:
    """What a look-alike bucket keeps of a ticket: what the score compares and the page shows."""
    error = ticket.error or {}
    return {
        "project": ticket.project,
        "id": ticket.id,
        "createdAt": ticket.created_at,
        "errorType": str(error.get("type") or ""),
        "message": str(error.get("message") or ""),
        "actual": ticket.actual,
        "title": ticket.title,
        "status": ticket.status,
        "module": ticket.module,
        "scenarioId": ticket.scenario_id,
        "jira": ticket.jira,
    }


@dataclass(frozen=True)
class Stores:
    tickets: TicketRepository
    executions: ExecutionRepository
    attachments: AttachmentRepository
    projects: ProjectRepository
    feed: PageFeed
    metrics: MetricsStore


def _words(text: str | None) -> set[str]:
    """A failure message reduced to its words: numbers, ids and quotes dropped."""
    text = re.sub(r"0x[0-9a-f]+|\d+|[\"'`]", " ", (text or "").lower())
    return {w for w in re.findall(r"[a-z_]{3,}", text)}


def look_alike_score(a: Ticket | dict[str, Any], b: Ticket | dict[str, Any]) -> float:
    """How much two tickets look like the same failure: 0..1 (error type, message words, title).
    Either side may be a ticket or its look-alike bucket entry."""
    ea, eb = (x if isinstance(x, dict) else look_alike_entry(x) for x in (a, b))
    words_a = _words(f"{ea.get('message')} {ea.get('actual')} {ea.get('title')}")
    words_b = _words(f"{eb.get('message')} {eb.get('actual')} {eb.get('title')}")
    union = words_a | words_b
    score = len(words_a & words_b) / len(union) if union else 0.0
    if ea.get("errorType") and ea.get("errorType") == eb.get("errorType"):
        score = min(1.0, score + 0.25)
    return round(score, 2)


class PageService:
    def __init__(
        self,
        stores: Stores,
        metrics: Figures,
        blobs: Blobs,
        *,
        clock: Callable[[], str] = now_iso,
        flaky_list: Callable[[str], dict[str, Any]] | None = None,
    ) -> None:
        self.flaky_list = flaky_list  # flaky test cases across runs, and quarantines
        self.stores = stores
        self.metrics = metrics
        self.blobs = blobs
        self._clock = clock

    def _project(self, project: str) -> dict[str, Any]:
        found = self.stores.projects.get(project)
        if found is None:
            raise NotFound(f"no project {project!r}")
        return found

    # -- dashboard -----------------------------------------------------------------------------

    def dashboard(
        self, project: str, start: str | None, end: str | None, module: str | None
    ) -> dict[str, Any]:
        self._project(project)
        period = self.metrics.period(start, end)
        figures = self.metrics.figures(project, period, module or None)
        return {
            "project": project,
            "module": module or None,
            "modules": sorted(x["name"] for x in self.stores.projects.modules(project)),
            "figures": figures,
            "flaky": self.flaky_top(project, period, module or None),
            "flakyCases": self.flaky_list(project) if self.flaky_list else None,
            "activity": self.stores.feed.activity(
                project, self._clock()[:10], ACTIVITY, ACTIVITY_DAYS
            ),
        }

    def flaky_top(self, project: str, period: m.Period, module: str | None) -> list[dict[str, Any]]:
        """Scenarios by flaky results in the period (a flaky result: a retry changed the
        outcome), with their executions."""
        store = self.stores.metrics
        gen = store.generation(project)
        wanted = [k for k in m.period_keys(period, module or m.ALL, period.end) if k[0] == "scn"]
        counters = m.entity_counters(store.buckets(project, gen, wanted), "scn")
        executions = counters.get("x", {})
        top = sorted(
            ((s, int(f), int(executions.get(s, 0))) for s, f in counters.get("f", {}).items() if f),
            key=lambda r: (-r[1], r[0]),
        )[:FLAKY_TOP]
        return [
            {"scenarioId": s, "flaky": f, "executions": x, "rate": m.ratio(f, x)} for s, f, x in top
        ]

    # -- a ticket --------------------------------------------------------------------------------

    def ticket_project(self, ticket_id: str, project: str) -> Ticket:
        """The ticket, if it is the project's (another project's tickets do not exist here)."""
        ticket = self.stores.tickets.get(ticket_id)
        if ticket.project != project:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return ticket

    def ticket(self, ticket_id: str, project: str, page: int = 1) -> dict[str, Any]:
        ticket = self.ticket_project(ticket_id, project)
        total = int(ticket.occurrences or 0)
        pages = max(1, -(-total // OCCURRENCES_PER_PAGE))
        page = min(max(1, page), pages)
        # newest first: one Query of page x 20 (a page number, not a cursor, is what a link keeps)
        newest, _ = self.stores.executions.occurrences_page(
            ticket_id, limit=page * OCCURRENCES_PER_PAGE, cursor=None
        )
        shown = [e.to_dict() for e in newest[(page - 1) * OCCURRENCES_PER_PAGE :]]
        strip = list(reversed(self.stores.feed.recent_results(project, ticket.scenario_id, STRIP)))
        return {
            "ticket": ticket.public_view(),
            "error": ticket.error or {},
            "evidence": self._evidence(ticket),
            "occurrences": shown,
            "occurrencePage": {"page": page, "pages": pages, "total": total},
            "strip": strip,
            "lookAlikes": self.look_alikes(ticket),
            "knowledge": [
                k
                for k in self.stores.projects.knowledge(project, ticket.scenario_id)
                if k.get("ticketId") != ticket_id
            ],
        }

    def _evidence(self, ticket: Ticket) -> dict[str, list[dict[str, Any]]]:
        """Screenshots to show inline, everything else (logs, videos, reports) to link."""
        images: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        for a in self.stores.attachments.of_ticket(ticket.id):
            if a.get("status") != "stored":
                continue
            item = {
                "name": a.get("fileName"),
                "contentType": a.get("contentType"),
                "kind": a.get("kind"),
                "size": a.get("size"),
                "url": self.blobs.presigned_get(a["key"], settings.PRESIGN_SECONDS),
            }
            (images if a.get("contentType") in IMAGE_TYPES else files).append(item)
        for e in ticket.evidence or []:
            url = e.get("url")
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                files.append({"name": e.get("name") or url, "url": url, "kind": e.get("kind")})
        for name, url in (("test report", ticket.report_url), ("test script", ticket.script_url)):
            if url:
                files.append({"name": name, "url": url, "kind": "link"})
        return {"images": images, "files": files}

    def look_alikes(self, ticket: Ticket, limit: int = 5) -> list[dict[str, Any]]:
        """Live tickets of the project that look like the same failure, best first: the newest
        of the ticket's error type bucket (one Query), scored."""
        this = look_alike_entry(ticket)
        found = []
        for other in self.stores.feed.look_alikes(
            ticket.project, this["errorType"], LOOK_ALIKE_SCAN
        ):
            if other.get("id") == ticket.id:
                continue
            score = look_alike_score(this, other)
            if score >= 0.5:
                found.append((score, other))
        found.sort(key=lambda p: (-p[0], str(p[1].get("id"))))
        keep = ("id", "title", "status", "module", "scenarioId", "jira")
        return [{**{k: o.get(k) for k in keep}, "score": s} for s, o in found[:limit]]

    # -- a run ---------------------------------------------------------------------------------

    def run(self, project: str, run_id: str) -> dict[str, Any]:
        """The run: its test cases by final status (a failure a retry passed counts as passed,
        as the run's API summary counts), and every execution, attempts included."""
        self._project(project)
        recorded = self.stores.executions.of_run(project, run_id)
        executions = sorted(
            (e.to_dict() for e in recorded),
            key=lambda e: (e.get("status") != R.FAILED, str(e.get("scenarioId")), e.get("attempt")),
        )
        if not executions:
            raise NotFound(f"no run {run_id!r}")
        final = final_results(recorded)
        counts = run_counts(recorded)
        executed = counts[R.PASSED] + counts[R.FAILED] + counts[R.BLOCKED]
        first = executions[0]
        times = sorted(str(e.get("at")) for e in executions)
        return {
            "project": project,
            "runId": run_id,
            "name": first.get("runName"),
            "ciUrl": first.get("ciUrl"),
            "environment": first.get("environment"),
            "startedAt": times[0],
            "endedAt": times[-1],
            "counts": counts,
            "total": len(executions),
            "testCases": len(final),
            "passRate": m.ratio(counts[R.PASSED], executed),
            "executions": executions,
            # the failures that stand: each failing test case's last attempt
            "failures": [
                e
                for e in executions
                if e.get("status") == R.FAILED
                and final[str(e["testCaseId"])].execution_id == e.get("executionId")
            ],
        }
