"""NUnit 3 result files (`TestResult.xml`, `dotnet test --logger nunit`; schema
https://docs.nunit.org/articles/nunit/technical-notes/usage/Test-Result-XML-Format.html).

`test-run` holds nested `test-suite`s (Assembly, TestSuite, TestFixture, ParameterizedMethod,
...); every `test-case` is one test. `result`: Passed -> passed, Failed -> failed (label Error,
Cancelled or Invalid included; Invalid is blocked: it could not run), Skipped -> skipped,
Inconclusive -> skipped, Warning -> passed. Properties of the case and its suites are inherited
(`TestCaseId`, `Scenario`, `Module`, `Requirement`, ...), attachments are evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from chalicelib.domain.mapping import ReportMapping
from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.models import ResultIn
from chalicelib.reports.common import (
    Attempt,
    Case,
    child,
    grandchildren,
    local,
    malformed,
    ms_from_seconds,
    read_xml,
    text_of,
    to_results,
)

FORMAT = "nunit3"


def _props(element: Element) -> list[tuple[str, str]]:
    return [
        (p.get("name", ""), p.get("value", ""))
        for p in grandchildren(element, "properties", "property")
    ]


# NUnit 3's test-case results -> ours (a Failed one labelled Invalid is blocked)
RESULTS = {
    "Passed": R.PASSED,
    "Warning": R.PASSED,
    "Failed": R.FAILED,
    "Skipped": R.SKIPPED,
    "Inconclusive": R.SKIPPED,
}


def _status(case: Element, index: int) -> str:
    result, label = case.get("result", ""), case.get("label", "")
    status = RESULTS.get(result)
    if status == R.FAILED and label == "Invalid":
        return R.BLOCKED
    if status is not None:
        return status
    raise malformed(
        FORMAT,
        f"has test-case[{index}] result {result!r}; NUnit 3 defines Passed, Failed, Skipped,"
        " Inconclusive and Warning",
        f"test-case[{index}].result",
    )


def _cases(root: Element) -> Iterator[Case]:
    stack: list[tuple[Element, list[tuple[str, str]], str]] = [(root, [], "")]
    index = 0
    while stack:
        element, inherited, suite = stack.pop()
        props = [*inherited, *_props(element)]
        nested = []
        for item in element:
            tag = local(item.tag)
            if tag == "test-suite":
                nested.append((item, props, item.get("name", suite)))
            elif tag == "test-case":
                status = _status(item, index)
                failure = child(item, "failure")
                reason = child(item, "reason")
                message = text_of(child(failure, "message")) or text_of(child(reason, "message"))
                attachments = [
                    (
                        text_of(child(a, "description")) or "attachment",
                        text_of(child(a, "filePath")),
                    )
                    for a in grandchildren(item, "attachments", "attachment")
                ]
                yield Case(
                    name=item.get("name", "") or item.get("fullname", ""),
                    classname=item.get("classname", ""),
                    suite=suite,
                    attempts=[
                        Attempt(
                            status,
                            message if status != R.PASSED else "",
                            text_of(child(failure, "stack-trace")),
                            duration_ms=ms_from_seconds(item.get("duration")),
                        )
                    ],
                    properties=[*props, *_props(item)],
                    evidence=attachments,
                )
                index += 1
        stack.extend(reversed(nested))


def parse(
    body: bytes, mapping: ReportMapping | None = None, explain: list[dict[str, str]] | None = None
) -> list[ResultIn]:
    root = read_xml(body, FORMAT)
    if local(root.tag) not in ("test-run", "test-suite"):
        raise malformed(FORMAT, f"has root element <{local(root.tag)[:50]}>, expected <test-run>")
    return to_results(_cases(root), mapping, FORMAT, explain)
