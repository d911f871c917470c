"""JUnit XML reports -> `ResultIn`s.

The XML is parsed incrementally by defusedxml's `iterparse` (DTDs, entity declarations and
external references are refused, which rules out "billion laughs" and XXE): each testcase is
read when its end tag arrives, turned into results and dropped from the tree, so memory holds
one testcase and the open suites, never the document (`iter_junit` reads a stream, e.g. an S3
body). Each testcase element is read through junitparser's xunit2 classes (the flavour that
knows Surefire's flaky/rerun elements and testcase-level properties). junitparser's own
`fromstring`/`fromfile` are never used: they parse with plain `xml.etree` (or lxml), which is
not safe for untrusted input.

This module is imported lazily (only by the code paths that accept JUnit bodies).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any, cast

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import iterparse as defused_iterparse
from junitparser.junitparser import Property
from junitparser.xunit2 import (
    TestCase,
)

from chalicelib import settings
from chalicelib.domain.mapping import ReportMapping
from chalicelib.errors import (
    MalformedRequest,
    PayloadTooLarge,
    ValidationFailed,
    field_problem,
)
from chalicelib.models import ResultIn, parse_model

__all__ = ["iter_junit", "parse_junit"]

from chalicelib.junit_cases import (
    MAX_SUITE_DEPTH,
    FieldCache,
    Props,
    _attr,
    _case_results,
    _merge,
)


def parse_junit(
    xml: bytes,
    *,
    max_bytes: int = settings.MAX_JUNIT_BODY_BYTES,
    mapping: ReportMapping | None = None,
    explain: list[dict[str, str]] | None = None,
) -> list[ResultIn]:
    """Parse a JUnit XML report into results: one per testcase, plus one per earlier failed attempt
    of a rerun/flaky testcase (Surefire's `flakyFailure`/`rerunFailure` and friends). Each
    testcase's test case, scenario and module come from `chalicelib.domain.mapping` (explicit
    properties, then the project's rules, then the defaults); `explain`, when given, receives for
    each result which of those decided each of the three.

    Raises `PayloadTooLarge` when the body exceeds `max_bytes`, `MalformedRequest` when it is not
    a safe, well-formed JUnit document, and `ValidationFailed` if a testcase still cannot be
    turned into a valid result (which the clipping below is meant to prevent).
    """
    if not isinstance(xml, (bytes, bytearray)):
        raise _malformed("must be a JUnit XML document (bytes)")
    if len(xml) > max_bytes:
        raise PayloadTooLarge(
            "the JUnit report is too large",
            [field_problem("body", f"must be at most {max_bytes} bytes")],
        )
    return [r for _, r in iter_junit(io.BytesIO(bytes(xml)), mapping=mapping, explain=explain)]


def iter_junit(
    stream: IO[bytes],
    *,
    max_bytes: int | None = None,
    mapping: ReportMapping | None = None,
    explain: list[dict[str, str]] | None = None,
) -> Iterator[tuple[int, ResultIn]]:
    """The results of a JUnit report read from `stream`, as (testcase index, result) in document
    order, a testcase's attempts together. Memory stays bounded by the largest testcase. Raises
    as `parse_junit` does, when it reaches the problem: a consumer that must be all-or-nothing
    holds back its side effects until the iterator is exhausted."""
    cache: FieldCache = {}
    mapping = mapping or ReportMapping()
    for index, (case, suite_name, props) in enumerate(_stream_cases(stream, max_bytes)):
        for data in _case_results(case, suite_name, props, cache, mapping):
            by = data.pop("_by")
            yield index, _validate(data, index)
            if explain is not None:
                explain.append(by)


# --- parsing -------------------------------------------------------------------------------------


def _malformed(problem: str) -> MalformedRequest:
    return MalformedRequest(
        f"the body is not a valid JUnit XML report: it {problem}", [field_problem("body", problem)]
    )


class _Trimmed(io.RawIOBase):
    """The stream without a leading UTF-8 BOM and blank lines (a parse error in expat, but
    common in hand-edited or concatenated reports), and refusing to read past `max_bytes`."""

    def __init__(self, raw: IO[bytes], max_bytes: int | None) -> None:
        self._raw = raw
        self._max = max_bytes
        self._seen = 0
        self._head: bytes | None = None

    def readable(self) -> bool:
        return True

    def _start(self) -> bytes:
        head = b""
        while True:
            block = self._read(64 * 1024)
            if not block:
                return head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
            head = (head + block).removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
            if head and head != b"\xef\xbb"[: len(head)]:
                return head

    def _read(self, n: int) -> bytes:
        block = bytes(self._raw.read(n) or b"")
        self._seen += len(block)
        if self._max is not None and self._seen > self._max:
            raise PayloadTooLarge(
                "the JUnit report is too large",
                [field_problem("body", f"must be at most {self._max} bytes")],
            )
        return block

    def read(self, size: int | None = -1) -> bytes:
        if self._head is None:
            self._head = self._start()
            if not self._head:
                raise _malformed("is empty")
        if self._head:
            out, self._head = self._head, b""
            return out
        return self._read(size if size and size > 0 else 64 * 1024)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


_SUITE, _SUITES, _CASE = "testsuite", "testsuites", "testcase"


# An open element: (element, kind, name, props, depth, props read); kind is "root"/"suite" for
# live containers, "case" for a testcase being read, "" for anything else.
_Open = tuple[Any, str, str, Props, int, bool]


def _stream_cases(
    stream: IO[bytes], max_bytes: int | None
) -> Iterator[tuple[TestCase, str, Props]]:
    """Every testcase directly inside <testsuites> or a <testsuite>, with its innermost suite's
    name and the properties inherited from its suites. A suite's properties are its first
    <properties> child, read when that element ends (JUnit writes them before the testcases).
    Each element is dropped from the tree once read. Nesting deeper than MAX_SUITE_DEPTH is
    refused rather than walked."""
    events = _defused_events(cast(IO[bytes], _Trimmed(stream, max_bytes)))
    # Whether a suite's <properties> were read is kept on its own entry, never by id(element):
    # a suite dropped once read is freed, and a later suite may get its id (its properties, e.g.
    # the `scenario`, were then skipped, and each of its testcases became a scenario of its own).
    open_: list[_Open] = []
    for event, elem in events:
        if event == "start":
            open_.append(_opened(open_[-1] if open_ else None, elem))
            continue
        # event == "end": the element is complete
        this = open_.pop()
        container = open_[-1] if open_ else None
        if this[1] == "case":
            yield TestCase.fromelem(elem), this[2], this[3]
        elif (
            this[0].tag == "properties"
            and container is not None
            and container[1] == "suite"
            and not container[5]
        ):
            own = _merge(container[3], (Property.fromelem(p) for p in elem.iterfind("property")))
            open_[-1] = (*container[:3], own, container[4], True)
        if container is not None and container[1] in ("root", "suite"):
            container[0].remove(elem)  # read: drop it, so the tree never grows


def _opened(parent: _Open | None, elem: Any) -> _Open:
    """The entry of an element that starts inside `parent` (None: the root)."""
    tag = elem.tag
    if parent is None:
        if tag not in (_SUITE, _SUITES):
            raise _malformed(
                f"has root element <{str(tag)[:50]}>, expected <testsuites> or <testsuite>"
            )
        name = _attr(elem.get("name")).strip()
        kind = "suite" if tag == _SUITE else "root"
        return (elem, kind, name, {}, 1 if tag == _SUITE else 0, False)
    _, p_kind, p_name, p_props, p_depth, _ = parent
    if p_kind in ("root", "suite") and tag == _SUITE:
        if p_depth >= MAX_SUITE_DEPTH:
            raise _malformed(f"nests <testsuite> elements more than {MAX_SUITE_DEPTH} deep")
        name = _attr(elem.get("name")).strip()
        return (elem, "suite", name, p_props, p_depth + 1, False)
    if p_kind in ("root", "suite") and tag == _CASE:
        return (elem, "case", p_name, p_props, p_depth, False)
    return (elem, "", p_name, p_props, p_depth, False)


def _defused_events(stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """defusedxml's iterparse, its errors turned into ours (never its messages: they echo system
    ids, i.e. file paths and URLs)."""
    try:
        events = defused_iterparse(
            stream,
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        while True:
            try:
                item = next(events)
            except StopIteration:
                return
            yield item
    except DTDForbidden as exc:
        raise _malformed("must not contain a DOCTYPE or DTD") from exc
    except EntitiesForbidden as exc:
        raise _malformed("must not declare entities") from exc
    except ExternalReferenceForbidden as exc:
        raise _malformed("must not reference external entities") from exc
    except DefusedXmlException as exc:
        raise _malformed("uses XML features that are not allowed") from exc
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":", 1)[0] or "syntax error"
        raise _malformed(
            f"is not well-formed XML ({reason} at line {line}, column {column})"
        ) from exc
    except (ValueError, LookupError) as exc:  # e.g. an unknown encoding in the XML declaration
        raise _malformed("is not well-formed XML") from exc


def _validate(data: dict[str, Any], index: int) -> ResultIn:
    try:
        return parse_model(ResultIn, data)
    except ValidationFailed as exc:
        where = f"testcase[{index}]"
        details = [field_problem(f"{where}.{d['field']}", d["problem"]) for d in exc.details]
        raise ValidationFailed(
            f"the JUnit report's {where} ({data.get('testCaseId')}) is not a valid result", details
        ) from exc
