"""`pytest --failbridge` in a pytester session against the stub: markers and node ids, reruns as
attempts, attachments, one POST at the end; nothing without the flag."""

from __future__ import annotations

import json

import pytest
from failbridge_stub import Stub

TESTS = """
import pytest

calls = []

@pytest.mark.failbridge(test_case="TC-PAY-001", scenario="checkout.pay", module="checkout",
                        requirements=["REQ-1"])
def test_pay(failbridge_attach):
    failbridge_attach("screenshot", "https://ci.example.com/1/shot.png")

@pytest.mark.flaky(reruns=2)
def test_flaky():
    calls.append(1)
    assert len(calls) > 1, "first call fails"

def test_broken():
    assert 1 == 2

@pytest.mark.skip(reason="not yet")
def test_later():
    pass
"""


def test_results_reported_at_the_end(pytester: pytest.Pytester, env: Stub) -> None:
    env.answer(
        "POST",
        "/v1/projects/DEMO/results",
        (200, {"results": [{"executionId": "e", "ticket": None, "flaky": False}] * 5}),
    )
    pytester.makepyfile(test_shop=TESTS)
    result = pytester.runpytest_subprocess(
        "--failbridge",
        "--failbridge-project",
        "DEMO",
        "--failbridge-run",
        "r-1",
        "-p",
        "rerunfailures",
    )
    assert result.parseoutcomes() == {"passed": 2, "failed": 1, "skipped": 1, "rerun": 1}
    result.stdout.fnmatch_lines(["*failbridge: reported 5 results to run r-1*"])
    [call] = env.calls("POST", "/v1/projects/DEMO/results")
    body = json.loads(call["body"])
    assert body["run"] == {"id": "r-1"}
    got = {(r["testCaseId"], r["attempt"]): r for r in body["results"]}
    pay = got[("TC-PAY-001", 1)]
    assert pay["scenarioId"] == "checkout.pay" and pay["module"] == "checkout"
    assert pay["requirements"] == ["REQ-1"] and pay["status"] == "passed"
    assert pay["evidence"] == [{"name": "screenshot", "url": "https://ci.example.com/1/shot.png"}]
    assert got[("test_shop.py::test_flaky", 1)]["status"] == "failed"
    assert "first call fails" in got[("test_shop.py::test_flaky", 1)]["error"]["message"]
    assert got[("test_shop.py::test_flaky", 2)]["status"] == "passed"
    assert got[("test_shop.py::test_broken", 1)]["status"] == "failed"
    assert got[("test_shop.py::test_later", 1)]["status"] == "skipped"
    assert "sekret" not in result.stdout.str()


def test_nothing_is_sent_without_the_flag(pytester: pytest.Pytester, env: Stub) -> None:
    pytester.makepyfile(test_one="def test_a():\n    pass\n")
    pytester.runpytest_subprocess("--junitxml=report.xml").assert_outcomes(passed=1)
    assert env.requests == []
    # nor written: a project with the client installed gets plain --junitxml reports
    assert "failbridge" not in (pytester.path / "report.xml").read_text()


def test_a_reporting_failure_is_a_warning(pytester: pytest.Pytester, env: Stub) -> None:
    env.answer(
        "POST",
        "/v1/projects/DEMO/results",
        (401, {"error": {"code": "unauthenticated", "message": "bad key", "details": []}}),
    )
    pytester.makepyfile(test_one="def test_a():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--failbridge", "--failbridge-project", "DEMO", "--failbridge-run", "r"
    )
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*failbridge: results not reported*bad key*"])


STREAMED = """
import os
import urllib.request

import pytest

calls = []

def test_a():
    pass

@pytest.mark.flaky(reruns=2)
def test_b_flaky():
    calls.append(1)
    assert len(calls) > 1

def test_c():
    pass

def test_d_last():
    # what the stub has received by now is checked outside
    urllib.request.urlopen(os.environ["FAILBRIDGE_URL"] + "/probe").read()
"""


def test_results_streamed_in_batches_keep_a_tests_attempts_together(
    pytester: pytest.Pytester, env: Stub
) -> None:
    env.answer(
        "POST",
        "/v1/projects/DEMO/results",
        (200, {"results": [{"executionId": "e", "ticket": None, "flaky": False}] * 3}),
        (200, {"results": [{"executionId": "e", "ticket": None, "flaky": False}] * 2}),
    )
    env.answer("GET", "/probe", (200, {}))
    pytester.makepyfile(test_stream=STREAMED)
    result = pytester.runpytest_subprocess(
        "--failbridge",
        "--failbridge-project",
        "DEMO",
        "--failbridge-run",
        "r-2",
        "--failbridge-batch",
        "2",
        "-p",
        "rerunfailures",
        "-p",
        "no:randomly",
    )
    assert result.parseoutcomes() == {"passed": 4, "rerun": 1}
    order = [f"{r['method']} {r['path']}" for r in env.requests]
    # a batch went out while the session was still running tests
    assert order[0] == "POST /v1/projects/DEMO/results" and "GET /probe" in order
    posts = [json.loads(c["body"]) for c in env.calls("POST", "/v1/projects/DEMO/results")]
    batches = [
        [(r["testCaseId"].split("::")[1], r["attempt"]) for r in p["results"]] for p in posts
    ]
    # the flaky test's failed and passed attempts travel together (failbridge tells flaky by
    # a later passing attempt in the same report); every result sent once
    assert batches == [
        [("test_a", 1), ("test_b_flaky", 1), ("test_b_flaky", 2)],
        [("test_c", 1), ("test_d_last", 1)],
    ]
    assert all(p["run"] == {"id": "r-2"} for p in posts)
    result.stdout.fnmatch_lines(["*failbridge: reported 5 results to run r-2*"])
