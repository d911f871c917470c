"""Logging, tracing and metrics, set up once. Powertools' Tracer pulls in the X-Ray SDK, so it is
built on first use rather than at import."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="failbridge")
metrics = Metrics(namespace="failbridge", service="failbridge")

# Metrics the template alarms on (infra/template.json; namespace and the `service` dimension
# above): a name changed here must change there.
JIRA_FAILED_METRIC = "JiraFailed"  # a ticket went jira_failed (Jira refused, or the budget ran out)


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@functools.lru_cache(maxsize=1)
def tracer() -> Any:
    from aws_lambda_powertools import Tracer

    return Tracer(service="failbridge")
