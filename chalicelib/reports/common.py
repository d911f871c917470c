"""What every report parser shares: safe XML and bounded JSON reading with errors that name the
format and the position, one `Case` per test as the report describes it, and turning cases into
`ResultIn`s through the project's identity rules (`chalicelib.domain.mapping`).

Nothing here is imported by `app.py`; the report routes import `chalicelib.reports` lazily.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from chalicelib.domain.mapping import CaseFacts, ReportMapping, identify, property_key
from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.errors import MalformedRequest, ValidationFailed, field_problem
from chalicelib.models import ResultIn, parse_model

NAME_MAX = 200
TEXT_MAX = 10_000
TRACE_MAX = 65_536
URL_MAX = 2048
MAX_REQUIREMENTS = 50
MAX_EVIDENCE = 20
MAX_ATTEMPTS = 100
MAX_JSON_DEPTH = 64  # real reports nest a dozen levels at most (Playwright's describe blocks)
MAX_XML_DEPTH = 100

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colours Playwright and jest put in messages

FORMAT_NAMES = {
    "junit": "JUnit XML",
    "ctrf": "CTRF",
    "playwright": "Playwright JSON",
    "trx": "TRX",
    "nunit3": "NUnit 3 XML",
    "xunit2": "xUnit v2 XML",
    "cucumber": "Cucumber JSON",
    "tap": "TAP",
    "json": "failbridge JSON",
}


def malformed(fmt: str, problem: str, where: str = "body") -> MalformedRequest:
    """400: the body is not a readable report of `fmt`; `problem` says what and where."""
    name = FORMAT_NAMES.get(fmt, fmt)
    return MalformedRequest(
        f"the body is not a valid {name} report: it {problem}", [field_problem(where, problem)]
    )


def invalid(fmt: str, where: str, problem: str) -> ValidationFailed:
    """422: the body is readable but a field of the report is not what the format says."""
    name = FORMAT_NAMES.get(fmt, fmt)
    return ValidationFailed(
        f"the {name} report is not valid: {where} {problem}", [field_problem(where, problem)]
    )


# --- reading -------------------------------------------------------------------------------------


def strip_preamble(body: bytes) -> bytes:
    return body.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")


def read_xml(body: bytes, fmt: str) -> Element:
    """Parse with defusedxml: DTDs, entity declarations and external references are refused.
    Nesting deeper than MAX_XML_DEPTH is refused too."""
    from defusedxml import (
        DefusedXmlException,
        DTDForbidden,
        EntitiesForbidden,
        ExternalReferenceForbidden,
    )
    from defusedxml.ElementTree import ParseError, fromstring

    body = strip_preamble(body)
    if not body:
        raise malformed(fmt, "is empty")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    # Our own messages only: defusedxml's exception strings echo system ids (paths, URLs).
    except DTDForbidden as exc:
        raise malformed(fmt, "must not contain a DOCTYPE or DTD") from exc
    except EntitiesForbidden as exc:
        raise malformed(fmt, "must not declare entities") from exc
    except ExternalReferenceForbidden as exc:
        raise malformed(fmt, "must not reference external entities") from exc
    except DefusedXmlException as exc:
        raise malformed(fmt, "uses XML features that are not allowed") from exc
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":", 1)[0] or "syntax error"
        raise malformed(
            fmt, f"is not well-formed XML ({reason} at line {line}, column {column})"
        ) from exc
    except (ValueError, LookupError) as exc:
        raise malformed(fmt, "is not well-formed XML") from exc
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise malformed(fmt, f"nests elements more than {MAX_XML_DEPTH} deep")
        stack.extend((child, depth + 1) for child in element)
    return root


def local(tag: Any) -> str:
    """An element's name without its namespace (TRX is namespaced, the others are not)."""
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def children(element: Element, name: str) -> list[Element]:
    return [c for c in element if local(c.tag) == name]


def child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next((c for c in element if local(c.tag) == name), None)


def grandchildren(element: Element, parent: str, name: str) -> list[Element]:
    found = child(element, parent)
    return [] if found is None else children(found, name)


