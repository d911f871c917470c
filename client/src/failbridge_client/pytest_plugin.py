"""`pytest --failbridge`: every test's result reported to failbridge at the end of the session,
or streamed while the session runs with `--failbridge-batch N` (sent whenever N results wait).

- Identity: `@pytest.mark.failbridge(test_case="TC-PAY-001", scenario="checkout.pay",
  module="checkout", requirements=["REQ-1"], jira_test_key="KP-42")`; without a marker the test
  case is the node id and the scenario the test case.
- Reruns (pytest-rerunfailures) are attempts: a test that failed, then passed on a rerun, is
  reported as failed attempt 1 and passed attempt 2, which failbridge records as flaky.
- Attachments: the `failbridge_attach(name, url)` fixture adds an evidence link to the test.
- Configuration: `--failbridge-url`, `--failbridge-project`, `--failbridge-run` or the client's
  usual sources (FAILBRIDGE_URL, FAILBRIDGE_API_KEY, FAILBRIDGE_PROJECT, config file; run id from
  $GITHUB_RUN_ID and friends). Reporting problems are warnings unless `--failbridge-strict`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

TRACE_MAX = 60_000
TEXT_MAX = 9_000
_KEY = pytest.StashKey["_Collector"]()
_EVIDENCE = pytest.StashKey[list[dict[str, str]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("failbridge")
    group.addoption("--failbridge", action="store_true", help="report results to failbridge")
    group.addoption("--failbridge-url", help="failbridge's base URL (env FAILBRIDGE_URL)")
    group.addoption("--failbridge-project", help="project key (env FAILBRIDGE_PROJECT)")
    group.addoption("--failbridge-run", help="run id (default $GITHUB_RUN_ID, $BUILD_TAG, ...)")
    group.addoption("--failbridge-run-name", help="the run's name")
    group.addoption("--failbridge-config", help="a TOML config file")
    group.addoption(
        "--failbridge-batch",
        type=int,
        default=0,
        metavar="N",
        help="send results while the session runs, whenever N wait (default: all at the end)",
    )
    group.addoption(
        "--failbridge-strict", action="store_true", help="fail the session if reporting fails"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "failbridge(test_case=None, scenario=None, module=None, requirements=(), "
        "jira_test_key=None): failbridge identity of the test",
    )
    if config.getoption("failbridge") and not hasattr(config, "workerinput"):
        config.stash[_KEY] = _Collector(config)
        config.pluginmanager.register(config.stash[_KEY], "failbridge-collector")
    elif config.getoption("failbridge"):  # an xdist worker: results travel to the controller
        config.pluginmanager.register(_Worker(), "failbridge-worker")


@pytest.fixture
def failbridge_attach(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """`failbridge_attach("screenshot", "https://ci.example.com/812/shot.png")`."""
    links = request.node.stash.setdefault(_EVIDENCE, [])

    def attach(name: str, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("failbridge evidence is a link: the url must be http(s)")
        links.append({"name": name, "url": url})

    return attach


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    if not item.config.getoption("failbridge"):
        return  # user_properties land in every --junitxml report: none without the flag
    report = outcome.get_result()
    marker = item.get_closest_marker("failbridge")
    kwargs = dict(marker.kwargs) if marker else {}
    evidence = item.stash.get(_EVIDENCE, [])
    # user_properties travel with the report, also from xdist workers
    report.user_properties.append(("failbridge", {"marker": kwargs, "evidence": list(evidence)}))


class _Worker:
    """Nothing to do: reports reach the controller's collector through xdist."""


