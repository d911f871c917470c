"""Report formats (issue 15): cases per second that `chalicelib.reports` parses into results,
for a 10,000-case report of each format (10% failing, with a message and a trace), parse only
(no AWS), and the parse's peak memory: the most that Python's allocations grew above the body
while parsing (tracemalloc, in a second parse of its own so tracing does not slow the timed one;
the body itself is not counted). Prints figures; fails on nothing."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable

from chalicelib.reports import parse_report

CASES = 10_000
TRACE = "Traceback (most recent call last): File t.py, line 3, in test: AssertionError"


def _failed(i: int) -> bool:
    return i % 10 == 0


def junit() -> bytes:
    rows = []
    for i in range(CASES):
        fail = f'<failure message="expected 80, got 90">{TRACE}</failure>' if _failed(i) else ""
        rows.append(
            f'<testcase classname="shop.cart.T{i // 100}" name="t{i}" time="0.01">{fail}</testcase>'
        )
    return f'<testsuites><testsuite name="s">{"".join(rows)}</testsuite></testsuites>'.encode()


def ctrf() -> bytes:
    tests = [
        {
            "name": f"t{i}",
            "status": "failed" if _failed(i) else "passed",
            "duration": 10,
            "suite": f"cart{i // 100}",
            **({"message": "expected 80", "trace": TRACE} if _failed(i) else {}),
        }
        for i in range(CASES)
    ]
    return json.dumps({"results": {"tool": {"name": "jest"}, "tests": tests}}).encode()


def playwright() -> bytes:
    specs = [
        {
            "title": f"t{i}",
            "tests": [
                {
                    "projectName": "api",
                    "expectedStatus": "passed",
                    "results": [
                        {
                            "retry": 0,
                            "status": "failed" if _failed(i) else "passed",
                            "duration": 10,
                            **(
                                {"error": {"message": "expected 80", "stack": TRACE}}
                                if _failed(i)
                                else {}
                            ),
                        }
                    ],
                }
            ],
        }
        for i in range(CASES)
    ]
    return json.dumps(
        {"config": {}, "suites": [{"title": "a.spec.ts", "file": "a.spec.ts", "specs": specs}]}
    ).encode()


def trx() -> bytes:
    results, defs = [], []
    for i in range(CASES):
        info = (
            f"<Output><ErrorInfo><Message>expected 80</Message><StackTrace>{TRACE}</StackTrace></ErrorInfo></Output>"
            if _failed(i)
            else ""
        )
        outcome = "Failed" if _failed(i) else "Passed"
        results.append(
            f'<UnitTestResult testId="id{i}" testName="T{i}" duration="00:00:00.01" outcome="{outcome}">{info}</UnitTestResult>'
        )
        defs.append(
            f'<UnitTest id="id{i}" name="T{i}"><TestMethod className="Shop.Cart{i // 100}" name="T{i}"/></UnitTest>'
        )
    ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"
    return f'<TestRun xmlns="{ns}"><Results>{"".join(results)}</Results><TestDefinitions>{"".join(defs)}</TestDefinitions></TestRun>'.encode()


def nunit3() -> bytes:
    cases = []
    for i in range(CASES):
        failure = (
            f"<failure><message>expected 80</message><stack-trace>{TRACE}</stack-trace></failure>"
            if _failed(i)
            else ""
        )
        result = "Failed" if _failed(i) else "Passed"
        cases.append(
            f'<test-case name="T{i}" classname="Shop.Cart{i // 100}" result="{result}" duration="0.01">{failure}</test-case>'
        )
    return f'<test-run><test-suite type="TestFixture" name="Cart">{"".join(cases)}</test-suite></test-run>'.encode()


def xunit2() -> bytes:
    tests = []
    for i in range(CASES):
        failure = (
            f'<failure exception-type="E"><message>expected 80</message><stack-trace>{TRACE}</stack-trace></failure>'
            if _failed(i)
            else ""
        )
        result = "Fail" if _failed(i) else "Pass"
        tests.append(
            f'<test name="Shop.Cart.T{i}" type="Shop.Cart" method="T{i}" time="0.01" result="{result}">{failure}</test>'
        )
    return f'<assemblies><assembly name="a"><collection name="c">{"".join(tests)}</collection></assembly></assemblies>'.encode()


def cucumber() -> bytes:
    elements = [
        {
            "name": f"s{i}",
            "type": "scenario",
            "steps": [
                {
                    "keyword": "Given ",
                    "name": "a cart",
                    "result": {"status": "passed", "duration": 1000000},
                },
                {
                    "keyword": "Then ",
                    "name": "it pays",
                    "result": {
                        "status": "failed" if _failed(i) else "passed",
                        "duration": 1000000,
                        **({"error_message": TRACE} if _failed(i) else {}),
                    },
                },
            ],
        }
        for i in range(CASES)
    ]
    return json.dumps([{"name": "Checkout", "uri": "f.feature", "elements": elements}]).encode()


def tap() -> bytes:
    lines = ["TAP version 14", f"1..{CASES}"]
    for i in range(CASES):
        if _failed(i):
            lines += [
                f"not ok {i + 1} - t{i}",
                "  ---",
                "  message: 'expected 80'",
                "  duration_ms: 10",
                "  ...",
            ]
        else:
            lines.append(f"ok {i + 1} - t{i}")
    return "\n".join(lines).encode()


FORMATS: dict[str, Callable[[], bytes]] = {
    "junit": junit,
    "ctrf": ctrf,
    "playwright": playwright,
    "trx": trx,
    "nunit3": nunit3,
    "xunit2": xunit2,
    "cucumber": cucumber,
    "tap": tap,
}


def peak_bytes(body: bytes) -> int:
    """The most Python's allocations grew above the body's while parsing it."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        found, results = parse_report(body, None, max_bytes=len(body))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del found, results
    return peak


def main() -> None:
    print(
        f"{'format':<11} {'bytes':>10} {'results':>8} {'seconds':>8} {'cases/s':>9} "
        f"{'peak MiB':>9} {'peak/body':>9}"
    )
    for fmt, build in FORMATS.items():
        body = build()
        parse_report(body, fmt, max_bytes=len(body))  # warm up: imports, pydantic validators
        started = time.perf_counter()
        found, results = parse_report(body, None, max_bytes=len(body))
        took = time.perf_counter() - started
        assert found == fmt and len(results) == CASES, (fmt, found, len(results))
        del results
        peak = peak_bytes(body)
        print(
            f"{fmt:<11} {len(body):>10} {CASES:>8} {took:>8.2f} {CASES / took:>9,.0f} "
            f"{peak / 2**20:>9.1f} {peak / len(body):>9.1f}"
        )


if __name__ == "__main__":
    main()
