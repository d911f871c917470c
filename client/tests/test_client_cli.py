"""The CLI against a stub failbridge: formats detected, large files through the presigned upload
with progress, retries that resend the same report, the gate's table and exit code, status, and
the key never printed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from failbridge_client import cli
from failbridge_client.config import load_config
from failbridge_stub import Stub

JUNIT = (
    b'<?xml version="1.0"?><testsuites><testsuite name="s"><testcase name="a"/>'
    b"</testsuite></testsuites>"
)
OUTCOME = {"results": [{"executionId": "e1", "ticket": None}], "format": "junit"}


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def test_report_detects_the_format_and_retries_with_the_same_body(
    env: Stub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "results.xml"
    report.write_bytes(JUNIT)
    path = "/v1/projects/DEMO/runs/812/report"
    env.answer(
        "POST",
        path,
        (
            503,
            {"error": {"code": "unavailable", "message": "x", "details": []}},
            {"Retry-After": "0"},
        ),
        (200, OUTCOME),
    )
    code, out = run("report", str(tmp_path / "*.xml"), "--project", "DEMO", "--run", "812")
    assert code == 0, capsys.readouterr().err
    calls = env.calls("POST", path)
    assert len(calls) == 2 and calls[0]["body"] == calls[1]["body"] == JUNIT
    assert "format=junit" in calls[0]["query"]
    assert calls[0]["headers"]["Authorization"] == "Bearer sekret-key-123"
    assert "junit, 1 results" in out
    assert "sekret" not in out + capsys.readouterr().err


def test_large_reports_go_through_the_presigned_upload_with_progress(
    env: Stub, tmp_path: Path
) -> None:
    report = tmp_path / "big.json"
    report.write_text('{"results": {"tool": {"name": "jest"}, "tests": []}}' + " " * 5000)
    env.answer(
        "POST",
        "/v1/projects/DEMO/uploads",
        (201, {"uploadId": "up1", "url": env.url + "/bucket", "fields": {"key": "uploads/x"}}),
    )
    env.answer("POST", "/bucket", (204, b""))
    env.answer(
        "GET",
        "/v1/projects/DEMO/uploads/up1",
        (200, {"status": "processing", "total": 3, "processed": 1}),
        (200, {"status": "processing", "total": 3, "processed": 1}),
        (200, {"status": "completed", "total": 3, "processed": 3, "drafts": 1}),
    )
    code, out = run(
        "report", str(report), "--project", "DEMO", "--run", "r1", "--upload-over", "100"
    )
    assert code == 0, out
    assert out.count("processed 1 of 3") == 1  # told when it moves, not at every poll
    grant = env.calls("POST", "/v1/projects/DEMO/uploads")[0]
    assert b'"format": "ctrf"' in grant["body"]
    posted = env.calls("POST", "/bucket")[0]
    assert b'name="key"' in posted["body"] and b'"tool"' in posted["body"]
    assert "uploading 100%" in out and "processed 3 of 3" in out and "1 drafts" in out


def test_a_refused_report_exits_1_and_says_why(
    env: Stub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.xml").write_bytes(b"<testsuites>")
    error = {
        "error": {
            "code": "malformed_request",
            "message": "not JUnit",
            "details": [{"field": "body", "problem": "is not well-formed XML (line 1, column 12)"}],
        }
    }
    env.answer("POST", "/v1/projects/DEMO/runs/9/report", (400, error))
    code, _ = run("report", str(tmp_path / "bad.xml"), "--project", "DEMO", "--run", "9")
    assert code == 1
    assert "line 1, column 12" in capsys.readouterr().err


@pytest.mark.parametrize(("passed", "code"), [(True, 0), (False, 1)])
def test_gate_prints_the_table_and_exits_0_or_1(env: Stub, passed: bool, code: int) -> None:
    env.answer(
        "POST",
        "/v1/projects/DEMO/quality-gates/validate",
        (
            200,
            {
                "passed": passed,
                "results": [
                    {
                        "metric": "passRate",
                        "value": 97.5,
                        "operator": "gte",
                        "threshold": 95.0,
                        "passed": True,
                    },
                    {
                        "metric": "criticalDefects",
                        "value": 1,
                        "operator": "lte",
                        "threshold": 0,
                        "passed": passed,
                    },
                ],
                "recommendation": "fix the critical defect first",
            },
        ),
    )
    got, out = run("gate", "--project", "DEMO", "--gate", "release", "--run", "812")
    assert got == code
    body = env.calls("POST", "/v1/projects/DEMO/quality-gates/validate")[0]["body"]
    assert b'"gate": "release"' in body and b'"runId": "812"' in body
    assert "passRate" in out and "97.5" in out and "criticalDefects" in out
    assert ("FAIL" in out) is (not passed)
    assert "fix the critical defect first" in out


def test_status_prints_the_run(env: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "gh-77")
    env.answer(
        "GET",
        "/v1/projects/DEMO/runs/gh-77",
        (
            200,
            {
                "testCases": 3,
                "passed": 2,
                "failed": 1,
                "flaky": ["t"],
                "tickets": [{"ticketId": "T1", "scenarioId": "s"}],
            },
        ),
    )
    code, out = run("status", "--project", "DEMO")
    assert code == 0
    assert "3 test cases, 2 passed, 1 failed" in out and "T1" in out


def test_configuration_from_a_file_and_the_key_masked(tmp_path: Path) -> None:
    file = tmp_path / "failbridge.toml"
    file.write_text('url = "https://fb.example.com/"\napi_key = "k-123"\nproject = "DEMO"\n')
    config = load_config(config_file=str(file), env={})
    assert (config.url, config.project, config.api_key) == (
        "https://fb.example.com",
        "DEMO",
        "k-123",
    )
    assert "k-123" not in repr(config) and "k-123" not in str(config)
    flags = load_config(url="http://x", config_file=str(file), env={"FAILBRIDGE_PROJECT": "P"})
    assert (flags.url, flags.project) == ("http://x", "P")


def test_missing_configuration_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FAILBRIDGE_API_KEY", raising=False)
    monkeypatch.setenv("FAILBRIDGE_CONFIG", "")
    monkeypatch.chdir("/")
    code, _ = run("status", "--url", "http://127.0.0.1:9", "--project", "DEMO", "--run", "1")
    assert code == 2
    assert "FAILBRIDGE_API_KEY" in capsys.readouterr().err


def test_report_sends_the_commit_ci_checked_out(
    env: Stub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "results.xml"
    report.write_bytes(JUNIT)
    path = "/v1/projects/DEMO/runs/812/report"
    env.answer("POST", path, (200, OUTCOME), (200, OUTCOME))
    monkeypatch.setenv("GITHUB_SHA", "9f1c2e0")
    code, _ = run("report", str(report), "--project", "DEMO", "--run", "812")
    assert code == 0
    assert "commit=9f1c2e0" in env.calls("POST", path)[0]["query"]
    code, _ = run("report", str(report), "--project", "DEMO", "--run", "812", "--commit", "abc")
    assert "commit=abc" in env.calls("POST", path)[1]["query"]


def test_a_small_file_of_many_tests_goes_through_the_upload(env: Stub, tmp_path: Path) -> None:
    """1,500 testcases in 90 KB: under the byte limit, over the tests limit (the server records
    a report in the body before it answers; an upload is recorded in the background)."""
    cases = "".join(f'<testcase name="t{i}"/>' for i in range(1500))
    report = tmp_path / "many.xml"
    report.write_text(f"<testsuites><testsuite name='s'>{cases}</testsuite></testsuites>")
    env.answer(
        "POST",
        "/v1/projects/DEMO/uploads",
        (201, {"uploadId": "up2", "url": env.url + "/bucket", "fields": {"key": "uploads/y"}}),
    )
    env.answer("POST", "/bucket", (204, b""))
    env.answer(
        "GET",
        "/v1/projects/DEMO/uploads/up2",
        (200, {"status": "completed", "total": 1500, "processed": 1500}),
    )
    code, out = run("report", str(report), "--project", "DEMO", "--run", "r2")
    assert code == 0, out
    assert env.calls("POST", "/v1/projects/DEMO/runs/r2/report") == []
    assert b'"format": "junit"' in env.calls("POST", "/v1/projects/DEMO/uploads")[0]["body"]
    assert "1500 results" in out
    # the same file with a higher limit is sent in the body
    env.answer("POST", "/v1/projects/DEMO/runs/r2/report", (200, OUTCOME))
    code, _ = run(
        "report", str(report), "--project", "DEMO", "--run", "r2", "--upload-over-cases", "2000"
    )
    assert code == 0 and len(env.calls("POST", "/v1/projects/DEMO/runs/r2/report")) == 1


FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"


@pytest.mark.parametrize(
    ("name", "fmt", "tests"),
    [
        ("junit/pytest-real.xml", "junit", 10),
        ("ctrf/jest-ctrf.json", "ctrf", 4),
        ("playwright/playwright-json.json", "playwright", 5),
        ("trx/dotnet-test.trx", "trx", 5),
        ("nunit3/nunit3-console.xml", "nunit3", 5),
        ("xunit2/xunit-v2.xml", "xunit2", 5),
        ("cucumber/cucumber-js.json", "cucumber", 5),
        ("tap/node-test.tap", "tap", 5),
    ],
)
def test_the_client_tells_each_format_and_never_counts_fewer_tests(
    name: str, fmt: str, tests: int
) -> None:
    from failbridge_client.formats import count_cases, detect

    body = (FIXTURES / name).read_bytes()
    assert detect(body) == fmt
    assert tests <= count_cases(body, fmt) <= 3 * tests


def test_the_key_is_never_printed_whatever_goes_wrong(
    env: Stub, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "results.xml"
    report.write_bytes(JUNIT)
    unauthenticated = {"error": {"code": "unauthenticated", "message": "bad key", "details": []}}
    env.answer("POST", "/v1/projects/DEMO/runs/1/report", (401, unauthenticated))
    env.answer("GET", "/v1/projects/DEMO/runs/1", (500, b"Internal sekret-key-123 error"))
    env.answer("POST", "/v1/projects/DEMO/quality-gates/validate", (403, unauthenticated))
    outputs = []
    for argv in (
        ["report", str(report), "--project", "DEMO", "--run", "1"],
        ["status", "--project", "DEMO", "--run", "1", "--retries", "0"],
        ["gate", "--project", "DEMO", "--gate", "release"],
        ["status", "--project", "DEMO", "--run", "1", "--url", "http://127.0.0.1:9"],
    ):
        code, out = run(*argv, "--retries", "0")
        captured = capsys.readouterr()
        outputs.append(out + captured.out + captured.err)
        assert code != 0
    monkeypatch.setenv("FAILBRIDGE_API_KEY", "sekret-key-123")
    from failbridge_client.config import load_config as load

    outputs.append(repr(load(url="http://x", project="P")))
    # even an answer that echoes the key (a proxy's error page) is shown with the key blanked
    assert "Internal *** error" in outputs[1]
    assert [o for o in outputs if "sekret-key-123" in o or "Bearer" in o] == []