class _Collector:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[dict[str, Any]] = []  # not sent yet
        self.attempts: dict[str, int] = {}
        self.rerunning: dict[str, bool] = {}  # node id -> its last attempt is to be rerun
        self.done: set[str] = set()  # node ids whose every attempt is in
        self.outcomes: list[dict[str, Any]] = []  # failbridge's answers so far
        self.problem: str | None = None  # why reporting stopped
        self._sender: tuple[Any, str, dict[str, Any]] | None = None  # (client, project, run)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid
        if report.when == "setup":
            self.rerunning[nodeid] = False
        if report.outcome == "rerun":  # pytest-rerunfailures: another attempt follows
            self.rerunning[nodeid] = True
        self._record(report)
        if report.when == "teardown" and not self.rerunning.get(nodeid):
            self.done.add(nodeid)  # every attempt of the test is in
            batch = self.config.getoption("failbridge_batch") or 0
            if batch > 0 and sum(1 for r in self.results if r["_nodeid"] in self.done) >= batch:
                self._flush()

    def _record(self, report: pytest.TestReport) -> None:
        rerun = report.outcome == "rerun"
        wanted = (
            rerun
            or report.when == "call"
            or (report.when == "setup" and report.outcome != "passed")
            or (report.when == "teardown" and report.outcome == "failed")
        )
        if not wanted:
            return
        last = next((r for r in reversed(self.results) if r["_nodeid"] == report.nodeid), None)
        if (
            report.when == "teardown"
            and not rerun
            and last
            and last["attempt"] == self.attempts.get(report.nodeid)
        ):
            # a teardown error after the call: the test failed
            self.results.remove(last)
            self.attempts[report.nodeid] -= 1
        attempt = self.attempts.get(report.nodeid, 0) + 1
        self.attempts[report.nodeid] = attempt
        self.results.append(self._result(report, attempt, rerun))

    def _result(self, report: pytest.TestReport, attempt: int, rerun: bool) -> dict[str, Any]:
        props: dict[str, Any] = dict(report.user_properties)
        extra: dict[str, Any] = props.get("failbridge") or {}
        marker: dict[str, Any] = extra.get("marker", {})
        test_case = str(marker.get("test_case") or report.nodeid)[:200]
        if rerun or report.failed:
            status = "failed"
        elif report.skipped:
            status = "skipped"  # skipped, or an expected failure (xfail)
        else:
            status = "passed"
        result: dict[str, Any] = {
            "_nodeid": report.nodeid,
            "testCaseId": test_case,
            "scenarioId": str(marker.get("scenario") or test_case)[:200],
            "title": report.nodeid.rsplit("::", 1)[-1][:200],
            "status": status,
            "attempt": attempt,
            "durationMs": round(report.duration * 1000),
        }
        for key, field in (("module", "module"), ("jira_test_key", "jiraTestKey")):
            if marker.get(key):
                result[field] = str(marker[key])
        if marker.get("requirements"):
            result["requirements"] = [str(r) for r in marker["requirements"]][:50]
        if extra.get("evidence"):
            result["evidence"] = extra["evidence"][:20]
        if status == "failed":
            crash = getattr(report.longrepr, "reprcrash", None)
            message = getattr(crash, "message", "") or report.longreprtext.strip()[:500]
            trace = report.longreprtext
            if len(trace) > TRACE_MAX:
                trace = trace[: TRACE_MAX // 2] + "\n…\n" + trace[-TRACE_MAX // 2 :]
            error_type = message.split(":", 1)[0] if ":" in message[:80] else None
            result["error"] = {"message": message[:TEXT_MAX], "trace": trace}
            if error_type and error_type.isidentifier():
                result["error"]["type"] = error_type
            result["actual"] = message[:TEXT_MAX]
        return result

    def _connect(self) -> tuple[Any, str, dict[str, Any]]:
        if self._sender is None:
            from failbridge_client.api import Client
            from failbridge_client.config import ConfigError, load_config, run_from_env

            opt = self.config.getoption
            config = load_config(
                url=opt("failbridge_url"),
                project=opt("failbridge_project"),
                config_file=opt("failbridge_config"),
            )
            run_id = opt("failbridge_run") or run_from_env()
            if not run_id:
                raise ConfigError("no run id: pass --failbridge-run or set $GITHUB_RUN_ID")
            run: dict[str, Any] = {"id": run_id}
            if opt("failbridge_run_name"):
                run["name"] = opt("failbridge_run_name")
            assert config.project is not None
            self._sender = (Client(config), config.project, run)
        return self._sender

    def _flush(self, *, everything: bool = False) -> None:
        """Send the finished tests' results (at the end, `everything`); a failure stops
        reporting for the rest of the session."""
        ready = [r for r in self.results if everything or r["_nodeid"] in self.done]
        if not ready or self.problem is not None:
            return
        from failbridge_client.api import ApiError
        from failbridge_client.config import ConfigError

        results = [{k: v for k, v in r.items() if k != "_nodeid"} for r in ready]
        try:
            client, project, run = self._connect()
            self.outcomes.extend(client.report_results(project, run, results))
        except (ConfigError, ApiError, OSError) as exc:
            self.problem = str(exc)
            return
        sent = {id(r) for r in ready}
        self.results = [r for r in self.results if id(r) not in sent]
        self.done -= {r["_nodeid"] for r in ready}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._flush(everything=True)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if self.problem is not None:
            if self.config.getoption("failbridge_strict"):
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            if reporter:
                reporter.write_line(f"failbridge: results not reported: {self.problem}", red=True)
            return
        if not self.outcomes or self._sender is None:
            return
        tickets = sum(1 for o in self.outcomes if o.get("ticket"))
        flaky = sum(1 for o in self.outcomes if o.get("flaky"))
        if reporter:
            reporter.write_line(
                f"failbridge: reported {len(self.outcomes)} results to run {self._sender[2]['id']} "
                f"({tickets} with a ticket, {flaky} flaky)"
            )
