"""The report formats (chalicelib.reports): each golden fixture (written by the real tool where it
installs here, from the published schema where not; see tests/fixtures/README.md) read into the
results we expect, format-specific facts kept, detection from the body, and hostile bodies
refused with a 4xx that names the format and the position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.domain.results import flaky_indexes
from chalicelib.errors import MalformedRequest, PayloadTooLarge, ValidationFailed
from chalicelib.reports import detect, parse_report

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

GOLDEN = {
    "ctrf/jest-ctrf.json": (
        "ctrf",
        [
            ("cart.test.js > cart::cart adds an item", "passed", 1),
            ("cart.test.js > cart::cart applies a coupon", "failed", 1),
            ("cart.test.js > cart::cart applies a coupon", "failed", 2),
            ("cart.test.js > cart::cart applies a coupon", "failed", 3),
            ("cart.test.js > cart::cart ships abroad", "skipped", 1),
            ("cart.test.js > cart::cart recovers from a slow price service", "failed", 1),
            ("cart.test.js > cart::cart recovers from a slow price service", "passed", 2),
        ],
    ),
    "playwright/playwright-json.json": (
        "playwright",
        [
            ("cart.spec.js > checkout::pays by card [api]", "passed", 1),
            ("cart.spec.js > checkout::pays by voucher [api]", "failed", 1),
            ("cart.spec.js > checkout::pays by voucher [api]", "failed", 2),
            ("cart.spec.js > checkout::retries a flaky gateway [api]", "failed", 1),
            ("cart.spec.js > checkout::retries a flaky gateway [api]", "passed", 2),
            ("cart.spec.js > checkout::pays by invoice [api]", "skipped", 1),
            ("cart.spec.js > checkout::known bug: refunds twice [api]", "passed", 1),
        ],
    ),
    "trx/dotnet-test.trx": (
        "trx",
        [
            ("Shop.Tests.CheckoutTests::PaysByCard", "passed", 1),
            ("Shop.Tests.CheckoutTests::PaysByVoucher", "failed", 1),
            ("Shop.Tests.CheckoutTests::PaysByInvoice", "skipped", 1),
            ("Shop.Tests.CheckoutTests::ShipsTo (FR,5)", "passed", 1),
            ("Shop.Tests.CheckoutTests::ShipsTo (JP,25)", "failed", 1),
        ],
    ),
    "nunit3/nunit3-console.xml": (
        "nunit3",
        [
            ("TC-PAY-001", "passed", 1),
            ("Shop.Tests.CheckoutTests::PaysByVoucher", "failed", 1),
            ("Shop.Tests.CheckoutTests::PaysByInvoice", "skipped", 1),
            ('Shop.Tests.CheckoutTests::ShipsTo("FR",5)', "passed", 1),
            ('Shop.Tests.CheckoutTests::ShipsTo("JP",25)', "failed", 1),
        ],
    ),
    "xunit2/xunit-v2.xml": (
        "xunit2",
        [
            ("TC-PAY-001", "passed", 1),
            ("Shop.Tests.CheckoutTests::PaysByVoucher", "failed", 1),
            ("Shop.Tests.CheckoutTests::PaysByInvoice", "skipped", 1),
            ('Shop.Tests.CheckoutTests::ShipsTo(country: "FR", price: 5)', "passed", 1),
            ('Shop.Tests.CheckoutTests::ShipsTo(country: "JP", price: 25)', "failed", 1),
        ],
    ),
    "cucumber/cucumber-js.json": (
        "cucumber",
        [
            ("TC-PAY-001", "passed", 1),
            ("Checkout::Pay by voucher", "failed", 1),
            ("Checkout::Pay by crypto", "blocked", 1),
            ("Checkout::Shipping to FR", "passed", 1),
            ("Checkout::Shipping to JP", "failed", 1),
        ],
    ),
    "tap/node-test.tap": (
        "tap",
        [
            ("cart::adds an item", "passed", 1),
            ("cart::applies a coupon", "failed", 1),
            ("cart::ships abroad", "skipped", 1),
            ("cart::rounds prices", "skipped", 1),
            ("health check # with a hash", "passed", 1),
        ],
    ),
}


def _parse(body: bytes, fmt: str | None = None, max_bytes: int = 10_000_000):
    return parse_report(body, fmt, max_bytes=max_bytes)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_fixture(name: str) -> None:
    body = (FIXTURES / name).read_bytes()
    fmt, expected = GOLDEN[name]
    assert detect(body) == fmt
    found, results = _parse(body)
    assert found == fmt
    assert [(r.test_case_id, r.status.value, r.attempt) for r in results] == expected
    # the same with the format named
    assert [r.test_case_id for r in _parse(body, fmt)[1]] == [e[0] for e in expected]


def test_retries_keep_their_meaning() -> None:
    """Playwright's flaky outcome and jest-ctrf's `flaky`/`retries` become earlier failed
    attempts that a later attempt passed: flaky, so they open nothing."""
    for name in ("playwright/playwright-json.json", "ctrf/jest-ctrf.json"):
        results = _parse((FIXTURES / name).read_bytes())[1]
        flaky = {results[i].test_case_id for i in flaky_indexes(results)}
        assert len(flaky) == 1, name
        assert "flaky" in next(iter(flaky)) or "slow price" in next(iter(flaky))


def test_ctrf_retry_attempts() -> None:
    report = {
        "results": {
            "tool": {"name": "vitest"},
            "tests": [
                {
                    "name": "pays",
                    "status": "passed",
                    "duration": 12,
                    "flaky": True,
                    "retries": 2,
                    "retryAttempts": [
                        {"status": "failed", "message": "timeout", "duration": 5},
                        {"status": "failed", "message": "timeout again"},
                    ],
                }
            ],
        }
    }
    results = _parse(json.dumps(report).encode())[1]
    assert [(r.status.value, r.attempt) for r in results] == [
        ("failed", 1),
        ("failed", 2),
        ("passed", 3),
    ]
    assert results[0].error is not None and results[0].error.message == "timeout"


def test_playwright_expected_failure_passes_and_errors_are_plain_text() -> None:
    results = _parse((FIXTURES / "playwright/playwright-json.json").read_bytes())[1]
    by_id = {(r.test_case_id, r.attempt): r for r in results}
    assert by_id[("cart.spec.js > checkout::known bug: refunds twice [api]", 1)].status == "passed"
    failed = by_id[("cart.spec.js > checkout::pays by voucher [api]", 2)]
    assert failed.error is not None and "\x1b" not in (failed.error.message or "")


def test_explicit_identity_from_properties_traits_and_tags() -> None:
    for name in ("nunit3/nunit3-console.xml", "xunit2/xunit-v2.xml", "cucumber/cucumber-js.json"):
        first = _parse((FIXTURES / name).read_bytes())[1][0]
        assert first.test_case_id == "TC-PAY-001", name
        assert first.module == "checkout", name


@pytest.mark.parametrize(
    ("body", "fmt", "words"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><TestRun/>', "trx", "DOCTYPE"),
        (b'<assemblies><assembly name="a">', "xunit2", "line 1, column 31"),
        (b'{"results": {"tool": {"name": "x"}, "tests": [}', "ctrf", "line 1, column 47"),
        (b"[" * 100 + b"]" * 100, "cucumber", "levels deep"),
        (b'{"suites": "no"}', "playwright", "suites"),
        (b"TAP version 13\nok 1 - a\n  ---\n  message: x\n", "tap", "line 3"),
        (b"hello", None, "format"),
        (b"<html><body/></html>", None, "<html>"),
    ],
)
def test_hostile_and_broken_bodies_are_refused_clearly(
    body: bytes, fmt: str | None, words: str
) -> None:
    with pytest.raises((MalformedRequest, ValidationFailed)) as caught:
        _parse(body, fmt)
    error = caught.value
    assert error.status in (400, 422)
    text = error.message + json.dumps(error.details)
    assert words in text, text
    if fmt is not None:
        from chalicelib.reports.common import FORMAT_NAMES

        assert FORMAT_NAMES[fmt] in error.message


def test_size_is_bounded() -> None:
    with pytest.raises(PayloadTooLarge):
        _parse(b"ok 1 - a\n" * 100, "tap", max_bytes=50)


def test_unknown_format_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        _parse(b"ok 1", "yaml")
    assert caught.value.details[0]["field"] == "format"


XML_ROOTS = {"junit": "testsuites", "trx": "TestRun", "nunit3": "test-run", "xunit2": "assemblies"}
JSON_SHELLS = {  # a valid start of each JSON format, with a hole for a value
    "ctrf": '{"results": {"tool": {"name": "jest"}, "tests": %s}}',
    "playwright": '{"config": {}, "suites": %s}',
    "cucumber": "[%s]",
}


def _refused(body: bytes, fmt: str | None, max_bytes: int = 10_000_000) -> Exception:
    from chalicelib.errors import FailbridgeError

    with pytest.raises(FailbridgeError) as caught:
        _parse(body, fmt, max_bytes=max_bytes)
    assert 400 <= caught.value.status < 500
    return caught.value


def _text(error: Exception) -> str:
    return str(getattr(error, "message", "")) + json.dumps(getattr(error, "details", []))


@pytest.mark.parametrize("named", [True, False], ids=["named", "detected"])
@pytest.mark.parametrize("fmt", sorted(XML_ROOTS))
def test_every_xml_format_refuses_dtds_entities_and_names_the_position(
    fmt: str, named: bool
) -> None:
    from chalicelib.reports.common import FORMAT_NAMES

    root = XML_ROOTS[fmt]
    given = fmt if named else None
    hostile = {
        "external DTD": f'<?xml version="1.0"?><!DOCTYPE {root} SYSTEM "http://evil.example/x.dtd"><{root}/>',
        "billion laughs": (
            f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY a "aaaaaaaaaa">'
            f'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><{root}>&b;</{root}>'
        ),
        "external entity": (
            f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            f"<{root}>&x;</{root}>"
        ),
    }
    for case, body in hostile.items():
        error = _refused(body.encode(), given)
        text = _text(error)
        assert FORMAT_NAMES[fmt] in text, (case, text)
        assert "DOCTYPE" in text or "entit" in text, (case, text)
        assert "evil.example" not in text and "passwd" not in text, (case, text)
    broken = _refused(f"<{root}>\n  <unclosed>\n</{root}>".encode(), given)
    assert FORMAT_NAMES[fmt] in _text(broken) and "line 3, column" in _text(broken)
    # JUnit is read as a stream (each element dropped once read): it bounds suites' nesting
    inner = ("<testsuite>", "</testsuite>") if fmt == "junit" else ("<x>", "</x>")
    deep = f"<{root}>" + inner[0] * 150 + inner[1] * 150 + f"</{root}>"
    assert "deep" in _text(_refused(deep.encode(), given))


@pytest.mark.parametrize("named", [True, False], ids=["named", "detected"])
@pytest.mark.parametrize("fmt", sorted(JSON_SHELLS))
def test_every_json_format_bounds_depth_and_size_and_names_the_position(
    fmt: str, named: bool
) -> None:
    from chalicelib.reports.common import FORMAT_NAMES

    shell = JSON_SHELLS[fmt]
    given = fmt if named else None
    deep = (shell % ("[" * 100 + "]" * 100)).encode()
    assert "levels deep" in _text(_refused(deep, given))
    very_deep = (shell % ("[" * 200_000 + "]" * 200_000)).encode()  # past the decoder's own limit
    assert "levels deep" in _text(_refused(very_deep, given))
    broken = (shell % "[\n{]").encode()
    error = _refused(broken, given)
    assert FORMAT_NAMES[fmt] in _text(error) and "line 2, column" in _text(error)
    not_utf8 = (shell % '["\xff"]').encode("latin-1")
    assert FORMAT_NAMES[fmt] in _text(_refused(not_utf8, given))
    large = (shell % "[]").encode() + b" " * 2000
    assert isinstance(_refused(large, given, max_bytes=1000), PayloadTooLarge)


def test_tap_refuses_what_it_cannot_read_naming_the_line() -> None:
    unterminated = b"TAP version 14\nok 1 - a\nnot ok 2 - b\n  ---\n  message: x\n"
    assert "line 4" in _text(_refused(unterminated, "tap"))
    nested = "TAP version 14\n" + "".join(" " * 4 * i + "# Subtest: s\n" for i in range(40))
    nested += " " * 4 * 40 + "ok 1 - deep\n"
    assert "deep" in _text(_refused(nested.encode(), "tap"))
    assert "TAP" in _text(_refused(b"\xff\xfeok 1", "tap"))
    assert isinstance(_refused(b"ok 1 - a\n" * 300, None, max_bytes=1000), PayloadTooLarge)
