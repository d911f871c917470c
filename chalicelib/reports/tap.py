"""TAP (Test Anything Protocol, versions 12 to 14; https://testanything.org/tap-version-14-specification.html),
as `node --test`, `prove`, `bats --tap` and tape write it. A small strict reader, no dependency:
tap.py does not read TAP 14's subtests, which `node --test` writes (docs/decisions.md).

A test point `ok N - description # SKIP|TODO reason` is one test; `not ok` failed (a TODO test
that fails is expected to: skipped). Subtests (TAP 14, `# Subtest: name` and 4-space
indentation) are read: a test point with subtests is their parent, it names their class, and
only its own failure without a failing subtest (a hook) is a test of its own. A YAML diagnostic
block (`---` ... `...`) gives the failure's `message`/`error`, `stack` and `duration_ms`.
Anything else is ignored, as the specification says; a body with no test point and no plan is
refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chalicelib.domain.mapping import ReportMapping
from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.models import ResultIn
from chalicelib.reports.common import (
    Attempt,
    Case,
    malformed,
    ms_from_ms,
    strip_preamble,
    to_results,
)

FORMAT = "tap"
MAX_DEPTH = 32
_POINT = re.compile(
    r"^(?P<ok>not ok|ok)\b(?:\s+(?P<number>\d+))?(?:\s*-\s*|\s+)?(?P<desc>(?:\\#|[^#])*?)"
    r"\s*(?:(?<!\\)#\s*(?P<directive>skip|todo)\S*\s*(?P<reason>.*))?$",
    re.IGNORECASE,
)
_PLAN = re.compile(r"^1\.\.(\d+)(\s*#.*)?$")
_VERSION = re.compile(r"^TAP version (\d+)$", re.IGNORECASE)


@dataclass
class _Point:
    indent: int
    line: int
    ok: bool
    description: str
    directive: str
    reason: str
    diagnostics: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    failing_child: bool = False


def _yaml(lines: list[str]) -> dict[str, str]:
    """The top-level scalars of a YAML block: `key: value`, `key: 'quoted'`, `key: |-` blocks."""
    out: dict[str, str] = {}
    base = min((len(x) - len(x.lstrip(" ")) for x in lines if x.strip()), default=0)
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        if not raw.strip() or len(raw) - len(raw.lstrip(" ")) != base or ":" not in raw:
            continue
        key, _, value = raw.strip().partition(":")
        value = value.strip()
        if value[:1] in ("|", ">"):
            block: list[str] = []
            while i < len(lines) and (
                not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip(" ")) > base
            ):
                block.append(lines[i].strip())
                i += 1
            value = "\n".join(block).strip()
        elif len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1].replace("''", "'") if value[0] == "'" else value[1:-1]
        out[key.strip()] = value
    return out


def _points(text: str) -> tuple[list[_Point], bool]:
    points: list[_Point] = []
    lines = text.splitlines()
    plan = False
    i = 0
    while i < len(lines):
        raw = lines[i].rstrip()
        i += 1
        stripped = raw.lstrip(" ")
        indent = len(raw) - len(stripped)
        if indent // 4 > MAX_DEPTH:
            raise malformed(FORMAT, f"nests subtests more than {MAX_DEPTH} deep (line {i})")
        if _PLAN.match(stripped):
            plan = True
            continue
        found = _POINT.match(stripped)
        if found is None:
            if _VERSION.match(stripped) and i == 1 and int(_VERSION.match(stripped)[1]) < 12:  # type: ignore[index]
                raise malformed(FORMAT, "declares a TAP version before 12 (line 1)", "line 1")
            continue
        point = _Point(
            indent=indent,
            line=i,
            ok=found["ok"].lower() == "ok",
            description=(found["desc"] or "").strip().replace("\\#", "#"),
            directive=(found["directive"] or "").lower(),
            reason=(found["reason"] or "").strip(),
        )
        if i < len(lines) and lines[i].strip() == "---":
            block: list[str] = []
            j = i + 1
            while j < len(lines) and lines[j].strip() != "...":
                block.append(lines[j])
                j += 1
            if j == len(lines):
                raise malformed(
                    FORMAT,
                    f"opens a YAML block at line {i + 1} that never ends with ...",
                    f"line {i + 1}",
                )
            point.diagnostics = _yaml(block)
            i = j + 1
        points.append(point)
    return points, plan


def _cases(points: list[_Point]) -> list[Case]:
    return [_case(point) for point in _leaves(points)]


def _leaves(points: list[_Point]) -> list[_Point]:
    """The test points, nested subtests folded into their leaves (each path names its parents);
    a parent that failed on its own while its subtests passed stays a test of its own."""
    pending: list[_Point] = []
    for point in points:
        # the points nested deeper are the latest ones: a suffix of `pending`
        cut = len(pending)
        while cut and pending[cut - 1].indent > point.indent:
            cut -= 1
        kids = pending[cut:]
        if not kids:
            pending.append(point)
            continue
        del pending[cut:]
        for kid in kids:
            kid.path.insert(0, point.description)
            kid.indent = point.indent  # adopted: a later sibling of the parent is not its parent
        failing = any(not k.ok and k.directive != "todo" for k in kids)
        if not point.ok and point.directive != "todo" and not failing:
            pending.extend(kids)
            pending.append(point)  # the parent failed on its own (a hook): a test of its own
        else:
            pending.extend(kids)
    return pending


def _case(point: _Point) -> Case:
    if point.directive == "skip":
        status = R.SKIPPED
    elif point.directive == "todo":
        status = R.SKIPPED if not point.ok else R.PASSED
    else:
        status = R.PASSED if point.ok else R.FAILED
    d = point.diagnostics
    message = d.get("message") or d.get("error") or ""
    if status == R.SKIPPED:
        message = point.reason
    name = point.description or f"test {point.line}"
    return Case(
        name=name,
        classname=" > ".join(point.path),
        file=d.get("location", "").rsplit(":", 2)[0] if d.get("location") else "",
        attempts=[
            Attempt(
                status,
                message,
                d.get("stack", ""),
                (d.get("name") or d.get("code") or "") if status == R.FAILED else "",
                ms_from_ms(d.get("duration_ms")),
            )
        ],
    )


def parse(
    body: bytes, mapping: ReportMapping | None = None, explain: list[dict[str, str]] | None = None
) -> list[ResultIn]:
    try:
        text = strip_preamble(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise malformed(FORMAT, f"is not UTF-8 text (byte {exc.start})") from exc
    points, plan = _points(text)
    if not points:
        if plan:
            return []
        raise malformed(FORMAT, "has no test line (ok / not ok) and no plan (1..N)")
    return to_results(_cases(points), mapping, FORMAT, explain)
