"""Which report format a file is, from its first bytes (the server tells the same way; the
client needs it to choose the upload's format)."""

from __future__ import annotations

import re

FORMATS = ("junit", "ctrf", "playwright", "trx", "nunit3", "xunit2", "cucumber", "tap", "json")
_ROOTS = {
    "testsuites": "junit",
    "testsuite": "junit",
    "TestRun": "trx",
    "test-run": "nunit3",
    "test-suite": "nunit3",
    "assemblies": "xunit2",
    "assembly": "xunit2",
}
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_CTRF = re.compile(rb'"reportFormat"\s*:\s*"CTRF"|"results"\s*:\s*\{\s*"tool"')
_TAP = re.compile(rb"^\s*(TAP version \d+|1\.\.\d+|(not )?ok\b)", re.MULTILINE)


def detect(head: bytes) -> str | None:
    """The format of a report from its first 64 KiB, or None."""
    head = head[:65_536].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        for found in _TAG.finditer(head):
            before = head[: found.start()]
            if before.count(b"<!--") > before.count(b"-->"):
                continue
            return _ROOTS.get(found.group(1).decode("ascii", "replace"))
        return None
    if head.startswith(b"["):
        return "cucumber"
    if head.startswith(b"{"):
        if _CTRF.search(head[:8192]):
            return "ctrf"
        if re.search(rb'"(config|suites)"\s*:', head[:8192]):
            return "playwright"
        if b'"results"' in head and b'"run"' in head:
            return "json"
        return None
    return "tap" if _TAP.search(head) else None


def media_type(fmt: str) -> str:
    if fmt in ("junit", "trx", "nunit3", "xunit2"):
        return "application/xml"
    return "text/plain" if fmt == "tap" else "application/json"


# One occurrence per test (or more: retries, steps), counted to choose the upload for a report
# with many tests however small its file: the server records a direct report before it answers.
_CASE_MARKS = {
    "junit": re.compile(rb"<testcase\b"),
    "trx": re.compile(rb"<UnitTestResult\b"),
    "nunit3": re.compile(rb"<test-case\b"),
    "xunit2": re.compile(rb"<test\b"),
    "ctrf": re.compile(rb'"status"\s*:'),
    "playwright": re.compile(rb'"retry"\s*:'),
    "cucumber": re.compile(rb'"steps"\s*:'),
    "tap": re.compile(rb"^\s*(?:not )?ok\b", re.MULTILINE),
}


def count_cases(body: bytes, fmt: str | None) -> int:
    """About how many tests a report holds (never fewer than it has; 0 when unknown)."""
    mark = _CASE_MARKS.get(fmt or "")
    return sum(1 for _ in mark.finditer(body)) if mark else 0
