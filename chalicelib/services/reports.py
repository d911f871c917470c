"""Reports: asked for over the API (202 and an id), built from the build queue into S3 (PDF, HTML
or CSV), fetched through a presigned URL; and report schedules that post the headline figures
and a link to Slack (the hourly tick sends what is due, once per slot)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from chalicelib.clock import now_iso
from chalicelib.domain.ports import (
    Blobs,
    ExecutionRepository,
    ProjectRepository,
    ReportStore,
    TicketRepository,
)
from chalicelib.domain.statuses import TicketStatus
from chalicelib.errors import NotFound, ValidationFailed, field_problem
from chalicelib.ids import new_id
from chalicelib.services.pages import PageService

DOWNLOAD_SECONDS = 900
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DEFECTS = 50_000


class Documents(Protocol):
    """The file formats (`chalicelib.web.reports`), wired in bootstrap."""

    FORMATS: dict[str, str]

    def executive_pdf(self, data: dict[str, Any], period_text: str) -> bytes: ...

    def executive_html(self, data: dict[str, Any]) -> bytes: ...

    def run_pdf(self, run: dict[str, Any]) -> bytes: ...

    def run_html(self, run: dict[str, Any]) -> bytes: ...

    def defects_pdf(
        self, project: str, tickets: Sequence[dict[str, Any]], period_text: str
    ) -> bytes: ...

    def defects_html(
        self, project: str, tickets: Sequence[dict[str, Any]], period_text: str
    ) -> bytes: ...

    def to_csv(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes: ...

    def headline(self, figures: dict[str, Any]) -> list[tuple[str, str]]: ...


@dataclass(frozen=True)
class Stores:
    reports: ReportStore
    projects: ProjectRepository
    tickets: TicketRepository
    executions: ExecutionRepository


class ReportService:
    def __init__(
        self,
        stores: Stores,
        pages: PageService,
        blobs: Blobs,
        enqueue: Callable[[dict[str, Any]], None],
        notify: Callable[[dict[str, Any]], None],
        documents: Documents,
        *,
        public_url: str,
        view_link: Callable[[str, str, str | None], str] | None = None,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self.stores = stores
        self.pages = pages
        self.blobs = blobs
        self._enqueue = enqueue
        self._notify = notify
        self._docs = documents
        self._public_url = public_url
        self._view_link = view_link  # (project, page, id) -> a signed view link (viewer)
        self._clock = clock

    # -- asking for one --------------------------------------------------------------------------

    def request(self, project: str, spec: dict[str, Any], by: str) -> dict[str, Any]:
        """Store the request and queue it: `{"reportId"}`. Nothing is built here."""
        if self.stores.projects.get(project) is None:
            raise NotFound(f"no project {project!r}")
        if spec["type"] == "test-run" and not spec.get("runId"):
            raise ValidationFailed(
                "a test-run report needs its run", [field_problem("runId", "is required")]
            )
        period = spec.get("period") or {}
        checked = self.pages.metrics.period(period.get("start"), period.get("end"))
        report = {
            "reportId": new_id("rp"),
            "project": project,
            "type": spec["type"],
            "format": spec.get("format") or "pdf",
            "period": {"start": checked.start, "end": checked.end},
            "runId": spec.get("runId"),
            "module": spec.get("module"),
            "status": "queued",
            "requestedAt": self._clock(),
            "requestedBy": by,
        }
        self.stores.reports.put(report)
        self._enqueue({"project": project, "reportId": report["reportId"]})
        return {"reportId": report["reportId"], "status": "queued"}

    def get(self, project: str, report_id: str) -> dict[str, Any]:
        report = self.stores.reports.get(project, report_id)
        if report is None:
            raise NotFound(f"no report {report_id!r}")
        view = {k: v for k, v in report.items() if k not in ("key", "project")}
        view["downloadUrl"] = None
        if report.get("status") == "done":
            view["downloadUrl"] = self.blobs.presigned_get(report["key"], DOWNLOAD_SECONDS)
            view["downloadExpiresInSeconds"] = DOWNLOAD_SECONDS
        return view

    def download_url(self, project: str, report_id: str) -> str:
        url = self.get(project, report_id)["downloadUrl"]
        if not url:
            raise NotFound(f"report {report_id} is not ready")
        return str(url)

    # -- building (the build queue's handler) ---------------------------------------------------

    def build(self, project: str, report_id: str) -> str:
        """Build the file into S3 and mark the report done. A redelivered message finds it done
        and does nothing; a failure marks it failed only when raised on the last receive (the
        queue's DLQ keeps the message)."""
        report = self.stores.reports.get(project, report_id)
        if report is None:
            return "unknown"
        if report.get("status") == "done":
            return "done"
        body, ext = self._render(report)
        key = f"reports/{project}/{report_id}.{ext}"
        self.blobs.put_if_changed(key, body, self._docs.FORMATS[ext])
        self.stores.reports.put(
            {**report, "status": "done", "key": key, "size": len(body), "builtAt": self._clock()}
        )
        return "done"

    def failed(self, project: str, report_id: str, reason: str) -> None:
        report = self.stores.reports.get(project, report_id)
        if report is not None and report.get("status") != "done":
            self.stores.reports.put({**report, "status": "failed", "reason": reason[:500]})

    def _render(self, report: dict[str, Any]) -> tuple[bytes, str]:
        fmt, kind, project = report["format"], report["type"], report["project"]
        period = report["period"]
        period_text = f"{period['start']} to {period['end']}" + (
            f", module {report['module']}" if report.get("module") else ""
        )
        if kind == "executive-summary":
            data = self.pages.dashboard(
                project, period["start"], period["end"], report.get("module")
            )
            if fmt == "pdf":
                return self._docs.executive_pdf(data, period_text), "pdf"
            if fmt == "html":
                return self._docs.executive_html(data), "html"
            rows = self._docs.headline(data["figures"])
            return self._docs.to_csv(["figure", "value"], rows), "csv"
        if kind == "test-run":
            run = self.pages.run(project, report["runId"])
            if fmt == "csv":
                cols = ["executionId", "scenarioId", "testCaseId", "attempt", "status", "at"]
                return self._docs.to_csv(
                    [*cols, "ticketId"],
                    [[e.get(c) for c in [*cols, "ticketId"]] for e in run["executions"]],
                ), "csv"
            if fmt == "html":
                return self._docs.run_html(run), "html"
            return self._docs.run_pdf(run), "pdf"
        tickets = self._defects(project, period["start"], period["end"], report.get("module"))
        if fmt == "csv":
            cols = ["id", "status", "severity", "priority", "module", "scenarioId", "title"]
            return self._docs.to_csv(
                [*cols, "createdAt", "jiraKey"],
                [
                    [t.get(c) for c in cols]
                    + [t.get("createdAt"), (t.get("jira") or {}).get("key")]
                    for t in tickets
                ],
            ), "csv"
        if fmt == "html":
            return self._docs.defects_html(project, tickets, period_text), "html"
        return self._docs.defects_pdf(project, tickets, period_text), "pdf"

    def _defects(
        self, project: str, start: str, end: str, module: str | None
    ) -> list[dict[str, Any]]:
        """Tickets created in the period: a Query per status (gsi1 is status#createdAt)."""
        out: list[dict[str, Any]] = []
        for status in TicketStatus:
            cursor = None
            while len(out) < MAX_DEFECTS:
                items, cursor = self.stores.tickets.page(
                    project, status=status.value, module=module, limit=500, cursor=cursor
                )
                out.extend(t.public_view() for t in items if start <= t.created_at[:10] <= end)
                if not cursor:
                    break
        return sorted(out, key=lambda t: str(t.get("createdAt")), reverse=True)

    # -- schedules -------------------------------------------------------------------------------

    def save_schedule(self, project: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        if self.stores.projects.get(project) is None:
            raise NotFound(f"no project {project!r}")
        schedule = {**spec, "project": project, "name": name, "updatedAt": self._clock()}
        self.stores.reports.put_schedule(schedule)
        return {k: v for k, v in schedule.items() if k != "project"} | {"project": project}

    def due(self, schedule: dict[str, Any], now: datetime) -> str | None:
        """The slot (`YYYY-MM-DDTHH`) the schedule is due for at `now`, if not sent yet."""
        if now.hour < int(schedule.get("hour", 9)):
            return None
        weekly = schedule.get("every", "week") == "week"
        if weekly and WEEKDAYS[now.weekday()] != schedule.get("weekday", "monday"):
            return None
        slot = f"{now.date().isoformat()}T{int(schedule.get('hour', 9)):02d}"
        if str(schedule.get("lastSentAt") or "") >= slot:
            return None
        return slot

    def send_due(self, now: datetime | None = None) -> dict[str, int]:
        """The hourly tick: each due schedule posts once (its slot is recorded)."""
        now = now or datetime.now(UTC)
        sent = 0
        for schedule in self.stores.reports.schedules():
            slot = self.due(schedule, now)
            if slot is None:
                continue
            self.send(schedule, now.date())
            self.stores.reports.schedule_sent(schedule["project"], schedule["name"], slot)
            sent += 1
        return {"sent": sent}

    def send(self, schedule: dict[str, Any], today: date) -> dict[str, Any]:
        """Ask for the report (built from the queue) and post the headline with the links."""
        project = schedule["project"]
        end = today - timedelta(days=1)
        start = end - timedelta(days=int(schedule.get("periodDays", 7)) - 1)
        spec = {
            "type": schedule.get("type", "executive-summary"),
            "format": schedule.get("format", "pdf"),
            "period": {"start": start.isoformat(), "end": end.isoformat()},
            "module": schedule.get("module"),
        }
        report = self.request(project, spec, f"schedule:{schedule['name']}")
        data = self.pages.dashboard(
            project, spec["period"]["start"], end.isoformat(), spec["module"]
        )
        message = self.slack_message(project, schedule["name"], data, report["reportId"])
        self._notify(message)
        return message

    def slack_message(
        self, project: str, name: str, data: dict[str, Any], report_id: str
    ) -> dict[str, Any]:
        period = data["figures"]["period"]
        lines = [f"*{name}*: {project}, {period['start']} to {period['end']}"]
        lines += [f"• {k}: {v}" for k, v in self._docs.headline(data["figures"])[:6]]
        links = []
        if self._view_link is not None:
            links.append(f"<{self._view_link(project, 'dashboard', None)}|Dashboard>")
            links.append(f"<{self._view_link(project, 'report', report_id)}|Report>")
        text = "\n".join(lines) + ("\n" + " · ".join(links) if links else "")
        return {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
