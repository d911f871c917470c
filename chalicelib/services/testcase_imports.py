"""Large test-case imports through a presigned upload: the CSV (or JSON) lands in S3, its
notification starts `process`, which reads the object as a stream twice — a validate pass over
every row, then, only if no row is invalid, a write pass in batches of BATCH test cases.

"Nothing written if any row is invalid" holds because no batch is written before the whole file
has validated. A redelivered notification is safe: an import that completed or was found invalid
is left as it is; one interrupted in its write pass validates nothing again and re-plans each
batch against the stored heads, so what was written is `unchanged` and nothing is written twice.
What it does not give is isolation: a test case edited over the API between the passes is
imported over (as a new version, the edit stays in the history)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from chalicelib import settings
from chalicelib.clock import now_iso
from chalicelib.domain.ports import Blobs, UploadRepository
from chalicelib.domain.testcase_files import ParsedCase, RowError, stream_csv
from chalicelib.errors import FailbridgeError, NotFound
from chalicelib.ids import new_id
from chalicelib.models import parse_json
from chalicelib.services.testcases import TestCaseService

BATCH = 500  # test cases planned (one BatchGetItem pass) and written together
MAX_ERRORS = 1000  # errors listed on the import; all are counted
_TYPES = {"csv": "text/csv", "json": "application/json"}
_COUNTS = ("testCases", "created", "updated", "unchanged", "invalid")


class TestCaseImports:
    __test__ = False

    def __init__(
        self,
        uploads: UploadRepository,
        blobs: Blobs,
        test_cases: TestCaseService,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._uploads = uploads
        self._blobs = blobs
        self._cases = test_cases
        self._clock = clock

    def request(self, project: str, fmt: str, dry_run: bool, by: str | None) -> dict[str, Any]:
        """An import waiting for its file: a presigned POST (S3 enforces type and size)."""
        import_id = new_id("ti")
        key = f"uploads/{project}/{import_id}/test-cases.{fmt}"
        now = self._clock()
        self._uploads.put(
            {
                "uploadId": import_id,
                "kind": "testCaseImport",
                "project": project,
                "format": fmt,
                "dryRun": dry_run,
                "key": key,
                "status": "waiting_for_upload",
                "reportedBy": by,
                "createdAt": now,
                "updatedAt": now,
            }
        )
        post = self._blobs.presigned_post(
            key,
            content_type=_TYPES[fmt],
            max_bytes=settings.MAX_UPLOAD_REPORT_BYTES,
            expires=settings.PRESIGN_SECONDS,
        )
        return {
            "importId": import_id,
            "status": "waiting_for_upload",
            "dryRun": dry_run,
            "url": post["url"],
            "fields": post["fields"],
        }

    def get(self, project: str, import_id: str) -> dict[str, Any]:
        found = self._uploads.get(import_id)
        if found is None or found["project"] != project or found.get("kind") != "testCaseImport":
            raise NotFound(f"test-case import {import_id} does not exist")
        hidden = ("key", "reportedBy", "kind", "uploadId")
        return {"importId": import_id, **{k: v for k, v in found.items() if k not in hidden}}

    def process(self, key: str) -> str:
        """The file landed (an S3 notification, perhaps again): validate, then write."""
        parts = key.split("/")
        record = self._uploads.get(parts[2]) if len(parts) == 4 else None
        if record is None or record.get("key") != key:
            return "unknown"
        if record["status"] in ("completed", "invalid", "validated", "failed"):
            return str(record["status"])
        import_id = record["uploadId"]
        if record["status"] != "writing":
            self._status(import_id, "validating")
            try:
                counts, errors, unknown = self._validate(record)
            except (UnicodeDecodeError, csv.Error, ValueError, FailbridgeError) as exc:
                error = (
                    exc.to_body()["error"]
                    if isinstance(exc, FailbridgeError)
                    else {"code": "malformed", "message": f"the file is not readable: {exc}"[:500]}
                )
                self._uploads.update(import_id, {"status": "failed", "error": error, **self._at()})
                return "failed"
            fields: dict[str, Any] = {
                "summary": counts,
                "errorCount": len(errors),
                "errors": [_error(e, record["format"]) for e in errors[:MAX_ERRORS]],
                "unknownColumns": unknown,
            }
            if errors or record.get("dryRun"):
                status = "invalid" if errors else "validated"
                self._uploads.update(import_id, {**fields, "status": status, **self._at()})
                return status
            self._uploads.update(import_id, {**fields, "status": "writing", "written": 0})
            record = {**record, **fields, "written": 0}
        # resumed: batches written before re-plan as unchanged and add nothing
        summary = record.get("summary") or {}
        planned = int(summary.get("created", 0)) + int(summary.get("updated", 0))
        written = int(record.get("written") or 0)
        for batch in _batches(self._cases_of(record), BATCH):
            written += self._cases.write(
                self._cases.plan(record["project"], batch), record.get("reportedBy")
            )
            self._uploads.update(import_id, {"written": min(written, planned), **self._at()})
        self._status(import_id, "completed")
        return "completed"

    def _validate(self, record: dict[str, Any]) -> tuple[dict[str, int], list[RowError], list]:
        counts = dict.fromkeys(_COUNTS, 0)
        errors: list[RowError] = []
        unknown: list[str] = []
        if record["format"] == "csv":
            _, header_errors, unknown = stream_csv(self._lines(record["key"]))
            errors.extend(header_errors)
        for batch in _batches(self._cases_of(record), BATCH):
            plan = self._cases.plan(record["project"], batch)
            for name, value in plan.summary().items():
                counts[name] += value
            errors.extend(plan.errors)
        return counts, errors, unknown

    def _cases_of(self, record: dict[str, Any]) -> Iterator[ParsedCase]:
        if record["format"] == "csv":
            cases, _, _ = stream_csv(self._lines(record["key"]))
            return cases
        body = self._blobs.read(record["key"], settings.MAX_UPLOAD_REPORT_BYTES)
        return iter(self._cases.parse_json(parse_json(body)))

    def _lines(self, key: str) -> Iterable[str]:
        """The object's lines decoded as they stream (a BOM dropped), never the whole file."""
        stream = self._blobs.stream(key)
        chunks = iter(lambda: stream.read(1 << 16), b"")
        text = codecs.iterdecode(chunks, "utf-8-sig")
        return _split_lines(text)

    def _status(self, import_id: str, status: str) -> None:
        self._uploads.update(import_id, {"status": status, **self._at()})

    def _at(self) -> dict[str, str]:
        return {"updatedAt": self._clock()}


def _split_lines(text: Iterable[str]) -> Iterator[str]:
    """Text pieces -> lines split at "\n" only, endings kept (as a file opened with
    newline="" gives `csv.reader`: quoted cells keep their other line breaks)."""
    rest = ""
    for piece in text:
        *lines, rest = (rest + piece).split("\n")
        for line in lines:
            yield line + "\n"
    if rest:
        yield rest


def _error(e: RowError, fmt: str) -> dict[str, Any]:
    """As the synchronous import names it: `rows[7].Priority` (`testCases[3].title` in JSON)."""
    where = "rows" if fmt == "csv" else "testCases"
    return {**e.detail(), "field": f"{where}[{e.row}].{e.column}"}


def _batches(cases: Iterator[ParsedCase], size: int) -> Iterator[list[ParsedCase]]:
    while batch := list(islice(cases, size)):
        yield batch
