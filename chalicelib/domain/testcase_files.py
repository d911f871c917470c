"""Test cases in and out of files: CSV exported by TestRail, Xray or failbridge itself, and JSON.

Columns are recognised by header (case and spacing ignored), from one documented set per field
(`COLUMNS`). Steps come either in one cell as numbered lines (`1. Open the cart`, continuation
lines belong to the step above; expected results paired by number) or as repeated rows: a row
whose test case id is empty or repeats the row above adds its step to that test case.

Every problem is reported by row (the spreadsheet row: the header is row 1) and column (as the
file names it). Cells starting with `=`, `+`, `-`, `@`, tab or carriage return are written with a
leading `'` so a spreadsheet shows them as text; reading strips that one `'` again, so an export
imported back is exactly what was exported."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.requirements import REQUIREMENT_ID
from chalicelib.domain.statuses import TestCaseStatus

# field -> header names that mean it (normalised: lower case, single spaces)
COLUMNS: dict[str, tuple[str, ...]] = {
    "testCaseId": ("test case id", "testcaseid", "id", "tcid", "test id", "case id"),
    "title": ("title", "summary", "test summary", "name"),
    "module": ("module", "component", "components"),
    "suite": ("suite", "section", "test repository path", "test repo", "folder"),
    "sectionHierarchy": ("section hierarchy",),
    "priority": ("priority", "test priority"),
    "type": ("type", "test case type"),
    "method": ("method", "automation type", "test type", "automated"),
    "status": ("status", "test case status"),
    "preconditions": ("preconditions", "precondition", "prerequisites", "pre-conditions"),
    "postconditions": ("postconditions", "postcondition", "post-conditions"),
    "requirements": ("requirements", "requirement", "references", "refs", "tests", "stories"),
    "jiraTestKey": ("jira test key", "jira key", "issue key"),
    "stepNumber": ("step #", "step number", "step no", "#"),
    "action": ("steps", "step", "steps (step)", "step action", "action", "test step"),
    "data": ("data", "test data", "steps (additional info)", "step data"),
    "expectedResult": (
        "expected result",
        "expected results",
        "steps (expected result)",
        "step expected result",
        "result",
        "expected",
    ),
}
_BY_HEADER = {name: f for f, names in COLUMNS.items() for name in names}

PRIORITIES = ("critical", "highest", "high", "medium", "low", "lowest")
STATUSES = tuple(s.value for s in TestCaseStatus)
# what the tools write in their method-like columns -> ours
_METHODS = {
    "manual": "manual",
    "automated": "automated",
    "none": "manual",  # TestRail's Automation Type
    "generic": "automated",  # Xray's test types
    "cucumber": "automated",
    "yes": "automated",
    "no": "manual",
    "true": "automated",
    "false": "manual",
}
_ID = re.compile(r"^[^\x00-\x1f]{1,200}$")
_REQUIREMENT = REQUIREMENT_ID
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s*(.*)$")
_SPLIT_LIST = re.compile(r"[,;\n]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# failbridge's own CSV: one row per step, the test case's fields on its first row
EXPORT_HEADER = (
    "Test Case ID",
    "Title",
    "Module",
    "Suite",
    "Priority",
    "Type",
    "Method",
    "Status",
    "Preconditions",
    "Postconditions",
    "Requirements",
    "Jira Test Key",
    "Step #",
    "Step Action",
    "Step Data",
    "Step Expected Result",
)


@dataclass
class RowError:
    row: int
    column: str
    problem: str

    def detail(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "problem": self.problem}


@dataclass
class ParsedCase:
    """One test case read from a file: where it started, its content, and its problems."""

    row: int
    test_case_id: str
    content: dict[str, Any]
    rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def normalise_header(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula becomes text (a leading `'`)."""
    if value.startswith(FORMULA_START) or (
        value.startswith("'") and value.lstrip("'").startswith(FORMULA_START)
    ):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_START):
        return value[1:]
    return value


