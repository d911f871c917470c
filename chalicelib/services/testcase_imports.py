"""Large test-case imports through a presigned upload: the CSV (or JSON) lands in S3, its
notification starts `process`, which reads the object as a stream twice — a validate pass over
every row, then, only if no row is invalid, a write pass in batches of BATCH test cases.

"Nothing written if any row is invalid" holds because no batch is written before the whole file
has validated. One delivery at a time works on an import: it claims the import's record (a
lease as long as the function's timeout; given up when it fails), and a second delivery of the
same notification meanwhile backs off (`busy`). The write pass keeps a cursor on the record:
for each batch it first records the counter moves it intends (`pending`), writes the coverage
links, versions and heads, then moves the module counters and the cursor past the batch in one
transaction. A redelivered notification resumes at the cursor: a batch whose test cases were
written but whose counters were not re-plans them as unchanged, writes the rest and moves the
counters recorded for it, once. What it does not give is isolation: a test case edited over the
API between the passes is imported over (as a new version, the edit stays in the history)."""

from __future__ import annotations

import codecs
import csv
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from chalicelib import settings
from chalicelib.clock import now_iso
from chalicelib.domain.ports import Blobs, TestCaseImportLedger, UploadRepository
from chalicelib.domain.statuses import ImportStatus
from chalicelib.domain.testcase_files import ParsedCase, RowError, stream_csv
from chalicelib.domain.testcases import COUNTERS as _COUNTERS
from chalicelib.domain.testcases import count_deltas
from chalicelib.errors import FailbridgeError, NotFound
from chalicelib.ids import new_id
from chalicelib.models import parse_json
from chalicelib.services.testcases import TestCaseService

BATCH = 500  # test cases planned (one BatchGetItem pass) and written together
MAX_ERRORS = 1000  # errors listed on the import; all are counted
CLAIM_SECONDS = 330  # the upload function's timeout (300 s) and a margin: no holder outlives it
MODULES_A_STEP = 99  # counter moves in one transaction beside the cursor (100 items at most)
_TYPES = {"csv": "text/csv", "json": "application/json"}
_COUNTS = ("testCases", "created", "updated", "unchanged", "invalid")
_FINAL = (ImportStatus.COMPLETED, ImportStatus.INVALID, ImportStatus.VALIDATED, ImportStatus.FAILED)
_LEDGER = ("claim", "claimUntil", "pending", "batch", "step", "batchSize")  # not for clients


