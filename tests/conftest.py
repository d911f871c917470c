"""Shared test setup: never talk to a real AWS account."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "failbridge",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}.items():
    os.environ[name] = value
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


def load_event(name: str) -> dict[str, Any]:
    """A recorded sample event from events/."""
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def event_loader():
    return load_event


# Figures a test wants printed at the end of the run, whatever pytest's capture and however many
# xdist workers: a test records them as user properties (`record_property`), which xdist sends
# to the controller with each report. "summary": one line as is; "fuzz": (role, operation,
# status) of one fuzz case, counted here.
_summaries: list[str] = []
_fuzz: dict[str, Any] = {"roles": {}, "statuses": {}, "operations": set()}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, value in getattr(report, "user_properties", ()):
        if name == "summary" and report.when == "call":
            _summaries.append(str(value))
        elif name == "fuzz" and report.when == "call":
            role, operation, status = value
            _fuzz["roles"][role] = _fuzz["roles"].get(role, 0) + 1
            _fuzz["statuses"][status] = _fuzz["statuses"].get(status, 0) + 1
            _fuzz["operations"].add(operation)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = list(_summaries)
    if _fuzz["roles"]:
        statuses = _fuzz["statuses"]
        lines.append(
            f"fuzz: {sum(_fuzz['roles'].values())} cases over {len(_fuzz['operations'])} "
            f"operations ({', '.join(f'{r} {n}' for r, n in sorted(_fuzz['roles'].items()))}); "
            f"5xx: {sum(n for s, n in statuses.items() if int(s) >= 500)}; statuses "
            + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        )
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """schemathesis 4.32 under pytest 9 gives every operation's item of one test the same node
    id (`test_fuzz.py::test_as_admin`, without `[GET /v1/...]`). xdist schedules by node id, so
    `make test` (-n 2) ran one operation per role. Each item gets its own id back."""
    for item in items:
        if "[" in item.name and not item.nodeid.endswith("]"):
            wanted = item.nodeid + item.name[item.name.index("[") :]
            item._id = type(item._id).parse(wanted)  # type: ignore[attr-defined]  # pytest 9
            assert item.nodeid == wanted, (item.nodeid, wanted)
