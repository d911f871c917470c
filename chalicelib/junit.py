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
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, cast

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import iterparse as defused_iterparse
from junitparser.junitparser import Error, Failure, Property, Result, Skipped
from junitparser.xunit2 import (
    InterimResult,
    RerunError,
    RerunFailure,
    TestCase,
)

from chalicelib import settings
from chalicelib.domain.mapping import CaseFacts, ReportMapping, identify, property_key
from chalicelib.errors import (
    MalformedRequest,
    PayloadTooLarge,
    ValidationFailed,
    field_problem,
)
from chalicelib.models import ResultIn, parse_model
from chalicelib.reports.common import clip, clip_middle, title

__all__ = ["iter_junit", "parse_junit"]

# Field limits of the edge models (chalicelib.models): keep every value inside them so that a
# legitimate report never fails validation because one test wrote a huge message.
NAME_MAX = 200
TEXT_MAX = 10_000
TRACE_MAX = 65_536
URL_MAX = 2048
MAX_REQUIREMENTS = 50
MAX_EVIDENCE = 20
MAX_ATTEMPTS = 100
MAX_SUITE_DEPTH = 100

# Property names are matched case-insensitively with "_" and "-" removed, so `test_case_id`,
# `testCaseId`, `testcase_id` and `TestCaseId` are the same key; aliases fold onto one key so that
# a testcase's `requirements` overrides its suite's `requirement`.
KEY_ALIASES = {"scenario": "scenarioid", "requirements": "requirement"}
TEST_CASE_ID_KEY = "testcaseid"
SCENARIO_KEY = "scenarioid"
MODULE_KEY = "module"
REPORTER_KEY = "reporter"
REQUIREMENT_KEY = "requirement"
JIRA_TEST_KEY_KEY = "jiratestkey"
EXPECTED_KEY = "expected"
EVIDENCE_PREFIXES = ("attachment", "evidence")

# normalized property key -> [(original name, value), ...] in document order
Props = dict[str, list[tuple[str, str]]]
# id(suite props) -> (those props, the result fields they determine)
FieldCache = dict[int, tuple[Props, dict[str, Any]]]


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


def _stream_cases(
    stream: IO[bytes], max_bytes: int | None
) -> Iterator[tuple[TestCase, str, Props]]:
    """Every testcase directly inside <testsuites> or a <testsuite>, with its innermost suite's
    name and the properties inherited from its suites. A suite's properties are its first
    <properties> child, read when that element ends (JUnit writes them before the testcases).
    Each element is dropped from the tree once read. Nesting deeper than MAX_SUITE_DEPTH is
    refused rather than walked."""
    events = _defused_events(cast(IO[bytes], _Trimmed(stream, max_bytes)))
    # Open elements: (element, kind, name, props, depth, props read); kind is "root"/"suite"
    # for live containers, "case" for a testcase being read, "" for anything else. Whether a
    # suite's <properties> were read is kept on its own entry, never by id(element): a suite
    # dropped once read is freed, and a later suite may get its id (its properties, e.g. the
    # `scenario`, were then skipped, and each of its testcases became a scenario of its own).
    open_: list[tuple[Any, str, str, Props, int, bool]] = []
    for event, elem in events:
        parent = open_[-1] if open_ else None
        if event == "start":
            tag = elem.tag
            if parent is None:
                if tag not in (_SUITE, _SUITES):
                    raise _malformed(
                        f"has root element <{str(tag)[:50]}>, expected <testsuites> or <testsuite>"
                    )
                name = _attr(elem.get("name")).strip()
                kind = "suite" if tag == _SUITE else "root"
                open_.append((elem, kind, name, {}, 1 if tag == _SUITE else 0, False))
                continue
            _, p_kind, p_name, p_props, p_depth, _ = parent
            if p_kind in ("root", "suite") and tag == _SUITE:
                if p_depth >= MAX_SUITE_DEPTH:
                    raise _malformed(f"nests <testsuite> elements more than {MAX_SUITE_DEPTH} deep")
                name = _attr(elem.get("name")).strip()
                open_.append((elem, "suite", name, p_props, p_depth + 1, False))
            elif p_kind in ("root", "suite") and tag == _CASE:
                open_.append((elem, "case", p_name, p_props, p_depth, False))
            else:
                open_.append((elem, "", p_name, p_props, p_depth, False))
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


def _merge(inherited: Props, properties: Iterable[Any]) -> Props:
    own: Props = {}
    for prop in properties:
        name = _attr(prop.name).strip()
        if not name:
            continue
        value = prop.value
        if value is None:  # <property name="x">value</property>, as some tools write
            value = prop._elem.text
        own.setdefault(_key(name), []).append((name, _attr(value).strip()))
    if not own:
        return inherited
    return {**inherited, **own}


def _key(name: str) -> str:
    key = name.lower().replace("_", "").replace("-", "")
    return KEY_ALIASES.get(key, key)


def _attr(value: Any) -> str:
    return "" if value is None else str(value)


# --- one testcase --------------------------------------------------------------------------------