def header_map(header: list[str]) -> tuple[dict[int, str], list[str]]:
    """Column index -> field, and the headers we do not know (ignored, reported as such)."""
    mapped: dict[int, str] = {}
    unknown: list[str] = []
    taken: set[str] = set()
    for i, name in enumerate(header):
        fld = _BY_HEADER.get(normalise_header(name))
        if fld is None or fld in taken:
            unknown.append(name)
            continue
        mapped[i] = fld
        taken.add(fld)
    return mapped, unknown


def read_csv(text: str) -> tuple[list[ParsedCase], list[RowError], list[str]]:
    """Every test case in a CSV, with problems by row and column; unknown headers listed."""
    cases, problems, unknown = stream_csv(io.StringIO(text))
    return list(cases), problems, unknown


def stream_csv(
    lines: Iterable[str],
) -> tuple[Iterator[ParsedCase], list[RowError], list[str]]:
    """The test cases of a CSV read line by line (a file or an S3 body: bounded memory); the
    header's problems (then no cases) and its unknown columns come first."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return iter(()), [RowError(1, "header", "the file is empty")], []
    mapped, unknown = header_map(header)
    names = {f: header[i] for i, f in mapped.items()}
    problems: list[RowError] = []
    if "testCaseId" not in names:
        problems.append(RowError(1, "header", _missing_header("testCaseId")))
    if "title" not in names:
        problems.append(RowError(1, "header", _missing_header("title")))
    if problems:
        return iter(()), problems, unknown
    return _cases(_rows(reader, mapped), names), [], unknown


def _missing_header(fld: str) -> str:
    return "needs a column for " + fld + " (one of: " + ", ".join(COLUMNS[fld]) + ")"


def _rows(reader: Iterable[list[str]], mapped: dict[int, str]) -> Iterator[tuple[int, dict]]:
    for n, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        yield (
            n,
            {f: unneutralise(cells[i]) for i, f in mapped.items() if i < len(cells)},
        )


def _cases(rows: Iterable[tuple[int, dict[str, str]]], names: dict[str, str]) -> Iterator:
    """Group rows into test cases: a row with an empty or repeated id continues the one above."""
    current: ParsedCase | None = None
    seen: dict[str, int] = {}
    for n, row in rows:
        tc = (row.get("testCaseId") or "").strip()
        if current is not None and (not tc or tc == current.test_case_id):
            current.rows.append(n)
            _add_step_row(current, n, row, names)
            continue
        if current is not None:
            yield _finish(current, names)
        current = _start(n, row, names)
        if tc in seen:
            current.errors.append(
                RowError(n, names["testCaseId"], f"repeats the test case of row {seen[tc]}")
            )
        seen.setdefault(tc, n)
    if current is not None:
        yield _finish(current, names)


def _start(n: int, row: dict[str, str], names: dict[str, str]) -> ParsedCase:
    errors: list[RowError] = []

    def cell(fld: str) -> str:
        return (row.get(fld) or "").strip()

    tc = cell("testCaseId")
    if not tc:
        errors.append(RowError(n, names["testCaseId"], "is required"))
    elif not _ID.match(tc):
        errors.append(RowError(n, names["testCaseId"], "must be 1-200 printable characters"))
    title = cell("title")
    if not title:
        errors.append(RowError(n, names["title"], "is required"))
    elif len(title) > 500:
        errors.append(RowError(n, names["title"], "must be at most 500 characters long"))
    content: dict[str, Any] = {"title": title}
    module = cell("module")
    hierarchy = [p.strip() for p in cell("sectionHierarchy").split(">") if p.strip()]
    content["module"] = module or (hierarchy[0] if hierarchy else None)
    content["suite"] = cell("suite") or (" > ".join(hierarchy) if hierarchy else None)
    for fld, allowed in (("priority", PRIORITIES), ("status", STATUSES)):
        value = cell(fld).lower()
        if value and value not in allowed:
            errors.append(RowError(n, names[fld], "must be one of " + ", ".join(allowed)))
        content[fld] = value or None
    if content["status"] is None:
        content["status"] = TestCaseStatus.ACTIVE.value
    method = cell("method").lower()
    if method and method not in _METHODS:
        errors.append(RowError(n, names["method"], "must be manual or automated"))
    content["method"] = _METHODS.get(method, "manual")
    content["type"] = cell("type").lower() or None
    content["preconditions"] = _lines(row.get("preconditions"))
    content["postconditions"] = _lines(row.get("postconditions"))
    requirements = [r.strip() for r in _SPLIT_LIST.split(cell("requirements")) if r.strip()]
    bad = [r for r in requirements if not _REQUIREMENT.fullmatch(r)]
    if bad:
        errors.append(RowError(n, names["requirements"], f"{bad[0]!r} is not a requirement id"))
    content["requirements"] = list(dict.fromkeys(requirements))
    content["jiraTestKey"] = cell("jiraTestKey") or None
    content["steps"] = []
    case = ParsedCase(n, tc, content, [n], errors)
    _add_step_row(case, n, row, names)
    return case


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _add_step_row(case: ParsedCase, n: int, row: dict[str, str], names: dict[str, str]) -> None:
    action = (row.get("action") or "").strip()
    expected = (row.get("expectedResult") or "").strip()
    data = (row.get("data") or "").strip()
    if not (action or expected or data):
        return
    number_cell = (row.get("stepNumber") or "").strip()
    numbered = _numbered(action)
    if numbered and not number_cell:  # several steps in one cell
        results = _numbered(expected) or {}
        for number, text in numbered.items():
            case.content["steps"].append(
                _step(len(case.content["steps"]) + 1, text, results.get(number, ""), "")
            )
        return
    if number_cell and not number_cell.isdigit():
        case.errors.append(RowError(n, names["stepNumber"], "must be a whole number"))
    if not action:
        case.errors.append(
            RowError(n, names.get("action", "Steps"), "is required when a step has a result")
        )
    number = int(number_cell) if number_cell.isdigit() else len(case.content["steps"]) + 1
    case.content["steps"].append(_step(number, action, expected, data))


def _numbered(text: str) -> dict[int, str] | None:
    """`1. a` / `2) b` lines -> {1: "a", 2: "b"}; lines without a number continue the step
    above. None unless the text starts with a numbered line."""
    out: dict[int, str] = {}
    last: int | None = None
    for line in text.splitlines():
        m = _NUMBERED.match(line)
        if m:
            last = int(m.group(1))
            out[last] = m.group(2).strip()
        elif last is None:
            if line.strip():
                return None
        elif line.strip():
            out[last] = (out[last] + "\n" + line.strip()).strip()
    return out or None


def _step(number: int, action: str, expected: str, data: str) -> dict[str, Any]:
    step: dict[str, Any] = {"stepNumber": number, "action": action, "expectedResult": expected}
    if data:
        step["data"] = data
    return step


def _finish(case: ParsedCase, names: dict[str, str]) -> ParsedCase:
    if len(case.content["steps"]) > 200:
        case.errors.append(RowError(case.row, names.get("action", "Steps"), "over 200 steps"))
    return case


def write_csv(cases: Iterable[dict[str, Any]]) -> Iterator[str]:
    """failbridge's CSV, one line at a time (a test case per row, more rows for more steps)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def flush() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(EXPORT_HEADER)
    yield flush()
    for case in cases:
        steps = case.get("steps") or [{}]
        for i, step in enumerate(steps):
            head = (
                [
                    case["testCaseId"],
                    case.get("title") or "",
                    case.get("module") or "",
                    case.get("suite") or "",
                    case.get("priority") or "",
                    case.get("type") or "",
                    case.get("method") or "",
                    case.get("status") or "",
                    "\n".join(case.get("preconditions") or []),
                    "\n".join(case.get("postconditions") or []),
                    ", ".join(case.get("requirements") or []),
                    case.get("jiraTestKey") or "",
                ]
                if i == 0
                else [case["testCaseId"]] + [""] * 11
            )
            tail = [
                str(step.get("stepNumber", "")) if step else "",
                step.get("action", ""),
                step.get("data", ""),
                step.get("expectedResult", ""),
            ]
            writer.writerow([neutralise(str(v)) for v in head + tail])
        yield flush()