def text_of(element: Element | None) -> str:
    return "" if element is None or element.text is None else element.text


def read_json(body: bytes, fmt: str) -> Any:
    """Decode JSON, naming the line and column of a syntax error; nesting deeper than
    MAX_JSON_DEPTH is refused (checked iteratively, so a hostile body cannot exhaust the
    stack; Python's decoder itself stops at its recursion limit)."""
    body = strip_preamble(body)
    if not body:
        raise malformed(fmt, "is empty")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise malformed(
            fmt, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise malformed(fmt, f"is not UTF-8 text (byte {exc.start})") from exc
    except RecursionError as exc:
        raise malformed(fmt, f"nests JSON more than {MAX_JSON_DEPTH} levels deep") from exc
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise malformed(fmt, f"nests JSON more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return data


def validate_json(model: Any, data: Any, fmt: str) -> Any:
    """A pydantic model of the format over decoded JSON; the first problem names its path."""
    from pydantic import ValidationError

    from chalicelib.models import _field_path, _problem

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        details = [field_problem(_field_path(e["loc"]), _problem(e)) for e in errors[:20]]
        first = details[0]
        name = FORMAT_NAMES.get(fmt, fmt)
        raise ValidationFailed(
            f"the {name} report is not valid: {first['field']} {first['problem']}", details
        ) from exc


# --- cases ---------------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One run of a test: its outcome and, for a failure, what went wrong."""

    status: str  # passed, failed, blocked, skipped
    message: str = ""
    trace: str = ""
    error_type: str = ""
    duration_ms: int | None = None


@dataclass
class Case:
    """One test as a report describes it. `attempts` are in order; the last is the outcome."""

    name: str
    attempts: list[Attempt]
    classname: str = ""
    file: str = ""
    suite: str = ""
    properties: list[tuple[str, str]] = field(default_factory=list)
    steps: str = ""
    evidence: list[tuple[str, str]] = field(default_factory=list)  # (name, url)


def to_results(
    cases: Iterable[Case],
    mapping: ReportMapping | None,
    fmt: str,
    explain: list[dict[str, str]] | None = None,
) -> list[ResultIn]:
    mapping = mapping or ReportMapping()
    results: list[ResultIn] = []
    for index, case in enumerate(cases):
        for data in case_results(case, mapping):
            by = data.pop("_by")
            results.append(_validate(data, index, fmt))
            if explain is not None:
                explain.append(by)
    return results


def case_results(case: Case, mapping: ReportMapping) -> list[dict[str, Any]]:
    """A case's results: one per attempt (the last `MAX_ATTEMPTS`), a pass when it has none."""
    base = _case_base(case, mapping)
    attempts = case.attempts[-MAX_ATTEMPTS:] or [Attempt(R.PASSED)]
    out = []
    for number, attempt in enumerate(attempts, start=1):
        data = {**base, "status": attempt.status, "attempt": number}
        data["durationMs"] = attempt.duration_ms
        if attempt.status in (R.FAILED, R.BLOCKED) and (attempt.message or attempt.trace):
            data.update(_failure(attempt))
        out.append(data)
    return out


def _case_base(case: Case, mapping: ReportMapping) -> dict[str, Any]:
    """What every result of a case shares: its identity (`domain.mapping`), title, source and
    what its properties say."""
    props: dict[str, str] = {}
    for name, value in case.properties:
        if name.strip():
            props[property_key(name)] = value.strip()
    facts = CaseFacts(
        classname=case.classname.strip(),
        name=case.name.strip(),
        file=case.file.strip(),
        suite=case.suite.strip(),
        properties=props,
    )
    explicit = {
        "testCase": props.get("testcaseid", ""),
        "scenario": props.get("scenarioid", "") or props.get("scenario", ""),
        "module": props.get("module", ""),
    }
    identity = identify(facts, mapping, explicit)
    source = {"classname": facts.classname, "name": facts.name, "file": facts.file}
    requirements = props.get("requirements", "") or props.get("requirement", "")
    evidence = [
        {"name": title(n) or "evidence", "url": u}
        for n, u in case.evidence
        if u.startswith(("http://", "https://")) and len(u) <= URL_MAX
    ][:MAX_EVIDENCE]
    return {
        "testCaseId": identity.test_case_id,
        "scenarioId": identity.scenario_id,
        "module": identity.module,
        "title": title(facts.name),
        "source": {k: title(v) for k, v in source.items() if v} or None,
        "reporter": title(props.get("reporter", "")),
        "jiraTestKey": title(props.get("jiratestkey", "")),
        "expected": clip(props.get("expected", ""), TEXT_MAX) or None,
        "requirements": _requirements(requirements),
        "steps": clip(case.steps, TEXT_MAX) or None,
        "evidence": evidence,
        "_by": dict(identity.by),
    }


def _failure(attempt: Attempt) -> dict[str, Any]:
    """A failed (or blocked) attempt's `actual` and `error`, ANSI colours dropped, clipped."""
    message = _ANSI.sub("", attempt.message).strip() or first_line(attempt.trace)
    error = {
        "type": title(attempt.error_type),
        "message": clip(message, TEXT_MAX) or None,
        "trace": clip_middle(_ANSI.sub("", attempt.trace).strip("\r\n"), TRACE_MAX)
        if attempt.trace.strip()
        else None,
    }
    return {
        "actual": error["message"],
        "error": {k: v for k, v in error.items() if v is not None} or None,
    }


def _validate(data: dict[str, Any], index: int, fmt: str) -> ResultIn:
    try:
        return parse_model(ResultIn, data)
    except ValidationFailed as exc:
        where = f"test[{index}]"
        details = [field_problem(f"{where}.{d['field']}", d["problem"]) for d in exc.details]
        name = FORMAT_NAMES.get(fmt, fmt)
        raise ValidationFailed(
            f"the {name} report's {where} ({data.get('testCaseId')}) is not a valid result",
            details,
        ) from exc


def _requirements(value: str) -> list[str]:
    seen: dict[str, None] = {}
    for item in value.split(","):
        item = item.strip()[:NAME_MAX].strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)[:MAX_REQUIREMENTS]


# --- values --------------------------------------------------------------------------------------


def ms_from_seconds(raw: Any) -> int | None:
    return _ms(raw, 1000.0)


def ms_from_ms(raw: Any) -> int | None:
    return _ms(raw, 1.0)


def ms_from_ns(raw: Any) -> int | None:
    return _ms(raw, 1e-6)


def _ms(raw: Any, factor: float) -> int | None:
    if raw is None or raw == "" or isinstance(raw, bool):
        return None
    try:
        value = float(str(raw).replace(",", ""))
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return round(value * factor)


def ms_from_timespan(raw: str | None) -> int | None:
    """TRX's `hh:mm:ss.fffffff` (or `d.hh:mm:ss`)."""
    if not raw:
        return None
    days = 0
    head, _, rest = raw.partition(":")
    if "." in head:
        d, _, head = head.partition(".")
        days = int(d) if d.isdigit() else 0
    parts = [head, *rest.split(":")]
    try:
        h, m, s = (float(p) for p in parts)
    except ValueError:
        return None
    total = ((days * 24 + h) * 60 + m) * 60 + s
    return round(total * 1000) if math.isfinite(total) and total >= 0 else None


def title(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) > NAME_MAX:
        value = value[: NAME_MAX - 1].rstrip() + "…"
    return value or None


def clip(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    marker = f"… [{len(value) - limit} more characters truncated]"
    return value[: limit - len(marker)] + marker


def clip_middle(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    marker = f"\n… [{len(value) - limit} characters truncated] …\n"
    keep = limit - len(marker) - 16
    head = keep // 2
    return value[:head] + marker + value[len(value) - (keep - head) :]


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def joined(parts: Sequence[str], sep: str = " > ") -> str:
    return sep.join(p.strip() for p in parts if p and p.strip())
