"""Test reports in the formats CI tools write, each read by its own module into `ResultIn`s:
JUnit XML (every dialect, `chalicelib.junit`), CTRF, Playwright JSON, TRX, NUnit 3, xUnit v2,
Cucumber JSON and TAP. `detect` tells the format from the body when the client does not say.

Imported lazily: only the report routes and the upload processor need it.
"""

from __future__ import annotations

import importlib
import re

from chalicelib.domain.mapping import ReportMapping
from chalicelib.errors import MalformedRequest, ValidationFailed, field_problem
from chalicelib.models import ResultIn

FORMATS = ("junit", "ctrf", "playwright", "trx", "nunit3", "xunit2", "cucumber", "tap")
XML_FORMATS = ("junit", "trx", "nunit3", "xunit2")
JSON_FORMATS = ("ctrf", "playwright", "cucumber")

_ROOTS = {
    "testsuites": "junit",
    "testsuite": "junit",
    "TestRun": "trx",
    "test-run": "nunit3",
    "test-suite": "nunit3",
    "assemblies": "xunit2",
    "assembly": "xunit2",
}
_FIRST_TAG = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_CTRF = re.compile(rb'"reportFormat"\s*:\s*"CTRF"|"results"\s*:\s*\{\s*"tool"')
_TAP_LINE = re.compile(rb"^\s*(TAP version \d+|1\.\.\d+|(not )?ok\b)", re.MULTILINE)


def detect(body: bytes) -> str:
    """The format of a report, from its first bytes; `MalformedRequest` when none fits."""
    head = body[:65_536].removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if head.startswith(b"<"):
        position = 0
        while True:  # skip the declaration, comments and processing instructions
            found = _FIRST_TAG.search(head, position)
            if found is None:
                break
            before = head[: found.start()]
            if before.count(b"<!--") > before.count(b"-->"):
                position = found.end()
                continue
            name = found.group(2).decode("ascii", "replace")
            fmt = _ROOTS.get(name)
            if fmt is not None:
                return fmt
            raise _unknown(f"has root element <{name[:50]}>, which no supported format uses")
        raise _unknown("looks like XML but has no root element")
    if head.startswith(b"["):
        return "cucumber"
    if head.startswith(b"{"):
        window = head[:8192]
        if _CTRF.search(window):
            return "ctrf"
        if re.search(rb'"(config|suites)"\s*:', window):
            return "playwright"
        if b'"results"' in window and b'"run"' in window:
            return "json"
        raise _unknown("is a JSON object that is neither CTRF nor Playwright JSON")
    if _TAP_LINE.search(head):
        return "tap"
    raise _unknown("is neither XML, JSON nor TAP")


def _unknown(problem: str) -> MalformedRequest:
    return MalformedRequest(
        f"the report's format cannot be told from its body: it {problem}; name it with"
        f" ?format= (one of {', '.join(FORMATS)})",
        [field_problem("format", problem)],
    )


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationFailed(
            f"unknown report format {fmt[:50]!r}",
            [field_problem("format", "must be one of " + ", ".join(FORMATS))],
        )
    return fmt


def parse_report(
    body: bytes,
    fmt: str | None = None,
    *,
    max_bytes: int,
    mapping: ReportMapping | None = None,
    explain: list[dict[str, str]] | None = None,
) -> tuple[str, list[ResultIn]]:
    """(format, results) of a report body; the format is detected when not given."""
    from chalicelib.errors import PayloadTooLarge

    if len(body) > max_bytes:
        raise PayloadTooLarge(
            "the report is too large", [field_problem("body", f"must be at most {max_bytes} bytes")]
        )
    fmt = check_format(fmt) if fmt else detect(body)
    if fmt == "json":
        raise _unknown(
            "is a failbridge results document; send it to POST /v1/projects/{project}/results"
        )
    if fmt == "junit":
        from chalicelib.junit import parse_junit

        return fmt, parse_junit(body, max_bytes=max_bytes, mapping=mapping, explain=explain)
    module = importlib.import_module(f"chalicelib.reports.{fmt}")
    return fmt, module.parse(body, mapping, explain)


def media_type(fmt: str) -> str:
    if fmt in XML_FORMATS:
        return "application/xml"
    if fmt == "tap":
        return "text/plain"
    return "application/json"
