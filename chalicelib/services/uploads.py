"""Large reports: a presigned upload to S3, processed asynchronously in chunks with progress."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from chalicelib import settings
from chalicelib.clock import now_iso
from chalicelib.domain.executions import final_results, run_counts
from chalicelib.domain.ports import Blobs, Queue, UploadRepository
from chalicelib.domain.statuses import UploadStatus
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

CHUNK = 2000  # results a chunk holds: one chunk is one bounded invocation (see docs/scale.md)
QUEUE_NOTE = 10
UPLOAD_CHUNK = "upload_chunk"  # the reports queue's message naming a chunk to record
_CHUNK_MAX_BYTES = 64 * 1024 * 1024
_COUNTS = ("processed", "drafts", "merged", "flaky")
_EXTENSIONS = {"application/xml": "xml", "application/json": "json", "text/plain": "tap"}


class UploadService:
    def __init__(
        self,
        uploads: UploadRepository,
        blobs: Blobs,
        access: AccessService,
        results: ResultsService,
        clock: Callable[[], str] = now_iso,
        chunks: Queue | None = None,
    ) -> None:
        self._chunks = chunks  # where chunks of a large report go (the reports queue)
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
                "status": UploadStatus.WAITING_FOR_UPLOAD,
                "reportedBy": principal.user,
                "createdAt": self._clock(),
                "updatedAt": self._clock(),
            }
        )
        post = self._blobs.presigned_post(
            key,
            content_type=content_type,
            max_bytes=max_report_bytes(request.format),
            expires=settings.PRESIGN_SECONDS,
        )
        return {"uploadId": upload_id, "url": post["url"], "fields": post["fields"]}

    def progress(self, project: str, upload_id: str) -> dict[str, Any]:
        upload = self._uploads.get(upload_id)
        if upload is None or upload["project"] != project:
            raise NotFound(f"upload {upload_id} does not exist")
        view = {
            k: v
            for k, v in upload.items()
            if k not in ("key", "reportedBy", "doneChunks", "queued")
        }
        if "chunks" in upload:
            view["chunksDone"] = len(upload.get("doneChunks") or ())
        return view

    def process(self, key: str) -> str:
        """An uploaded report landed: read it as a stream and split it into chunks of about
        CHUNK results (at testcase boundaries), each stored in S3 and handed to the reports
        queue, where `process_chunk` records it. A report of one chunk is recorded here. Safe to
        repeat: chunks are numbered by position, so a redelivered notification writes the same
        chunks and hands out only those not handed out before; nothing is handed out until the
        whole report has parsed (a malformed report records nothing)."""
        parts = key.split("/")
        if len(parts) != 4:
            return "ignored"
        upload = self._uploads.get(parts[2])
        if upload is None or upload["key"] != key or upload.get("kind") == "testCaseImport":
            return "unknown"
        if upload["status"] in (UploadStatus.COMPLETED, UploadStatus.FAILED):
            return str(upload["status"])
        upload_id = upload["uploadId"]
        if upload.get("chunks") == 1:  # recorded here, never handed out; that invocation died
            return self._record_again(upload)
        if upload.get("chunks"):  # split before: hand out what was not handed out yet
            self._hand_out(upload_id, int(upload["chunks"]), int(upload.get("queued", 0)))
            return UploadStatus.PROCESSING
        self._uploads.update(
            upload_id, {"status": UploadStatus.SPLITTING, "updatedAt": self._clock()}
        )
        try:
            project = self._access.project(upload["project"])
            run, results = self._parse(upload, project)
            chunks, first, total = self._split(upload_id, run, results)
        except FailbridgeError as exc:
            self._uploads.update(
                upload_id,
                {
                    "status": UploadStatus.FAILED,
                    "error": exc.to_body()["error"],
                    "updatedAt": self._clock(),
                },
            )
            return UploadStatus.FAILED
        upload["reportedAt"] = self._clock()  # the report's time, for each of its chunks
        self._uploads.update(
            upload_id,
            {
                "status": UploadStatus.PROCESSING,
                "reportedAt": upload["reportedAt"],
                "total": total,
                "processed": 0,
                "chunks": max(chunks, 1),
                "queued": 0,
                **dict.fromkeys(_COUNTS, 0),
                "updatedAt": self._clock(),
            },
        )
        if chunks <= 1:  # small: no hop through the queue
            self._record(upload, project, run, 0, first)
            return UploadStatus.COMPLETED
        self._hand_out(upload_id, chunks, 0)
        return UploadStatus.PROCESSING

    def _record_again(self, upload: dict[str, Any]) -> str:
        """A report of one chunk whose recording died (its notification came again): parse it
        again and record it, at the time fixed before, so it writes the items written then;
        its count is added once."""
        project = self._access.project(upload["project"])
        run, results = self._parse(upload, project)
        _, first, _ = self._split(upload["uploadId"], run, results)  # one chunk: nothing written
        self._record(upload, project, run, 0, first)
        return UploadStatus.COMPLETED

    def process_chunk(self, upload_id: str, chunk: int) -> str:
        """Record one chunk of an upload (a message on the reports queue). A redelivered chunk
        changes nothing: it records at the report's time, fixed when it was split, so it writes
        the very items written before (filing settles its failures as recorded), and its counts
        are added to the progress once."""
        upload = self._uploads.get(upload_id)
        if upload is None:
            return "unknown"
        if chunk in (upload.get("doneChunks") or ()):
            return "duplicate"
        project = self._access.project(upload["project"])
        data = parse_json(self._blobs.read(_chunk_key(upload_id, chunk), _CHUNK_MAX_BYTES))
        run = RunIn.model_validate(data["run"])
        results = [ResultIn.model_validate(r) for r in data["results"]]
        return self._record(upload, project, run, chunk, results)

    def _record(
        self,
        upload: dict[str, Any],
        project: dict[str, Any],
        run: RunIn,
        chunk: int,
        results: list[ResultIn],
    ) -> str:
        upload_id = upload["uploadId"]
        outcomes = self._results.record(
            project, run, results, reported_by=upload["reportedBy"], at=upload.get("reportedAt")
        )
        counts = dict.fromkeys(_COUNTS, 0)
        counts["processed"] = len(results)
        for o in outcomes:
            counts["flaky"] += 1 if o.get("flaky") else 0
            if o["ticket"]:
                counts["merged" if o["ticket"]["merged"] else "drafts"] += 1
        now = self._uploads.count_chunk(upload_id, chunk, counts, self._clock())
        if now is None:
            # Counted before: by another delivery, or by this one's write whose answer was lost
            # and retried. Either way the upload may be whole now and not yet marked so.
            now = self._uploads.get(upload_id) or {}
            if _whole(now):
                self._uploads.complete(upload_id, self._clock())
            return "duplicate"
        if _whole(now):
            self._uploads.complete(upload_id, self._clock())
            return UploadStatus.COMPLETED
        return "recorded"

    def _split(
        self, upload_id: str, run: RunIn, results: Iterator[tuple[int, ResultIn]]
    ) -> tuple[int, list[ResultIn], int]:
        """Write the report's chunks; returns how many, the first chunk's results (kept for a
        report of one chunk) and the number of results. Repeats of a test case are numbered
        across the whole report here, as `ResultsService.record` numbers them within one call."""
        seen: dict[str, int] = {}
        chunk: list[ResultIn] = []
        first: list[ResultIn] = []
        count = total = 0
        last_case = -1
        for case, result in results:
            if len(chunk) >= CHUNK and case != last_case:  # never split a testcase's attempts
                if count == 0:
                    first = chunk
                self._write_chunk(upload_id, count, run, chunk)
                count, chunk = count + 1, []
            last_case = case
            top = seen.get(result.test_case_id)
            if top is not None and result.attempt <= top:
                result = result.model_copy(update={"attempt": top + 1})
            seen[result.test_case_id] = max(result.attempt, top or 0)
            chunk.append(result)
            total += 1
        if count == 0:
            return (1 if chunk else 0), chunk, total
        self._write_chunk(upload_id, count, run, chunk)
        return count + 1, first, total

    def _write_chunk(self, upload_id: str, n: int, run: RunIn, results: list[ResultIn]) -> None:
        body = {
            "run": run.model_dump(mode="json", by_alias=True, exclude_none=True),
            "results": [
                r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in results
            ],
        }
        data = json.dumps(body, separators=(",", ":")).encode()
        self._blobs.put(_chunk_key(upload_id, n), data, "application/json")

    def _hand_out(self, upload_id: str, chunks: int, queued: int) -> None:
        """Send chunk messages from `queued` on, noting progress every QUEUE_NOTE messages so a
        retried notification resends at most that many."""
        if self._chunks is None:
            raise RuntimeError("no queue to hand chunks to")
        for n in range(queued, chunks):
            self._chunks.send({"type": UPLOAD_CHUNK, "uploadId": upload_id, "chunk": n})
            if (n + 1) % QUEUE_NOTE == 0 or n + 1 == chunks:
                self._uploads.update(upload_id, {"queued": n + 1})

    def run_summary(self, project: str, run_id: str) -> dict[str, Any]:
        """A run's outcome: each test case's last attempt counted by status; failures that a
        later attempt passed are flaky; the tickets its failures opened or joined."""
        executions = self._results.stores.executions.of_run(project, run_id)
        if not executions:
            raise NotFound(f"run {run_id} has no results")
        last = final_results(executions)
        counts = run_counts(executions)
        flaky = sorted({e.test_case_id for e in executions if e.flaky})
        tickets: dict[str, dict[str, Any]] = {}
        for e in executions:
            if e.ticket_id and e.ticket_id not in tickets:
                tickets[e.ticket_id] = {"ticketId": e.ticket_id, "scenarioId": e.scenario_id}
        reported = self._results.stores.executions.run(project, run_id) or {}
        ran_on: dict[str, Any] = {
            k: reported[k] for k in ("environment", "environmentSnapshot") if k in reported
        }
        return {
            "runId": run_id,
            **ran_on,
            "testCases": len(last),
            "executions": len(executions),
            **counts,
            "flaky": flaky,
            "tickets": list(tickets.values()),
        }

    def _parse(
        self, upload: dict[str, Any], project: dict[str, Any]
    ) -> tuple[RunIn, Iterator[tuple[int, ResultIn]]]:
        """The run and an iterator of (testcase index, result): JUnit is read as a stream."""
        head = self._blobs.head(upload["key"])
        if head is None:
            raise NotFound("the uploaded report is missing")
        limit = max_report_bytes(upload["format"])
        if head["size"] > limit:
            raise PayloadTooLarge(
                "the report is too large",
                [field_problem("body", f"must be at most {limit} bytes")],
            )
        run = RunIn.model_validate(upload["run"])
        fmt = upload["format"]
        if fmt != "json":
            from chalicelib.domain.mapping import ReportMapping

            mapping = ReportMapping.of_project(project)
            if fmt == "junit":  # streamed: bounded memory however large (docs/scale.md)
                from chalicelib.junit import iter_junit

                stream = self._blobs.stream(upload["key"])
                return run, iter_junit(stream, max_bytes=limit, mapping=mapping)
            from chalicelib.reports import parse_report

            body = self._blobs.read(upload["key"], settings.MAX_UPLOAD_REPORT_BYTES)
            _, results = parse_report(
                body, fmt, max_bytes=settings.MAX_UPLOAD_REPORT_BYTES, mapping=mapping
            )
            return run, enumerate(results)
        body = self._blobs.read(upload["key"], settings.MAX_UPLOAD_REPORT_BYTES)
        data = parse_json(body)
        if isinstance(data, dict) and "results" in data and "run" not in data:
            data = {**data, "run": upload["run"]}
        report = parse_model(_UploadedReport, data)
        return report.run, enumerate(report.results)


def max_report_bytes(fmt: str) -> int:
    """How large an uploaded report may be: JUnit is streamed, the other formats are read whole."""
    if fmt == "junit":
        return settings.MAX_STREAMED_REPORT_BYTES
    return settings.MAX_UPLOAD_REPORT_BYTES


def _whole(upload: dict[str, Any]) -> bool:
    return len(upload.get("doneChunks") or ()) >= int(upload.get("chunks") or 1)


def _chunk_key(upload_id: str, n: int) -> str:
    return f"chunks/{upload_id}/{n:05d}.json"


class _UploadedReport(ResultsReport):
    """An uploaded JSON report may hold more results than one request may."""

    results: list[ResultIn]  # type: ignore[assignment]
