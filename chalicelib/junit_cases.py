"""One JUnit testcase -> result dicts (`chalicelib.junit` streams the document and validates):
the properties a testcase inherits from its suites, its identity, attempts, failures, clipping."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from junitparser.junitparser import Error, Failure, Result, Skipped
from junitparser.xunit2 import (
    InterimResult,
    RerunError,
    RerunFailure,
    TestCase,
)

from chalicelib.domain.mapping import CaseFacts, ReportMapping, identify, property_key
from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.reports.common import (
    MAX_ATTEMPTS,
    MAX_EVIDENCE,
    MAX_REQUIREMENTS,
    NAME_MAX,
    TEXT_MAX,
    TRACE_MAX,
    URL_MAX,
    clip,
    clip_middle,
    title,
)

# The field limits of the edge models (chalicelib.models) are the report parsers' own
# (`reports.common`): every value stays inside them, so that a legitimate report never fails
# validation because one test wrote a huge message.
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


def _case_results(
    case: TestCase, suite_name: str, suite_props: Props, cache: FieldCache, mapping: ReportMapping
) -> list[dict[str, Any]]:
    """A testcase's results: one per earlier failed attempt, then its outcome."""
    # Most testcases (the passing ones) have no child elements: skip junitparser's subtree scans
    # for them. Otherwise read each scan once; junitparser repeats it on every property access.
    has_children = len(case._elem) > 0
    base = _case_base(case, suite_name, suite_props, cache, mapping, has_children)
    name = _attr(case.name).strip()
    attempts, final, skipped = _attempts(case, has_children)
    out: list[dict[str, Any]] = []
    for number, attempt in enumerate(attempts, start=1):
        failed = _failed(attempt, name)
        out.append({**base, **failed, "attempt": number, "durationMs": _ms(attempt)})
    last = len(attempts) + 1
    if final is not None:
        outcome = {**_failed(final, name), "durationMs": _ms(case)}
    else:
        outcome = {"status": R.SKIPPED if skipped else R.PASSED, "durationMs": _ms(case)}
    out.append({**base, **outcome, "attempt": last})
    return out


def _case_base(
    case: TestCase,
    suite_name: str,
    suite_props: Props,
    cache: FieldCache,
    mapping: ReportMapping,
    has_children: bool,
) -> dict[str, Any]:
    """What every result of the testcase shares: its identity (`domain.mapping`), title,
    source and the fields its properties give."""
    name = _attr(case.name).strip()
    classname = _attr(case.classname).strip()
    file = _attr(case._elem.get("file")).strip()
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
    return {
        "testCaseId": identity.test_case_id,
        "scenarioId": identity.scenario_id,
        "module": identity.module,
        "title": title(name),
        "source": {k: title(v) for k, v in source.items() if v} or None,
        "_by": dict(identity.by),
        **fields,
    }


def _attempts(case: TestCase, has_children: bool) -> tuple[list[Result], Result | None, bool]:
    """(the earlier failed attempts, the final failure or None, skipped)."""
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
    return attempts, final, skipped


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
        "status": R.FAILED,
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