def _case_results(
    case: TestCase, suite_name: str, suite_props: Props, cache: FieldCache, mapping: ReportMapping
) -> list[dict[str, Any]]:
    name = _attr(case.name).strip()
    classname = _attr(case.classname).strip()
    file = _attr(case._elem.get("file")).strip()

    # Most testcases (the passing ones) have no child elements: skip junitparser's subtree scans
    # for them. Otherwise read each scan once; junitparser repeats it on every property access.
    has_children = len(case._elem) > 0
    props = _merge(suite_props, case.properties()) if has_children else suite_props
    if props is suite_props:  # the fields that only depend on properties: once per suite
        cached = cache.get(id(suite_props))
        if cached is None:  # the cache holds the dict too, so its id cannot be reused
            cached = cache[id(suite_props)] = (suite_props, _prop_fields(suite_props))
        fields = cached[1]
    else:
        fields = _prop_fields(props)
    facts = CaseFacts(
        classname=classname,
        name=name,
        file=file,
        suite=suite_name,
        properties={property_key(n): v for values in props.values() for n, v in values},
    )
    explicit = {
        "testCase": _prop(props, TEST_CASE_ID_KEY),
        "scenario": _prop(props, SCENARIO_KEY),
        "module": _prop(props, MODULE_KEY),
    }
    identity = identify(facts, mapping, explicit)
    source = {"classname": classname, "name": name, "file": file}
    base: dict[str, Any] = {
        "testCaseId": identity.test_case_id,
        "scenarioId": identity.scenario_id,
        "module": identity.module,
        "title": title(name),
        "source": {k: title(v) for k, v in source.items() if v} or None,
        "_by": dict(identity.by),
        **fields,
    }

    finals: Sequence[Result] = case.result if has_children else ()
    problem = next((r for r in finals if isinstance(r, (Failure, Error))), None)
    skipped = problem is None and any(isinstance(r, Skipped) for r in finals)
    interims: list[Result] = list(case.interim_result) if has_children else []

    # The earlier, failed attempts. Surefire writes the *first* failed run of a test that kept
    # failing as <failure>/<error> and the later runs as <rerunFailure>/<rerunError>, so there
    # the chronological order is [failure, *reruns]. For a flaky test (<flakyFailure>, final
    # outcome passed) the interim elements are the earlier failed runs.
    attempts: list[Result] = interims
    final: Result | None = problem
    if problem is not None and any(isinstance(r, (RerunFailure, RerunError)) for r in interims):
        attempts, final = [problem, *interims[:-1]], interims[-1]
    attempts = attempts[-(MAX_ATTEMPTS - 1) :] if attempts else []

    out: list[dict[str, Any]] = []
    for number, attempt in enumerate(attempts, start=1):
        failed = _failed(attempt, name)
        out.append({**base, **failed, "attempt": number, "durationMs": _ms(attempt)})
    last = len(attempts) + 1
    if final is not None:
        outcome = {**_failed(final, name), "durationMs": _ms(case)}
    else:
        outcome = {"status": "skipped" if skipped else "passed", "durationMs": _ms(case)}
    out.append({**base, **outcome, "attempt": last})
    return out


def _prop_fields(props: Props) -> dict[str, Any]:
    return {
        "reporter": title(_prop(props, REPORTER_KEY)),
        "jiraTestKey": title(_prop(props, JIRA_TEST_KEY_KEY)),
        "expected": clip(_prop(props, EXPECTED_KEY), TEXT_MAX) or None,
        "requirements": _requirements(props),
        "evidence": _evidence(props),
    }


def _failed(result: Result, test_name: str) -> dict[str, Any]:
    text = _attr(result.text)
    if isinstance(result, InterimResult):
        text = _attr(result.stack_trace) or text
    text = text.strip("\r\n")
    message = _attr(result.message).strip() or _summary(text, test_name)
    error = {
        "type": title(_attr(result.type)),
        "message": clip(message, TEXT_MAX) or None,
        "trace": clip_middle(text, TRACE_MAX) if text.strip() else None,
    }
    return {
        "status": "failed",
        "actual": error["message"],
        "error": {k: v for k, v in error.items() if v is not None} or None,
    }


def _ms(element: Any) -> int | None:
    raw = element._elem.get("time")
    if not raw:
        return None
    try:
        seconds = float(raw.replace(",", ""))  # like junitparser: "1,234.5" is a thousands comma
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return round(seconds * 1000)


def _prop(props: Props, key: str) -> str:
    values = props.get(key)
    return values[-1][1] if values else ""


def _requirements(props: Props) -> list[str]:
    seen: dict[str, None] = {}  # ordered and de-duplicated
    for _, value in props.get(REQUIREMENT_KEY, ()):
        for item in value.split(","):
            item = item.strip()[:NAME_MAX].strip()
            if item:
                seen.setdefault(item, None)
    return list(seen)[:MAX_REQUIREMENTS]


def _evidence(props: Props) -> list[dict[str, str]]:
    links: list[dict[str, str]] = []
    for key, values in props.items():
        if not key.startswith(EVIDENCE_PREFIXES):
            continue
        for name, url in values:
            if not url.startswith(("http://", "https://")) or len(url) > URL_MAX:
                continue
            if _key(name).rstrip("s") in EVIDENCE_PREFIXES:  # bare name: use the file name
                name = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1] or name
            links.append({"name": title(name) or "evidence", "url": url})
    return links[:MAX_EVIDENCE]


# --- clipping ------------------------------------------------------------------------------------


def _summary(text: str, test_name: str) -> str:
    """A message for failures written without a `message` attribute (jest-junit, PHPUnit): the
    first non-blank line of the text, skipping PHPUnit's leading `Class::testName` line."""
    lines = (line.strip() for line in text.splitlines())
    first = next((line for line in lines if line), "")
    if test_name and first.endswith(f"::{test_name}"):
        first = next((line for line in lines if line), first)
    return first


def _validate(data: dict[str, Any], index: int) -> ResultIn:
    try:
        return parse_model(ResultIn, data)
    except ValidationFailed as exc:
        where = f"testcase[{index}]"
        details = [field_problem(f"{where}.{d['field']}", d["problem"]) for d in exc.details]
        raise ValidationFailed(
            f"the JUnit report's {where} ({data.get('testCaseId')}) is not a valid result", details
        ) from exc