class TestCaseImports:
    __test__ = False

    def __init__(
        self,
        uploads: UploadRepository,
        ledger: TestCaseImportLedger,
        blobs: Blobs,
        test_cases: TestCaseService,
        clock: Callable[[], str] = now_iso,
        epoch: Callable[[], float] = time.time,
    ) -> None:
        self._uploads = uploads
        self._ledger = ledger
        self._blobs = blobs
        self._cases = test_cases
        self._clock = clock
        self._epoch = epoch

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
                "status": ImportStatus.WAITING_FOR_UPLOAD,
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
            "status": ImportStatus.WAITING_FOR_UPLOAD,
            "dryRun": dry_run,
            "url": post["url"],
            "fields": post["fields"],
        }

    def get(self, project: str, import_id: str) -> dict[str, Any]:
        found = self._uploads.get(import_id)
        if found is None or found["project"] != project or found.get("kind") != "testCaseImport":
            raise NotFound(f"test-case import {import_id} does not exist")
        hidden = ("key", "reportedBy", "kind", "uploadId", *_LEDGER)
        return {"importId": import_id, **{k: v for k, v in found.items() if k not in hidden}}

    def process(self, key: str) -> str:
        """The file landed (an S3 notification, perhaps again, perhaps twice at once): claim the
        import, validate, then write; `busy` if another delivery holds it."""
        parts = key.split("/")
        record = self._uploads.get(parts[2]) if len(parts) == 4 else None
        if record is None or record.get("key") != key:
            return "unknown"
        if record["status"] in _FINAL:
            return str(record["status"])
        import_id = record["uploadId"]
        token = new_id("claim")
        now = int(self._epoch())
        claimed = self._ledger.claim(import_id, token, now, now + CLAIM_SECONDS)
        if claimed is None:
            return "busy"
        try:
            return self._claimed(claimed, token)
        except _ClaimLost:
            return "busy"  # our lease ran out and another delivery took the import over
        except Exception:
            self._ledger.release(import_id, token)  # a redelivery needs not wait for the lease
            raise

    def _claimed(self, record: dict[str, Any], token: str) -> str:
        import_id = record["uploadId"]
        if record["status"] != ImportStatus.WRITING:
            self._note(import_id, token, {"status": ImportStatus.VALIDATING})
            try:
                counts, errors, unknown = self._validate(record)
            except (UnicodeDecodeError, csv.Error, ValueError, FailbridgeError) as exc:
                error = (
                    exc.to_body()["error"]
                    if isinstance(exc, FailbridgeError)
                    else {"code": "malformed", "message": f"the file is not readable: {exc}"[:500]}
                )
                return self._settle(
                    import_id, token, {"status": ImportStatus.FAILED, "error": error}
                )
            fields: dict[str, Any] = {
                "summary": counts,
                "errorCount": len(errors),
                "errors": [_error(e, record["format"]) for e in errors[:MAX_ERRORS]],
                "unknownColumns": unknown,
            }
            if errors or record.get("dryRun"):
                return self._settle(
                    import_id,
                    token,
                    {
                        **fields,
                        "status": ImportStatus.INVALID if errors else ImportStatus.VALIDATED,
                    },
                )
            cursor = {"written": 0, "batch": 0, "step": 0, "batchSize": BATCH}
            self._note(import_id, token, {**fields, **cursor, "status": ImportStatus.WRITING})
            record = {**record, **fields, **cursor}
        size = int(record.get("batchSize") or BATCH)
        done = int(record.get("batch") or 0)  # batches before the cursor were written
        for index, batch in enumerate(_batches(self._cases_of(record), size)):
            if index >= done:
                record = self._write_batch(record, token, index, batch)
        return self._settle(import_id, token, {"status": ImportStatus.COMPLETED})

    def _write_batch(
        self, record: dict[str, Any], token: str, index: int, batch: list[ParsedCase]
    ) -> dict[str, Any]:
        """One batch: its intended counter moves recorded (unless a failed attempt recorded
        them), its links, versions and heads written, then the counters and the cursor moved
        together, in steps of MODULES_A_STEP modules. Returns the record as it now stands."""
        import_id, project = record["uploadId"], record["project"]
        plan = self._cases.plan(project, batch)
        pending = record.get("pending") or {}
        if pending.get("batch") != index:  # a first attempt: what it will count, before writing
            deltas = count_deltas(plan.writes)
            pending = {
                "batch": index,
                "writes": len(plan.writes),
                "counts": [[m, *(d[c] for c in _COUNTERS)] for m, d in sorted(deltas.items())],
            }
            self._note(import_id, token, {"pending": pending}, batch=index)
        self._cases.write_cases(plan, record.get("reportedBy"))  # what is left of it, if resumed
        counts = pending["counts"]
        steps = [counts[n : n + MODULES_A_STEP] for n in range(0, len(counts), MODULES_A_STEP)]
        steps = steps or [[]]
        written = int(record.get("written") or 0) + int(pending["writes"])
        for step in range(int(record.get("step") or 0), len(steps)):
            last = step == len(steps) - 1
            moves = {row[0]: dict(zip(_COUNTERS, row[1:], strict=True)) for row in steps[step]}
            fields = {"written": written, **self._at()} if last else {}
            if not self._ledger.advance(
                import_id,
                token,
                index,
                step,
                fields,
                self._cases.count_items(project, moves),
                last=last,
            ):
                raise _ClaimLost()
        return {**record, "batch": index + 1, "step": 0, "written": written, "pending": None}

    def _note(
        self, import_id: str, token: str, fields: dict[str, Any], batch: int | None = None
    ) -> None:
        if not self._ledger.note(import_id, token, {**fields, **self._at()}, batch):
            raise _ClaimLost()

    def _settle(self, import_id: str, token: str, fields: dict[str, Any]) -> str:
        if not self._ledger.settle(import_id, token, {**fields, **self._at()}):
            raise _ClaimLost()
        return str(fields["status"])

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

    def _at(self) -> dict[str, str]:
        return {"updatedAt": self._clock()}


class _ClaimLost(Exception):
    """Another delivery holds the import now (ours ran past its lease)."""


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
