"""failbridge's Chalice app: routes and event handlers only. Wiring lives in chalicelib.bootstrap;
every Lambda imports this module, so nothing is imported here that every invocation does not need
(route modules import their handlers' needs when called)."""

from __future__ import annotations

from chalicelib.cold_start import collector_paused

# A cold start's imports without the cyclic GC, then frozen out of its later collections
# (chalicelib/cold_start.py; about a fifth of the first request's CPU time).
with collector_paused():
    from typing import Any

    # Every invocation calls AWS (at least DynamoDB): the SDK's import is most of a cold start, so
    # it is loaded here, inside the pause. Its clients are still created on first use.
    import boto3  # noqa: F401
    from chalice import Chalice, Response
    from chalice.app import SQSEvent

    from chalicelib import settings
    from chalicelib.observability import logger, metrics, start_tracing
    from chalicelib.routes import (
        admin,
        audit,
        browse,
        clusters,
        decisions,
        environments,
        exports,
        flaky,
        health,
        mapping,
        plans,
        reports,
        requirements,
        results,
        runs,
        testcases,
        tickets,
        webhooks,
    )
    from chalicelib.routes import metrics as metrics_routes

    start_tracing()  # the X-Ray SDK and botocore's patching, only when FAILBRIDGE_TRACE_CALLS is on

app = Chalice(app_name="failbridge")
app.register_blueprint(results.bp)
app.register_blueprint(tickets.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(decisions.bp)
app.register_blueprint(webhooks.bp)
app.register_blueprint(health.bp)
app.register_blueprint(mapping.bp)
app.register_blueprint(metrics_routes.bp)
app.register_blueprint(exports.bp)
app.register_blueprint(testcases.bp)
app.register_blueprint(requirements.bp)
app.register_blueprint(browse.bp)
app.register_blueprint(reports.bp)
app.register_blueprint(clusters.bp)
app.register_blueprint(environments.bp)
app.register_blueprint(audit.bp)
app.register_blueprint(flaky.bp)
app.register_blueprint(plans.bp)
app.register_blueprint(runs.bp)


# Chalice's own refusals, in our codes (chalicelib/errors.py).
CHALICE_CODES = {
    400: "malformed_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


_first_request_served = False


@app.middleware("http")
def one_error_shape(event: Any, get_response: Any) -> Response:
    """Correlation id on every log line; Chalice's own errors (405, 415) in the contract's shape."""
    global _first_request_served
    context = getattr(event, "context", None) or {}
    logger.set_correlation_id(context.get("requestId"))
    if _first_request_served:
        response = get_response(event)
    else:
        # The first request builds the container and loads its services' modules: like the
        # imports above, without the cyclic GC, and frozen out of later collections.
        _first_request_served = True
        with collector_paused():
            response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = str(body["Code"]).removesuffix("Error")  # MethodNotAllowedError, BadRequestError
        snake = "".join("_" + c.lower() if c.isupper() else c for c in code).lstrip("_")
        response.body = {
            "error": {
                "code": CHALICE_CODES.get(response.status_code, snake),
                "message": str(body.get("Message", code)),
                "details": [],
            }
        }
    metrics.flush_metrics(raise_on_empty_metrics=False)
    return response


@app.on_sqs_message(queue=settings.REPORTS_QUEUE_NAME, batch_size=1, name="on_report_uploaded")
def on_report_uploaded(event: SQSEvent) -> dict[str, Any]:
    """S3 upload notifications (large reports, evidence) and the chunks of a large report arrive
    here through the reports queue, one at a time: one chunk is one bounded invocation."""
    from chalicelib.handlers import handle_upload_events

    return handle_upload_events(event.to_dict())


# At most 5 workflow-task functions at once (docs/decisions.md): a burst of new drafts' starts
# (a mass outage) reaches StartExecution at a bounded rate, the rest wait on the queue.
WORKFLOW_CONCURRENCY = 5


@app.on_sqs_message(
    queue=settings.WORKFLOW_QUEUE_NAME,
    batch_size=10,
    name="on_workflow_task",
    maximum_concurrency=WORKFLOW_CONCURRENCY,
)
def on_workflow_task(event: SQSEvent) -> dict[str, Any]:
    """Tasks the ticket workflow (Step Functions) hands to us, with their task tokens, and new
    drafts' workflow starts (queued by the request path)."""
    from chalicelib.handlers import handle_workflow_tasks

    return handle_workflow_tasks(event.to_dict())


@app.on_sqs_message(queue=settings.JIRA_QUEUE_NAME, batch_size=5, name="on_jira_task")
def on_jira_task(event: SQSEvent) -> dict[str, Any]:
    """Approved drafts become Jira issues here, once, whatever Jira does."""
    from chalicelib.handlers import handle_jira_tasks

    return handle_jira_tasks(event.to_dict())


@app.on_sqs_message(queue=settings.BUILD_QUEUE_NAME, batch_size=1, name="on_report_requested")
def on_report_requested(event: SQSEvent) -> dict[str, Any]:
    """Reports (PDF, HTML, CSV) asked for over the API or by a schedule, built into S3."""
    from chalicelib.handlers import handle_report_requests

    return handle_report_requests(event.to_dict())


@app.schedule("rate(1 hour)", name="send_report_schedules")
def send_report_schedules(event: Any) -> dict[str, Any]:
    """Report schedules: the headline figures and links, posted to Slack when due."""
    from chalicelib.handlers import send_report_schedules as send

    return send()


@app.schedule("rate(15 minutes)", name="reconcile_with_jira")
def reconcile_with_jira(event: Any) -> dict[str, int]:
    """Repair what a lost Jira webhook missed; start workflows that failed to start."""
    from chalicelib.handlers import reconcile

    return reconcile()


@app.schedule("rate(1 hour)", name="export_hourly")
def export_hourly(event: Any) -> dict[str, Any]:
    """Exports for BI tools: every project's days changed since the last run (docs/exports.md)."""
    from chalicelib.handlers import export_all

    return export_all()


@app.on_dynamodb_record(
    stream_arn=settings.CHANGE_STREAM_ARN,
    batch_size=100,
    starting_position="TRIM_HORIZON",
    name="on_change",
)
def on_change(event: Any) -> dict[str, Any]:
    """The table's change stream: every write of a ticket, execution or scenario, as change
    events for the readers of the stream (metrics, exports, audit)."""
    from chalicelib.handlers import handle_changes

    return handle_changes(event.to_dict())
