"""Failure signatures (`domain/signatures.py`): golden outputs for each placeholder class, the
frames of Python (native, pytest short and long), Java and JavaScript traces, and that the
signature is deterministic and versioned."""

from __future__ import annotations

import pytest

from chalicelib.domain import signatures
from chalicelib.domain.signatures import frames_of, normalise, signature_of

GOLDEN = [
    # (placeholder class, message, normalised)
    ("number", "expected 3 rows, got 17", "expected <n> rows, got <n>"),
    ("id", "order ord_8f3k29x7 not found", "order <id> not found"),
    (
        "uuid",
        "tenant 3f2b8c1e-9d4a-4e5f-8a7b-1c2d3e4f5a6b missing",
        "tenant <uuid> missing",
    ),
    ("hex", "bad pointer 0x7ffe3a2b at commit 9fceb02d0ae5", "bad pointer <hex> at commit <hex>"),
    (
        "timestamp",
        "lease expired at 2026-12-02T07:41:17.447Z (since 2026-12-01 23:00:00, 07:41:17)",
        "lease expired at <ts> (since <ts>, <ts>)",
    ),
    ("epoch", "token issued at 1796198706539 rejected", "token issued at <ts> rejected"),
    (
        "duration",
        "timed out after 30 s, then 1500ms, then 2.5s",
        "timed out after <duration>, then <duration>, then <duration>",
    ),
    (
        "port",
        "refused on localhost:5432 and on port 8080",
        "refused on localhost:<port> and on port <port>",
    ),
    (
        "temp path",
        "cannot write /tmp/pytest-of-ci/pytest-12/x.db nor /var/folders/ab/T/y",
        "cannot write <tmp> nor <tmp>",
    ),
    (
        "url",
        "GET https://API.example.com:8443/v2/orders/77?x=1 failed",
        "GET https://api.example.com:<port>/<path> failed",
    ),
    ("email", "user ci42@example.com may not read it", "user <email> may not read it"),
    ("ip", "no route to 10.20.30.40 or fe80::1ff:fe23:4567:890a", "no route to <ip> or <ip>"),
    ("ansi", "\x1b[31mError:\x1b[0m boom 3", "Error: boom <n>"),
    (
        "locator (XPath)",
        "no element //div[@id='cart-3']/button[2] in time",
        "no element <locator> in time",
    ),
    ("locator (Selenium)", 'Unable to locate By.id("login-7")', "Unable to locate <locator>"),
    (
        "locator (Playwright)",
        "waiting for locator('#pay-btn-3') to be visible",
        "waiting for <locator>) to be visible",
    ),
    ("locator (data-testid)", 'missing [data-testid="row-12"]', "missing <locator>"),
    (
        "locator (element)",
        "Timed out waiting for element #login-button",
        "Timed out waiting for element <locator>",
    ),
    ("first line only", "boom 1\n  at line two 2", "boom <n>"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "message", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_each_placeholder_class(kind: str, message: str, expected: str) -> None:
    assert normalise(message, "RuntimeError") == expected


def test_an_assertion_failures_compared_values_are_placeholders() -> None:
    assert normalise("assert 'foos' == 'fooes'", "AssertionError") == "assert <value> == <value>"
    assert normalise("Lists differ: [1, 2] != [1]", "AssertionError") == (
        "Lists differ <value> != <value>"
    )
    assert normalise("expected:<3> but was:<4>", "org.opentest4j.AssertionFailedError") == (
        "expected:<value> but was:<value>"
    )
    assert normalise("a != b", "ValueError") == "a != b"  # only assertions


PY_NATIVE = """Traceback (most recent call last):
  File "/home/ci/app/tests/test_pay.py", line 12, in test_pay
    pay(order)
  File "/home/ci/app/shop/payments.py", line 88, in charge
    conn = pool.connect()
  File "/usr/lib/python3.11/site-packages/psycopg/pool.py", line 40, in connect
    raise ConnectionError(msg)
ConnectionError: could not reach payments-db at 10.0.0.7:5432 after 30000 ms"""

PY_PYTEST_SHORT = """tests/test_pay.py:12: in test_pay
    pay(order)
shop/payments.py:88: in charge
    conn = pool.connect()
E   ConnectionError: could not reach payments-db at 10.0.0.9:5432 after 12 ms"""

PY_PYTEST_LONG = """    def test_pay():
>       pay(order)

tests/test_pay.py:12:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
tests/test_pay.py:12: in test_pay
    pay(order)
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

    def charge(order):
>       conn = pool.connect()
E       ConnectionError: could not reach payments-db

shop/payments.py:88: ConnectionError"""

JAVA = """org.springframework.web.client.ResourceAccessException: I/O error on POST
\tat org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:785)
\tat com.acme.shop.PaymentClient.charge(PaymentClient.java:41)
\tat com.acme.shop.CheckoutTest.paysByCard(CheckoutTest.java:23)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
Caused by: java.net.ConnectException: Connection refused (Connection refused) to 10.1.2.3:5432
\tat java.base/java.net.PlainSocketImpl.socketConnect(Native Method)
\tat com.acme.shop.db.Pool.connect(Pool.java:17)
\tat com.acme.shop.PaymentClient.charge(PaymentClient.java:39)
\t... 12 more"""

JS = """TypeError: Cannot read properties of undefined (reading 'total')
    at computeTotal (/builds/web/src/cart/total.js:14:22)
    at Object.<anonymous> (/builds/web/tests/cart.test.js:8:5)
    at Promise.then.completed (/builds/web/node_modules/jest-circus/build/utils.js:298:28)
    at node:internal/process/task_queues:95:5"""


def test_python_native_and_pytest_traces_give_the_same_in_app_frames() -> None:
    native = [str(f) for f in frames_of(PY_NATIVE) if f.in_app]
    short = [str(f) for f in frames_of(PY_PYTEST_SHORT) if f.in_app]
    long = [str(f) for f in frames_of(PY_PYTEST_LONG) if f.in_app]
    assert native == ["shop.payments:charge", "tests.test_pay:test_pay"]
    assert short == native and long == native
    assert str(frames_of(PY_NATIVE)[0]) == "psycopg.pool:connect"  # a library's


def test_java_frames_are_the_root_causes_in_app_frames() -> None:
    sig = signature_of({"trace": JAVA, "message": "I/O error on POST"})
    assert sig.exception == "java.net.ConnectException"
    assert sig.message == "Connection refused (Connection refused) to <ip>:<port>"
    assert sig.frames == ("com.acme.shop.db.Pool:connect", "com.acme.shop.PaymentClient:charge")


def test_javascript_frames_skip_node_modules_and_node_internals() -> None:
    sig = signature_of(
        {"message": "Cannot read properties of undefined (reading 'total')", "trace": JS}
    )
    assert sig.exception == "TypeError"
    assert sig.frames == ("cart.total:computeTotal", "tests.cart.test:<anonymous>")


def test_one_outage_on_two_machines_has_one_signature() -> None:
    other = PY_NATIVE.replace("/home/ci/app", "/builds/x/y/app").replace("10.0.0.7", "10.9.9.9")
    other = other.replace("30000", "29873").replace("line 88", "line 91")
    a, b = signature_of({"trace": PY_NATIVE}), signature_of({"trace": other})
    assert a == b
    assert a.version == signatures.VERSION and len(a.key) == 24
    assert (
        a.summary == "ConnectionError: could not reach payments-db at <ip>:<port> after <duration>"
    )
    assert signature_of({"trace": PY_PYTEST_SHORT}).key == a.key  # pytest's report of it too


def test_the_type_comes_from_the_error_then_the_message_then_the_trace() -> None:
    assert signature_of({"type": "builtins.KeyError", "message": "'k'"}).exception == "KeyError"
    assert signature_of({"message": "ValueError: bad 3"}).message == "bad <n>"
    assert signature_of({"message": "HTTP 500"}).exception == "Failure"
    assert signature_of(None, "expected 200, got 500").message == "expected <n>, got <n>"


def test_the_key_changes_with_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = signature_of({"trace": PY_NATIVE})
    monkeypatch.setattr(signatures, "VERSION", 2)
    after = signature_of({"trace": PY_NATIVE})
    assert after.version == 2 and after.key != before.key
