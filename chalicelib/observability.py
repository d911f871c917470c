"""Logging, tracing and metrics, set up once. Powertools' Tracer pulls in the X-Ray SDK and
patches botocore (about 110 ms of a cold start, `bench.first_request`), so it is built only when
`FAILBRIDGE_TRACE_CALLS` asks for subsegments per AWS call and per SQS record. Lambda's and API
Gateway's own X-Ray segments (active tracing in the template) need no SDK and stay on."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="failbridge")
metrics = Metrics(namespace="failbridge", service="failbridge")

# Metrics the template alarms on (infra/template.json; namespace and the `service` dimension
# above): a name changed here must change there.
JIRA_FAILED_METRIC = "JiraFailed"  # a ticket went jira_failed (Jira refused, or the budget ran out)
SLACK_FAILED_METRIC = "SlackFailed"  # Slack refused a message for good (to the DLQ at once)


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def tracing_calls() -> bool:
    return os.environ.get("FAILBRIDGE_TRACE_CALLS", "").strip().lower() in {"1", "true", "on"}


@functools.lru_cache(maxsize=1)
def tracer() -> Any:
    from aws_lambda_powertools import Tracer

    return Tracer(service="failbridge")


def start_tracing() -> None:
    """Patch boto3 for X-Ray subsegments, when switched on (once per process)."""
    if tracing_calls():
        tracer()


@contextlib.contextmanager
def subsegment(name: str, **annotations: str) -> Iterator[None]:
    """An X-Ray subsegment around a piece of work, when tracing is switched on."""
    if not tracing_calls():
        yield
        return
    with tracer().provider.in_subsegment(name) as segment:
        for key, value in annotations.items():
            segment.put_annotation(key, value)
        yield
