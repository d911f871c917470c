"""Bodies of the SQS-triggered Lambdas. Each record succeeds or fails on its own: failures are
reported as batchItemFailures, so SQS redelivers only them and, past maxReceiveCount, moves them
to the queue's DLQ."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from typing import Any
from urllib.parse import unquote_plus

from chalicelib import audit_context, settings
from chalicelib.bootstrap import container
from chalicelib.domain.tasks import TaskType
from chalicelib.observability import logger, metrics


def _each_record(
    event: dict[str, Any],
    handle: Callable[[dict[str, Any]], None],
    expected: tuple[type[Exception], ...] = (),
) -> dict[str, Any]:
    """Powertools' batch processor around `handle`: each record in its own X-Ray subsegment, a
    failure logged (unless `expected`) and reported in batchItemFailures, even when every
    record of the batch failed (SQS then redelivers them all, as it would on an error)."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.observability import subsegment

    def one(record: SQSRecord) -> None:
        try:
            with subsegment("sqs record", messageId=record.message_id or ""):
                handle(record.raw_event)
        except expected:
            raise
        except Exception:
            logger.exception("record failed", extra={"messageId": record.message_id})
            raise

    if not event.get("Records"):
        return {"batchItemFailures": []}  # Powertools refuses an empty batch; Lambda sends none
    # A processor per batch: it keeps the batch's state, and the local stack runs handlers in
    # threads.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=one, processor=processor)
    metrics.flush_metrics(raise_on_empty_metrics=False)
    return dict(response)


def handle_upload_events(event: dict[str, Any]) -> dict[str, Any]:
    c = container()

    def handle(record: dict[str, Any]) -> None:
        notification = json.loads(record["body"])
        if notification.get("type") == "upload_chunk":  # a chunk of a large upload
            outcome = c.uploads.process_chunk(notification["uploadId"], int(notification["chunk"]))
            logger.info(
                "upload chunk handled",
                extra={**notification, "outcome": outcome},
            )
            return
        for s3_record in notification.get("Records", []):  # s3:TestEvent has none
            key = unquote_plus(s3_record["s3"]["object"]["key"])
            if key.startswith("uploads/") and key.rsplit("/", 1)[-1].startswith("test-cases."):
                outcome = c.test_case_imports.process(key)  # a large test-case import
            elif key.startswith("uploads/"):
                outcome = c.uploads.process(key)
            elif key.startswith("evidence/"):
                outcome = c.tickets.settle_evidence(key)
            else:
                outcome = "ignored"
            logger.info("upload handled", extra={"key": key, "outcome": outcome})

    return _each_record(event, handle)


