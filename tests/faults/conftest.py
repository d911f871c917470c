"""The fault suite: outages of Jira and Slack, and SQS redelivery, against moto in-process, the
Jira emulator's fault injection and the Slack sink, with time compressed through the settings:
one hour of a real outage is one second here (a 24 h budget is 24 s, the 15-minute backoff cap
1 s, the 60 s probe interval 0.5 s, the 5-minute delay notice 0.5 s)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import api, app_env, aws, demo, jira, slack  # noqa: F401
from tests.integration.test_feedback import deliveries  # noqa: F401

COMPRESSED = {
    "FAILBRIDGE_JIRA_RETRY_BUDGET_SECONDS": "24",
    "FAILBRIDGE_SLACK_RETRY_BUDGET_SECONDS": "24",
    "FAILBRIDGE_BACKOFF_BASE_SECONDS": "0.2",
    "FAILBRIDGE_BACKOFF_CAP_SECONDS": "1",
    "FAILBRIDGE_JIRA_PROBE_SECONDS": "0.5",
    "FAILBRIDGE_DELAY_NOTICE_SECONDS": "0.5",
}


@pytest.fixture(autouse=True)
def compressed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in COMPRESSED.items():
        monkeypatch.setenv(name, value)
