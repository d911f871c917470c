"""Large reports: a presigned upload to S3, processed asynchronously in chunks with progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import settings
from chalicelib.clock import now_iso
from chalicelib.domain.ports import Blobs, UploadRepository
from chalicelib.errors import FailbridgeError, NotFound, PayloadTooLarge, field_problem
from chalicelib.ids import new_id
from chalicelib.models import (
    ResultIn,
    ResultsReport,
    RunIn,
    UploadRequest,
    parse_json,
    parse_model,
)
from chalicelib.services.access import AccessService, Principal
from chalicelib.services.ingest import ResultsService

CHUNK = 500
_EXTENSIONS = {"application/xml": "xml", "application/json": "json", "text/plain": "tap"}


class UploadService:
    def __init__(
        self,
        uploads: UploadRepository,
        blobs: Blobs,
        access: AccessService,
        results: ResultsService,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._uploads = uploads
        self._blobs = blobs
        self._access = access
        self._results = results
        self._clock = clock

    def request(self, project: str, request: UploadRequest, principal: Principal) -> dict:
        from chalicelib.reports import media_type

        upload_id = new_id("up")
        content_type = media_type(request.format)
        ext = _EXTENSIONS[content_type]
        key = f"uploads/{project}/{upload_id}/report.{ext}"
        self._uploads.put(
            {
                "uploadId": upload_id,
                "project": project,
                "format": request.format,
                "run": request.run.model_dump(mode="json", by_alias=True, exclude_none=True),
                "key": key,
                "status": "waiting_for_upload",
                "reportedBy": principal.user,
                "createdAt": self._clock(),
                "updatedAt": self._clock(),
            }
        )
        post = self._blobs.presigned_post(
            key,
            content_type=content_type,
            max_bytes=settings.MAX_UPLOAD_REPORT_BYTES,
            expires=settings.PRESIGN_SECONDS,
        )
        return {"uploadId": upload_id, "url": post["url"], "fields": post["fields"]}

    def progress(self, project: str, upload_id: str) -> dict[str, Any]:
        upload = self._uploads.get(upload_id)
        if upload is None or upload["project"] != project:
            raise NotFound(f"upload {upload_id} does not exist")
        return {k: v for k, v in upload.items() if k not in ("key", "reportedBy")}

    def process(self, key: str) -> str:
        """Process an uploaded report. Safe to repeat: executions are keyed by run, test case and
        attempt, so a redelivered notification records nothing twice."""
        parts = key.split("/")
        if len(parts) != 4:
            return "ignored"
        upload = self._uploads.get(parts[2])
        if upload is None or upload["key"] != key:
            return "unknown"
        if upload["status"] in ("completed", "failed"):
            return str(upload["status"])
        upload_id = upload["uploadId"]
        self._uploads.update(upload_id, {"status": "processing", "updatedAt": self._clock()})
        try:
            project = self._access.project(upload["project"])
            run, results = self._parse(upload, project)
        except FailbridgeError as exc:
            self._uploads.update(
                upload_id,
                {"status": "failed", "error": exc.to_body()["error"], "updatedAt": self._clock()},
            )
            return "failed"
        totals = {"drafts": 0, "merged": 0, "flaky": 0}
        self._uploads.update(upload_id, {"total": len(results), "processed": 0})
        for start in range(0, len(results), CHUNK):
            outcomes = self._results.record(
                project, run, results[start : start + CHUNK], reported_by=upload["reportedBy"]
            )
            for o in outcomes:
                totals["flaky"] += 1 if o.get("flaky") else 0
                if o["ticket"]:
                    totals["merged" if o["ticket"]["merged"] else "drafts"] += 1
            self._uploads.update(
                upload_id,
                {
                    "processed": min(start + CHUNK, len(results)),
                    **totals,
                    "updatedAt": self._clock(),
                },
            )
        self._uploads.update(upload_id, {"status": "completed", "updatedAt": self._clock()})
        return "completed"

    def run_summary(self, project: str, run_id: str) -> dict[str, Any]:
        """A run's outcome: each test case's last attempt counted by status; failures that a
        later attempt passed are flaky; the tickets its failures opened or joined."""
        executions = self._results.stores.executions.of_run(project, run_id)
        if not executions:
            raise NotFound(f"run {run_id} has no results")
        last: dict[str, Any] = {}
        for e in executions:
            if e.test_case_id not in last or e.attempt >= last[e.test_case_id].attempt:
                last[e.test_case_id] = e
        counts = {"passed": 0, "failed": 0, "blocked": 0, "skipped": 0}
        for e in last.values():
            counts[e.status] = counts.get(e.status, 0) + 1
        flaky = sorted({e.test_case_id for e in executions if e.flaky})
        tickets: dict[str, dict[str, Any]] = {}
        for e in executions:
            if e.ticket_id and e.ticket_id not in tickets:
                tickets[e.ticket_id] = {"ticketId": e.ticket_id, "scenarioId": e.scenario_id}
        return {
            "runId": run_id,
            "testCases": len(last),
            "executions": len(executions),
            **counts,
            "flaky": flaky,
            "tickets": list(tickets.values()),
        }

    def _parse(
        self, upload: dict[str, Any], project: dict[str, Any]
    ) -> tuple[RunIn, list[ResultIn]]:
        head = self._blobs.head(upload["key"])
        if head is None:
            raise NotFound("the uploaded report is missing")
        if head["size"] > settings.MAX_UPLOAD_REPORT_BYTES:
            raise PayloadTooLarge(
                "the report is too large",
                [
                    field_problem(
                        "body", f"must be at most {settings.MAX_UPLOAD_REPORT_BYTES} bytes"
                    )
                ],
            )
        body = self._blobs.read(upload["key"], settings.MAX_UPLOAD_REPORT_BYTES)
        run = RunIn.model_validate(upload["run"])
        if upload["format"] != "json":
            from chalicelib.domain.mapping import ReportMapping
            from chalicelib.reports import parse_report

            mapping = ReportMapping.of_project(project)
            _, results = parse_report(
                body, upload["format"], max_bytes=settings.MAX_UPLOAD_REPORT_BYTES, mapping=mapping
            )
            return run, results
        data = parse_json(body)
        if isinstance(data, dict) and "results" in data and "run" not in data:
            data = {**data, "run": upload["run"]}
        report = parse_model(_UploadedReport, data)
        return report.run, list(report.results)


class _UploadedReport(ResultsReport):
    """An uploaded JSON report may hold more results than one request may."""

    results: list[ResultIn]  # type: ignore[assignment]
