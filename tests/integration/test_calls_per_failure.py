"""AWS calls a reported failure costs on a warm container (issue #10: a merged failure two), counted
with botocore's before-call event on every client of the app's container, through the API on moto
in-process; and what keeps the calls few stays right: test-case versions remembered per container
follow an edit made in another container once its project is read again, and planned runs a
container did not create are found through the project's open runs."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.aws import Clients
from chalicelib.bootstrap import Container
from chalicelib.domain.runs import OPEN_RUNS
from chalicelib.models import ResultIn, RunIn, TestCaseIn
from chalicelib.settings import Settings
from tests.integration.conftest import Demo, result

RESULTS = "/v1/projects/DEMO/results"


class Calls:
    """The AWS operations the container's clients make, in order."""

    def __init__(self, clients: list[Any]) -> None:
        self.made: list[str] = []
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before)

    def _before(self, model: Any, **_: Any) -> None:
        self.made.append(model.name)

    def during(self, post: Any) -> Counter[str]:
        start = len(self.made)
        post()
        return Counter(self.made[start:])


def _post(api: Any, demo: Demo, run_id: str, results: list[dict[str, Any]]) -> Any:
    run = {"id": run_id, "name": "nightly", "environment": "staging"}  # a registered one
    body = json.dumps({"run": run, "results": results})
    response = api.post(RESULTS, headers=demo.auth("ci"), body=body)
    assert response.status_code == 200, response.body
    return json.loads(response.body)["results"]