def handle_workflow_tasks(event: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.domain.delivery import Attempt, Later

    c = container()

    from chalicelib.domain.outside import SlackRejected

    def handle(record: dict[str, Any]) -> None:
        task = json.loads(record["body"])
        kind = task.get("type")
        try:
            _workflow_task(c, task, kind, Attempt.of(task))
        except Later as later:
            _carry_on(c.settings.workflow_queue_url, task, later)
        except SlackRejected as refused:
            _dead_at_once(c, settings.WORKFLOW_QUEUE_NAME, task, refused)

    return _each_record(event, handle)


def _dead_at_once(c: Any, queue_name: str, task: dict[str, Any], reason: Exception) -> None:
    """A permanent refusal ends the delivery at once, not after maxReceiveCount retries: the
    task goes straight to the queue's DLQ with the reason (its depth alarm tells an operator,
    who mends the cause and redrives the DLQ), counted, and the received message is done."""
    from chalicelib import observability

    c.queues.send(c.queues.url_of(queue_name + "-dlq"), {**task, "failure": str(reason)[:500]})
    observability.count(observability.SLACK_FAILED_METRIC)
    logger.error(
        "delivery refused for good, sent to the DLQ",
        extra={"type": task.get("type"), "reason": str(reason)},
    )


def _workflow_task(c: Any, task: dict[str, Any], kind: Any, attempt: Any) -> None:
    if kind == TaskType.START_WORKFLOW:
        # name and input were fixed when the draft was filed: a redelivery starts nothing new
        # (a failure, e.g. throttling, leaves the message to SQS's retry, then its DLQ; the
        # scheduled sweep starts a draft whose start was lost)
        started = c.workflow.start(task["name"], task["input"])
        logger.info("workflow start", extra={"ticketId": task["name"], "started": started})
    elif kind == TaskType.AWAIT_DECISION:
        # The task token stays on our side, under the ticket: never in a URL or a button.
        outcome = c.decisions.awaiting(
            task["ticketId"],
            task["taskToken"],
            int(task.get("round", 0)),
            int(task.get("deadline", 0)),
        )
        logger.info("awaiting decision", extra={"ticketId": task["ticketId"], "outcome": outcome})
    elif kind == TaskType.AWAIT_FEEDBACK:
        outcome = c.feedback.awaiting(
            task["ticketId"], task["taskToken"], str(task.get("entered") or "")
        )
        logger.info("awaiting Jira", extra={"ticketId": task["ticketId"], "outcome": outcome})
    elif kind == TaskType.FLUSH_NOTIFICATIONS:
        # Slack throttling or down: the flush goes on later; what was sent is not sent again.
        sent = _outside(attempt, c.slack_policy, lambda: c.decisions.flush(task["lead"]))
        logger.info("lead notified", extra={"drafts": sent})
    elif kind == TaskType.TELL_LEAD:
        outcome = _outside(attempt, c.slack_policy, lambda: c.decisions.send_notice(task))
        logger.info("lead told", extra={"noticeId": task.get("noticeId"), "outcome": outcome})
    elif kind == TaskType.EXPIRE_DRAFT:
        expired = c.decisions.expire(task["ticketId"])
        logger.info("draft deadline", extra={"ticketId": task["ticketId"], "expired": expired})
    else:
        logger.warning("unknown workflow task", extra={"type": kind})


def _carry_on(queue_url: str, task: dict[str, Any], later: Any) -> None:
    """A delivery that must wait goes on as a new message, delayed (at most SQS's 900 s; a longer
    wait is carried as `notBefore`), with its state; the received one is then done. So neither
    maxReceiveCount nor the visibility limit ends a delivery: only its time budget does."""
    from chalicelib.domain.delivery import redelivery

    body, delay = redelivery(task, later)
    container().queues.send(queue_url, body, delay)
    logger.info(
        "delivery later",
        extra={
            "type": task.get("type"),
            "ticketId": task.get("ticketId"),
            "seconds": later.seconds,
            "attempt": later.attempt.number,
            "reason": later.reason,
        },
    )


def handle_jira_tasks(event: dict[str, Any]) -> dict[str, Any]:
    """Create (or link) Jira issues, and tell Jira what changed here. A delivery that must wait
    (Jira throttling, down, or a create whose answer was lost) goes on as a delayed message."""
    from chalicelib.domain.delivery import Attempt, Later

    c = container()

    def handle(record: dict[str, Any]) -> None:
        task = json.loads(record["body"])
        kind = task.get("type", TaskType.CREATE_DEFECT)
        attempt = Attempt.of(task)
        try:
            if kind == TaskType.JIRA_EVENT:
                change = _jira_change(task, record.get("messageId"))
                if change is None:
                    return  # cannot succeed on any retry: logged, dropped
                with audit_context.serving(record.get("messageId"), audit_context.JIRA):
                    outcome = c.feedback.apply(change)
            elif kind in (
                TaskType.RETEST_PASSED,
                TaskType.RETEST_FAILED,
                TaskType.REGRESSION_REOPENED,
            ):
                outcome = _outside(
                    attempt, c.jira_policy, lambda: c.feedback.sync_to_jira(kind, task["ticketId"])
                )
            elif kind == TaskType.RECORD_KNOWLEDGE:
                outcome = _outside(
                    attempt, c.jira_policy, lambda: c.feedback.record_knowledge(task["ticketId"])
                )
            else:
                outcome = c.defects.process(task["ticketId"], task.get("taskToken"), attempt)
        except Later as later:
            _carry_on(c.settings.jira_queue_url, task, later)
            return
        logger.info(
            "Jira done",
            extra={
                "type": kind,
                "ticketId": task.get("ticketId"),
                "key": task.get("key"),
                "outcome": outcome,
            },
        )

    return _each_record(event, handle)


def _outside(attempt: Any, policy: Any, call: Callable[[], Any]) -> Any:
    """A call to Jira or Slack within the delivery budget: throttling waits what was asked,
    an outage backs off until the budget is spent (then the error goes to SQS and its DLQ)."""
    import time

    from chalicelib.domain.delivery import Later
    from chalicelib.domain.outside import (
        JiraThrottled,
        JiraUnavailable,
        SlackThrottled,
        SlackUnavailable,
    )

    now = time.time()
    if attempt.not_before is not None and now < attempt.not_before:
        raise Later(attempt.not_before - now, "waiting as asked", attempt)
    try:
        return call()
    except (JiraThrottled, SlackThrottled) as exc:
        later = attempt.later(now, exc.retry_after, failing=False)
        raise Later(exc.retry_after, str(exc), later) from exc
    except (JiraUnavailable, SlackUnavailable) as exc:
        nxt = attempt.later(now, 0, failing=True)
        if nxt.spent(now, policy):
            raise
        wait = policy.backoff(attempt.number)
        raise Later(wait, str(exc), attempt.later(now, wait, failing=True)) from exc


def _jira_change(task: Any, message_id: str | None) -> dict[str, Any] | None:
    """A queued Jira change, checked again here: the webhook validated the delivery, but a message
    from an older version or sent by hand must not crash the consumer. A malformed one is logged
    with its problems and dropped: no retry can mend it, and redelivering it would only park it
    in the DLQ behind real failures."""
    from chalicelib.errors import MalformedRequest
    from chalicelib.models_inbound import JiraChange, parse_inbound

    try:
        change = parse_inbound(JiraChange, task, "message")
    except MalformedRequest as exc:
        logger.error(
            "malformed Jira change dropped",
            extra={"messageId": message_id, "problems": exc.details},
        )
        return None
    return change.model_dump(by_alias=True)


STALLED_DRAFT_MINUTES = 5  # a reporter's own retry gets this long to start the workflow


def reconcile() -> dict[str, int]:
    """The schedule's sweep: what Jira's lost webhooks missed, and drafts whose workflow did not
    start (Step Functions was down when they were reported)."""
    from datetime import datetime, timedelta

    c = container()
    counts = dict(c.feedback.reconcile())
    cutoff = datetime.now(UTC) - timedelta(minutes=STALLED_DRAFT_MINUTES)
    counts["workflowsStarted"] = c.results.restart_stalled_drafts(
        cutoff.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    logger.info("reconciled", extra=counts)
    return counts


def export_all() -> dict[str, Any]:
    """The hourly export: every project's dirty days, then its manifests."""
    out = container().exports.run_all()
    logger.info("exported", extra={"projects": len(out)})
    return out


def handle_changes(event: dict[str, Any]) -> dict[str, Any]:
    """The change stream: each record's change events go to every reader, in order. At the first
    record a reader could not take we stop and report its sequence number: Lambda (and the local
    pump) retries the batch from it, so no later record is applied before it. (Powertools'
    BatchProcessor would go on past a failure; here order matters more than throughput.)"""
    from chalicelib.adapters.dynamo.stream import images, written

    feed = container().changes
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            entity, old, new, sequence = images(record)
            events = feed.events_of(entity, old, new, sequence)
            write = written(record)
            feed.deliver([*events, write] if write is not None else events)
        except Exception:
            sequence = (record.get("dynamodb") or {}).get("SequenceNumber", "")
            logger.exception("change not delivered", extra={"sequenceNumber": sequence})
            failures.append({"itemIdentifier": sequence})
            break
    metrics.flush_metrics(raise_on_empty_metrics=False)
    return {"batchItemFailures": failures}


BUILD_RECEIVES = 5  # the build queue's maxReceiveCount (infra/template.json)


def handle_report_requests(event: dict[str, Any]) -> dict[str, Any]:
    """Build asked-for reports into S3. A failure on the last receive marks the report failed
    (the message then goes to the build DLQ)."""
    c = container()

    def handle(record: dict[str, Any]) -> None:
        task = json.loads(record["body"])
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
        try:
            outcome = c.reports.build(task["project"], task["reportId"])
        except Exception as exc:
            if receives >= BUILD_RECEIVES:
                c.reports.failed(task["project"], task["reportId"], f"{type(exc).__name__}: {exc}")
            raise
        logger.info("report built", extra={"reportId": task["reportId"], "outcome": outcome})

    return _each_record(event, handle)


def send_report_schedules() -> dict[str, Any]:
    """The hourly tick: every due report schedule posts its headline and links to Slack."""
    out = container().reports.send_due()
    logger.info("report schedules", extra=out)
    return out
