"""A ticket that goes jira_failed is counted: the template's JiraFailedAlarm watches the metric."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.observability import JIRA_FAILED_METRIC
from tests.integration.conftest import Demo
from tests.integration.test_jira import approve, configure, run_jira, ticket_of


def emitted_metrics(stdout: str) -> list[dict[str, Any]]:
    """Powertools' EMF blobs (one JSON object a line on stdout)."""
    blobs = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def test_a_ticket_that_goes_jira_failed_emits_the_metric(
    api: Any, demo: Demo, aws: dict[str, Any], jira: Any, slack: Any, capsys: Any
) -> None:
    configure(api, demo)
    jira.set_config(requiredFields=["environment"])  # Jira refuses: jira_failed at once
    ticket_id = approve(api, demo)
    capsys.readouterr()
    run_jira(aws)
    assert ticket_of(api, demo, ticket_id)["status"] == "jira_failed"
    blobs = [b for b in emitted_metrics(capsys.readouterr().out) if JIRA_FAILED_METRIC in b]
    assert [b[JIRA_FAILED_METRIC] for b in blobs] == [[1.0]]  # one blob, one count
    [directive] = blobs[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "failbridge"
    assert blobs[0]["service"] == "failbridge"
