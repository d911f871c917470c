"""JUnit XML reports -> `ResultIn`s.

The XML is parsed by defusedxml (DTDs, entity declarations and external references are refused,
which rules out "billion laughs" and XXE) and the resulting element tree is read through
junitparser's xunit2 classes (the flavour that knows Surefire's flaky/rerun elements and
testcase-level properties). junitparser's own `fromstring`/`fromfile` are never used: they parse
with plain `xml.etree` (or lxml), which is not safe for untrusted input.

This module is imported lazily (only by the code paths that accept JUnit bodies).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as defused_fromstring
from junitparser import JUnitXmlError
from junitparser.junitparser import Error, Failure, Result, Skipped
from junitparser.xunit2 import (
    InterimResult,
    JUnitXml,
    RerunError,
    RerunFailure,
    TestCase,
    TestSuite,
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

__all__ = ["parse_junit"]

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
    doc = _read_document(bytes(xml))
    results: list[ResultIn] = []
    cache: FieldCache = {}
    mapping = mapping or ReportMapping()
    for index, (case, suite_name, props) in enumerate(_walk(doc)):
        for data in _case_results(case, suite_name, props, cache, mapping):
            by = data.pop("_by")
            results.append(_validate(data, index))
            if explain is not None:
                explain.append(by)
    return results


# --- parsing -------------------------------------------------------------------------------------


def _malformed(problem: str) -> MalformedRequest:
    return MalformedRequest(
        f"the body is not a valid JUnit XML report: it {problem}", [field_problem("body", problem)]
    )


def _read_document(body: bytes) -> JUnitXml:
    # Leading blank lines (or blank lines after a UTF-8 BOM) before the XML declaration are a
    # parse error in expat but common in hand-edited or concatenated reports; drop them.
    body = body.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not body:
        raise _malformed("is empty")
    try:
        root = defused_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    # Our own messages only: defusedxml's exception strings echo system ids (file paths, URLs).
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
    try:
        # fromroot() is annotated as returning the base class; on xunit2.JUnitXml it builds one.
        return cast(JUnitXml, JUnitXml.fromroot(root))
    except JUnitXmlError as exc:
        tag = str(root.tag)[:50]
        raise _malformed(f"has root element <{tag}>, expected <testsuites> or <testsuite>") from exc


def _walk(doc: JUnitXml) -> Iterator[tuple[TestCase, str, Props]]:
    """Every testcase with its innermost suite's name and the properties inherited from its
    suites, depth first. Iterative (no recursion), and real tools nest a few levels at most, so
    nesting deeper than MAX_SUITE_DEPTH is refused rather than walked."""
    # Testcases directly under <testsuites> are not in the schema but some tools write them.
    yield from ((case, _attr(doc.name).strip(), {}) for case in doc.iterchildren(TestCase))
    stack: list[tuple[TestSuite, Props, int]] = [(cast(TestSuite, s), {}, 1) for s in doc]
    stack.reverse()
    while stack:
        suite, inherited, depth = stack.pop()
        props = _merge(inherited, suite.properties())
        name = _attr(suite.name).strip()
        for case in suite.iterchildren(suite.testcase):
            yield case, name, props
        nested = [(child, props, depth + 1) for child in suite.testsuites()]
        if nested and depth >= MAX_SUITE_DEPTH:
            raise _malformed(f"nests <testsuite> elements more than {MAX_SUITE_DEPTH} deep")
        nested.reverse()
        stack.extend(nested)


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
        "title": _title(name),
        "source": {k: _title(v) for k, v in source.items() if v} or None,
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
        "reporter": _title(_prop(props, REPORTER_KEY)),
        "jiraTestKey": _title(_prop(props, JIRA_TEST_KEY_KEY)),
        "expected": _clip(_prop(props, EXPECTED_KEY), TEXT_MAX) or None,
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
        "type": _title(_attr(result.type)),
        "message": _clip(message, TEXT_MAX) or None,
        "trace": _clip_middle(text, TRACE_MAX) if text.strip() else None,
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
            links.append({"name": _title(name) or "evidence", "url": url})
    return links[:MAX_EVIDENCE]


# --- clipping ------------------------------------------------------------------------------------


def _title(value: str) -> str | None:
    value = value.strip()
    if len(value) > NAME_MAX:
        value = value[: NAME_MAX - 1].rstrip() + "…"
    return value or None


def _clip(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    marker = f"… [{len(value) - limit} more characters truncated]"
    return value[: limit - len(marker)] + marker


def _clip_middle(value: str, limit: int) -> str:
    """Keep both ends of a trace: Java puts the cause first, Python's traceback ends with it."""
    if len(value) <= limit:
        return value
    marker = f"\n… [{len(value) - limit} characters truncated] …\n"
    keep = limit - len(marker) - 16  # a little slack for the marker's own digits
    head = keep // 2
    return value[:head] + marker + value[len(value) - (keep - head) :]


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
