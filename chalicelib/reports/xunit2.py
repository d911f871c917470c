"""xUnit.net v2 XML (`dotnet test --logger xunit`, `xunit.console -xml`; schema
https://xunit.net/docs/format-xml-v2).

`assemblies/assembly/collection/test`: each `test` is one test; `type` is its class, `method`
its method, `name` its display name (with arguments for theories). `result`: Pass, Fail, Skip,
NotRun (blocked). `traits` are properties (`TestCaseId`, `Scenario`, `Module`, ...).
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
    ms_from_seconds,
    read_xml,
    text_of,
    to_results,
)

FORMAT = "xunit2"
RESULTS = {"Pass": R.PASSED, "Fail": R.FAILED, "Skip": R.SKIPPED, "NotRun": R.BLOCKED}


def _tests(root: Element) -> Iterator[tuple[Element, str]]:
    assemblies = [root] if local(root.tag) == "assembly" else children(root, "assembly")
    for assembly in assemblies:
        for collection in children(assembly, "collection"):
            for test in children(collection, "test"):
                yield test, collection.get("name", "")


def _cases(root: Element) -> Iterator[Case]:
    for index, (test, collection) in enumerate(_tests(root)):
        result = test.get("result", "")
        status = RESULTS.get(result)
        if status is None:
            raise malformed(
                FORMAT,
                f"has test[{index}] result {result!r}; xUnit v2 defines Pass, Fail, Skip, NotRun",
                f"test[{index}].result",
            )
        failure = child(test, "failure")
        type_name, method = test.get("type", ""), test.get("method", "")
        display = test.get("name", "")
        # the default display name is "Type.Method(args)": keep the part after the type
        name = display[len(type_name) + 1 :] if display.startswith(type_name + ".") else display
        traits = [
            (t.get("name", ""), t.get("value", "")) for t in grandchildren(test, "traits", "trait")
        ]
        message = text_of(child(failure, "message")) or text_of(child(test, "reason"))
        yield Case(
            name=name or method,
            classname=type_name,
            suite=collection,
            attempts=[
                Attempt(
                    status,
                    message if status != R.PASSED else "",
                    text_of(child(failure, "stack-trace")),
                    failure.get("exception-type", "") if failure is not None else "",
                    ms_from_seconds(test.get("time")),
                )
            ],
            properties=traits,
        )


def parse(
    body: bytes, mapping: ReportMapping | None = None, explain: list[dict[str, str]] | None = None
) -> list[ResultIn]:
    root = read_xml(body, FORMAT)
    if local(root.tag) not in ("assemblies", "assembly"):
        raise malformed(FORMAT, f"has root element <{local(root.tag)[:50]}>, expected <assemblies>")
    return to_results(_cases(root), mapping, FORMAT, explain)
