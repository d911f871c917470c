"""No status string literals outside `chalicelib.domain.statuses`: a status is written as its enum
member (a StrEnum, so it compares and serialises as its value).

The scan reads every module of `chalicelib/` (docstrings aside) and fails on a string constant
equal to a value of any StrEnum in the statuses module, except:
- in the report parsers (`chalicelib/reports/`), a format's own vocabulary where it is the
  format's: the keys of a mapping to our statuses, and the `Literal[...]` of a pydantic model
  that validates the format's field;
- the short ALLOWED list below: names that happen to equal a status word (each with its count,
  so one more use of the word fails the test too)."""

from __future__ import annotations

import ast
import enum
from collections import Counter
from pathlib import Path

from chalicelib.domain import statuses

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"
STATUSES_MODULE = PACKAGE / "domain" / "statuses.py"
FORMATS = PACKAGE / "reports"

# (file under chalicelib/, literal) -> (how many times, why it is not a status)
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {
    ("domain/clusters.py", "merged"): (1, "a cluster label's kind, not a ticket status"),
    ("services/clusters.py", "merged"): (1, "a cluster label's kind, not a ticket status"),
    ("domain/exports.py", "open"): (1, "the cause of a ticket's opening in an export row"),
    ("domain/gates.py", "passed"): (2, "a gate verdict's boolean field"),
    ("services/metrics.py", "passed"): (4, "a gate verdict's boolean field"),
    ("services/plans.py", "passed"): (1, "a gate verdict's boolean field"),
    ("domain/metrics.py", "decided"): (1, "the counter of lead decisions"),
    ("domain/metric_figures.py", "decided"): (1, "the counter of lead decisions"),
    ("domain/metrics.py", "reopened"): (2, "a defect's flag: reopened after it was resolved"),
    ("services/decisions.py", "decided"): (1, "the ticket's workflow state after a decision"),
    ("handlers.py", "expired"): (1, "a log field: whether the draft deadline expired it"),
    ("services/filing.py", "merged"): (2, "an outcome's flag: an occurrence of a known draft"),
    ("services/uploads.py", "merged"): (3, "an upload's counter of occurrences of known drafts"),
    ("services/flaky.py", "active"): (2, "a quarantine view's boolean field"),
    ("models/test_management.py", "draft"): (1, "the edge model's Literal (OpenAPI enum)"),
    ("models/test_management.py", "active"): (2, "the edge model's Literal and default"),
    ("models/test_management.py", "deprecated"): (1, "the edge model's Literal (OpenAPI enum)"),
    ("reports/playwright.py", "passed"): (1, "Playwright's default expectedStatus"),
    ("domain/feedback.py", "invalid"): (1, "a Jira resolution's name"),
    ("services/testcase_imports.py", "invalid"): (1, "a row's action (created, ..., invalid)"),
    ("services/testcase_writes.py", "invalid"): (3, "a row's action (created, ..., invalid)"),
    # Job statuses whose enum would drag in names equal to their words ("queued" and "pending"
    # counters and ledger fields, Jira's "done" category): not written yet.
    ("services/reports.py", "failed"): (1, "a report build's status (queued, done, failed)"),
    ("services/tickets.py", "rejected"): (2, "an attachment's status (pending, stored, rejected)"),
}


def _status_values() -> set[str]:
    return {
        member.value
        for obj in vars(statuses).values()
        if isinstance(obj, type) and issubclass(obj, enum.StrEnum) and obj is not enum.StrEnum
        for member in obj
    }


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _format_vocabulary(tree: ast.Module) -> set[int]:
    """A report format's own words: mapping keys and the contents of `Literal[...]`."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            found.update(id(k) for k in node.keys if k is not None)
        is_literal = isinstance(node, ast.Subscript) and (
            (isinstance(node.value, ast.Name) and node.value.id == "Literal")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "Literal")
        )
        if is_literal:
            found.update(id(n) for n in ast.walk(node.slice))
    return found


def status_literals(path: Path, values: set[str]) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    if FORMATS in path.parents:
        skip |= _format_vocabulary(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in values
        and id(node) not in skip
    )


def test_the_statuses_module_has_status_enums() -> None:
    assert {"passed", "draft", "open", "failing", "in_review"} <= _status_values()


def test_no_status_literals_outside_the_statuses_module() -> None:
    values = _status_values()
    found: Counter[tuple[str, str]] = Counter()
    lines: dict[tuple[str, str], list[int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == STATUSES_MODULE:
            continue
        name = path.relative_to(PACKAGE).as_posix()
        for line, literal in status_literals(path, values):
            found[(name, literal)] += 1
            lines.setdefault((name, literal), []).append(line)
    problems = [
        f"chalicelib/{name}:{lines[(name, literal)]} {literal!r} x{count}"
        f" (allowed {ALLOWED.get((name, literal), (0, ''))[0]})"
        for (name, literal), count in sorted(found.items())
        if count != ALLOWED.get((name, literal), (0, ""))[0]
    ]
    stale = [f"{key} is allowed but no longer used" for key in ALLOWED if key not in found]
    assert not problems + stale, (
        "status literals outside chalicelib/domain/statuses.py (use the enum member, or, for a"
        " name that is not a status, add it to ALLOWED with its reason):\n"
        + "\n".join(problems + stale)
    )


def test_the_scan_finds_a_status_literal(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""A docstring may say passed."""\n'
        'def f(t):\n    return t.status == "open"\n'
        'X = {"failed": 1}\n',
        encoding="utf-8",
    )
    assert status_literals(sample, _status_values()) == [(3, "open"), (4, "failed")]
