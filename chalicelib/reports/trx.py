"""Visual Studio / `dotnet test --logger trx` reports (namespace
http://microsoft.com/schemas/VisualStudio/TeamTest/2010, vstst.xsd).

Each `Results/UnitTestResult` is one test; its `TestDefinitions/UnitTest/TestMethod` (by
`testId`) gives the class. Data-driven results nest `InnerResults`: each inner result is its own
test. Outcomes: Passed, PassedButRunAborted, Warning -> passed; Failed, Error, Timeout, Aborted
-> failed; NotExecuted, Inconclusive, Pending, InProgress, Disconnected, NotRunnable -> skipped
or blocked (NotRunnable, Disconnected, Aborted-before-start cannot run: blocked).
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
    children,
    grandchildren,
    local,
    malformed,
    ms_from_timespan,
    read_xml,
    text_of,
    to_results,
)

FORMAT = "trx"
OUTCOMES = {
    "passed": R.PASSED,
    "passedbutrunaborted": R.PASSED,
    "warning": R.PASSED,
    "completed": R.PASSED,
    "failed": R.FAILED,
    "error": R.FAILED,
    "timeout": R.FAILED,
    "aborted": R.FAILED,
    "notexecuted": R.SKIPPED,
    "inconclusive": R.SKIPPED,
    "pending": R.SKIPPED,
    "inprogress": R.SKIPPED,
    "notrunnable": R.BLOCKED,
    "disconnected": R.BLOCKED,
}


def _classes(root: Element) -> dict[str, tuple[str, str]]:
    """testId -> (class name, storage) from TestDefinitions."""
    found: dict[str, tuple[str, str]] = {}
    for definitions in children(root, "TestDefinitions"):
        for test in definitions:
            method = child(test, "TestMethod")
            class_name = method.get("className", "") if method is not None else ""
            # "Namespace.Class, Assembly, Version=..." -> the type name only
            found[test.get("id", "")] = (class_name.split(",", 1)[0], test.get("storage", ""))
    return found


def _case(result: Element, classes: dict[str, tuple[str, str]], index: int) -> Case:
    name = result.get("testName", "").strip()
    if not name:
        raise malformed(FORMAT, f"has a UnitTestResult[{index}] without a testName")
    outcome = result.get("outcome", "").strip().lower()
    status = OUTCOMES.get(outcome)
    if status is None:
        raise malformed(
            FORMAT,
            f"has UnitTestResult[{index}] outcome {result.get('outcome')!r}, which TRX does not"
            " define",
            f"UnitTestResult[{index}].outcome",
        )
    class_name, storage = classes.get(result.get("testId", ""), ("", ""))
    info = child(child(result, "Output"), "ErrorInfo")
    message, trace = text_of(child(info, "Message")), text_of(child(info, "StackTrace"))
    if status == R.FAILED and not message and outcome == "timeout":
        message = "timed out"
    files = [
        (f.get("path", ""), f.get("path", ""))
        for f in grandchildren(result, "ResultFiles", "ResultFile")
    ]
    # a method name repeats the class in some adapters: "Ns.Class.Method"
    short = (
        name[len(class_name) + 1 :] if class_name and name.startswith(class_name + ".") else name
    )
    return Case(
        name=short,
        classname=class_name,
        file=storage,
        attempts=[
            Attempt(
                status,
                message,
                trace,
                duration_ms=ms_from_timespan(result.get("duration")),
            )
        ],
        evidence=files,
    )


def _results(root: Element) -> Iterator[Element]:
    for results in children(root, "Results"):
        stack = list(reversed(list(results)))
        while stack:
            element = stack.pop()
            if local(element.tag) not in ("UnitTestResult", "TestResultAggregation"):
                continue
            inner = child(element, "InnerResults")
            if inner is not None and len(inner):
                stack.extend(reversed(list(inner)))
            else:
                yield element


def parse(
    body: bytes, mapping: ReportMapping | None = None, explain: list[dict[str, str]] | None = None
) -> list[ResultIn]:
    root = read_xml(body, FORMAT)
    if local(root.tag) != "TestRun":
        raise malformed(FORMAT, f"has root element <{local(root.tag)[:50]}>, expected <TestRun>")
    classes = _classes(root)
    cases = (_case(r, classes, i) for i, r in enumerate(_results(root)))
    return to_results(cases, mapping, FORMAT, explain)
