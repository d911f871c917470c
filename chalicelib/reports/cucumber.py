"""Cucumber JSON (cucumber-js `--format json`, cucumber-jvm `json:`, behave's json formatter).

A list of features; each feature's `elements` are scenarios (a `background` element's steps run
before the next scenario). A scenario is one test: failed when a step failed or was ambiguous,
blocked when a step is undefined or pending (it could not run), skipped when every step was, else
passed. Tags `@testCaseId:X`, `@scenario:X`, `@module:X`, `@requirement:X` set those fields.
Step durations are nanoseconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field, RootModel

from chalicelib.domain.mapping import ReportMapping
from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.models import ResultIn
from chalicelib.reports.common import (
    Attempt,
    Case,
    ms_from_ns,
    read_json,
    to_results,
    validate_json,
)

FORMAT = "cucumber"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Tag(_Model):
    name: str


class StepResult(_Model):
    status: str
    duration: float | None = None
    error_message: str | None = None


class Step(_Model):
    keyword: str = ""
    name: str = ""
    result: StepResult | None = None
    hidden: bool = False


class Element(_Model):
    name: str = ""
    type: str = "scenario"
    keyword: str = ""
    id: str | None = None
    line: int | None = None
    tags: list[Tag] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    before: list[Step] = Field(default_factory=list)
    after: list[Step] = Field(default_factory=list)


class Feature(_Model):
    name: str = ""
    uri: str = ""
    tags: list[Tag] = Field(default_factory=list)
    elements: list[Element] = Field(default_factory=list)


class Report(RootModel[list[Feature]]):
    model_config = ConfigDict(frozen=True)


# Cucumber's step statuses that decide a scenario's result -> ours (the first failed step, else
# the first undefined or pending one, else all skipped; any other scenario passed)
STEP_STATUSES = {
    "failed": R.FAILED,
    "ambiguous": R.FAILED,
    "undefined": R.BLOCKED,
    "pending": R.BLOCKED,
    "skipped": R.SKIPPED,
}


def _outcome(steps: list[Step]) -> Attempt:
    statuses = [(s, s.result.status) for s in steps if s.result is not None]
    duration = sum(s.result.duration or 0 for s, _ in statuses if s.result) or None
    for step, status in statuses:
        if STEP_STATUSES.get(status) == R.FAILED:
            text = (step.result.error_message if step.result else "") or ""
            where = f"{step.keyword.strip()} {step.name}".strip()
            first = text.strip().splitlines()[0] if text.strip() else f"step {status}"
            return Attempt(
                R.FAILED, f"{where}: {first}" if where else first, text, "", ms_from_ns(duration)
            )
    for step, status in statuses:
        if STEP_STATUSES.get(status) == R.BLOCKED:
            where = f"{step.keyword.strip()} {step.name}".strip()
            return Attempt(R.BLOCKED, f"step {status}: {where}", "", "", ms_from_ns(duration))
    if statuses and all(STEP_STATUSES.get(status) == R.SKIPPED for _, status in statuses):
        return Attempt(R.SKIPPED, duration_ms=ms_from_ns(duration))
    return Attempt(R.PASSED, duration_ms=ms_from_ns(duration))


def _tag_properties(tags: list[Tag]) -> list[tuple[str, str]]:
    props = []
    for tag in tags:
        name, sep, value = tag.name.lstrip("@").partition(":")
        if not sep:
            name, sep, value = tag.name.lstrip("@").partition("=")
        if sep and value:
            props.append((name, value))
    return props


def _cases(features: list[Feature]) -> Iterator[Case]:
    for feature in features:
        background: list[Step] = []
        names = Counter(e.name for e in feature.elements if e.type != "background")
        seen: dict[str, int] = {}
        for element in feature.elements:
            if element.type == "background":
                background = list(element.steps)
                continue
            steps = [*element.before, *background, *element.steps, *element.after]
            background = []
            name = element.name or element.id or "scenario"
            if names[element.name] > 1:  # a Scenario Outline's examples share its name
                seen[name] = seen.get(name, 0) + 1
                name = f"{name} (example {seen[name]})"
            visible = [f"{s.keyword.strip()} {s.name}" for s in element.steps if s.name]
            yield Case(
                name=name,
                classname=feature.name,
                file=feature.uri,
                suite=feature.name,
                attempts=[_outcome(steps)],
                properties=_tag_properties([*feature.tags, *element.tags]),
                steps="\n".join(visible),
            )


def parse(
    body: bytes, mapping: ReportMapping | None = None, explain: list[dict[str, str]] | None = None
) -> list[ResultIn]:
    data = read_json(body, FORMAT)
    report: Report = validate_json(Report, data, FORMAT)
    return to_results(_cases(report.root), mapping, FORMAT, explain)