@pytest.fixture
def warm_for_minutes(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Caches that outlive a slow test run: the count is of the warm path only (the project's
    GetItem every FAILBRIDGE_REVOCATION_SECONDS is the bench's business)."""
    monkeypatch.setenv("FAILBRIDGE_REVOCATION_SECONDS", "600")
    monkeypatch.setenv("FAILBRIDGE_KEY_CACHE_SECONDS", "600")
    bootstrap.reset()


def test_a_warm_container_files_a_failure_in_few_calls(
    warm_for_minutes: None, api: Any, demo: Demo
) -> None:
    bootstrap.container().environments.create("DEMO", {"envId": "staging"}, "lead@example.com")
    calls = Calls(bootstrap.container().clients.every())
    failing = {"scenarioId": "checkout.calls", "testCaseId": "TC-CALLS-1"}
    # warm-up: the key and the project are cached, the test cases registered
    _post(api, demo, "warm-1", [result(**failing, status="passed"), result(testCaseId="TC-C-2")])

    opened = calls.during(lambda: _post(api, demo, "run-1", [result(**failing)]))
    merged = calls.during(lambda: _post(api, demo, "run-2", [result(**failing, reporter="b@x.io")]))
    passed = calls.during(
        lambda: _post(
            api,
            demo,
            "run-3",
            [result(scenarioId="checkout.ok", testCaseId="TC-C-2", status="passed")],
        )
    )

    # new draft: the scenario, the clusters, the cluster's member, the draft's transaction and
    # the workflow's start, queued (SendMessage: StartExecution is the queue consumer's); no
    # test-case heads, no planned-run read, no environment read
    assert sum(opened.values()) <= 5, opened
    assert opened["SendMessage"] == 1 and "StartExecution" not in opened, opened
    assert "BatchGetItem" not in opened and "GetItem" not in opened
    # merge: the scenario's touch and the occurrence's transaction, nothing else
    assert merged == Counter({"UpdateItem": 1, "TransactWriteItems": 1}), merged
    assert passed == Counter({"UpdateItem": 1, "BatchWriteItem": 1}), passed
    run = bootstrap.container().repos.executions.run("DEMO", "run-2") or {}
    assert run["environmentSnapshot"]["revision"] == 1  # remembered, and recorded


@pytest.fixture
def containers(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Two warm containers of one project (their own clients and caches), whose cached project
    is read again after 0.5 s."""
    monkeypatch.setenv("FAILBRIDGE_REVOCATION_SECONDS", "0.5")
    first, second = Container(Settings.from_env()), Container(Settings.from_env(), Clients())
    first.access.create_project("VER", "Versions", False, default_lead="lead@example.com")
    yield first, second


def _record(container: Container, run_id: str, test_case: str, status: str = "passed") -> None:
    container.results.record(
        container.access.project("VER"),
        RunIn.model_validate({"id": run_id}),
        [
            ResultIn.model_validate(
                {"scenarioId": "s.one", "testCaseId": test_case, "status": status}
            )
        ],
        reported_by="ci",
    )


def _version(container: Container, run_id: str) -> int | None:
    [execution] = container.repos.executions.of_run("VER", run_id)
    return execution.test_case_version


def _edit(container: Container, title: str) -> None:
    body = TestCaseIn.model_validate({"title": title, "module": "checkout"})
    container.test_cases.update("VER", "TC-V", body, None, "tester@example.com")


def test_an_edit_in_another_container_is_seen_after_its_project_is_read_again(
    containers: Any,
) -> None:
    reporting, editing = containers
    _record(reporting, "r1", "TC-V")  # first sighting: version 1, remembered
    assert _version(reporting, "r1") == 1
    _edit(editing, "Pay by card, 3-D Secure")  # version 2, catalogue generation moved
    time.sleep(0.6)  # the reporting container's project is read again on its next request
    _record(reporting, "r2", "TC-V")
    assert _version(reporting, "r2") == 2
    project = editing.repos.projects.get("VER") or {}
    assert project["catalogGeneration"] == 1


def test_an_edit_in_the_same_container_is_seen_at_once(containers: Any) -> None:
    reporting, _ = containers
    _record(reporting, "r1", "TC-V")
    _edit(reporting, "Pay by card, 3-D Secure")
    _record(reporting, "r2", "TC-V")  # no wait: the container forgot what it remembered
    assert _version(reporting, "r2") == 2


def test_a_run_planned_in_another_container_counts_ci_results(containers: Any) -> None:
    reporting, planning = containers
    from chalicelib.models_planning import RunCreateIn

    planning.test_cases.create(
        "VER", TestCaseIn.model_validate({"testCaseId": "TC-V", "title": "Pay"}), "t@x.io"
    )
    reporting.access.project("VER")  # cached before the run exists
    created = RunCreateIn.model_validate({"id": "planned-1", "testCases": ["TC-V"]})
    planning.runs.create("VER", created, "lead@example.com")
    assert (planning.repos.projects.get("VER") or {})[OPEN_RUNS] == ["planned-1"]
    assert OPEN_RUNS not in planning.access.describe_project("VER")  # bookkeeping, not settings
    time.sleep(0.6)
    _record(reporting, "planned-1", "TC-V")
    run = planning.runs.get("VER", "planned-1") or {}
    assert run["status"] == "closed"  # its one test case has a result: it closed itself
    assert run["progress"]["executed"] == 1
    assert OPEN_RUNS not in (planning.repos.projects.get("VER") or {})


def test_an_environment_changed_in_another_container_is_recorded_after_the_project_is_read(
    containers: Any,
) -> None:
    reporting, changing = containers
    changing.environments.create("VER", {"envId": "staging"}, "lead@example.com")
    time.sleep(0.6)

    def snapshot(run_id: str) -> dict[str, Any]:
        reporting.results.record(
            reporting.access.project("VER"),
            RunIn.model_validate({"id": run_id, "environment": "staging"}),
            [
                ResultIn.model_validate(
                    {"scenarioId": "s", "testCaseId": "TC-E", "status": "passed"}
                )
            ],
            reported_by="ci",
        )
        return dict((reporting.repos.executions.run("VER", run_id) or {})["environmentSnapshot"])

    assert snapshot("e1")["revision"] == 1
    changing.environments.update("VER", "staging", {"configuration": {"db": "16"}}, "lead@x.io")
    time.sleep(0.6)
    assert snapshot("e2")["configuration"] == {"db": "16"}
