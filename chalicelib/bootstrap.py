"""The one wiring place: boto3 clients, adapters and services, built once per container.

Tests call `reset()` after changing the environment; everything else calls `container()`."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from chalicelib.settings import Settings


@dataclass
class Container:
    settings: Settings
    repos: Any
    blobs: Any
    workflow: Any
    access: Any
    results: Any
    tickets: Any
    uploads: Any
    clients: dict[str, Any]

    @functools.cached_property
    def queues(self) -> Any:
        from chalicelib.adapters.queue import Queues

        return Queues(self.clients["sqs"])

    @functools.cached_property
    def decisions(self) -> Any:
        """Built on first use: it needs the approval keys and Slack, which reading does not."""
        from chalicelib.adapters.queue import Queue
        from chalicelib.adapters.slack import SlackNotifier
        from chalicelib.services.decisions import DecisionService

        slack = slack_config()
        from chalicelib.services.decisions import Stores

        r = self.repos
        return DecisionService(
            Stores(r.tickets, r.projects, r.outbox, r.nonces),
            self.workflow,
            approval_signer(),
            SlackNotifier(slack["webhookUrl"], slack["botToken"], slack["apiUrl"]),
            Queue(self.clients["sqs"], self.settings.workflow_queue_url),
            public_url=self.settings.public_url,
            digest_seconds=self.settings.digest_seconds,
        )

    @functools.cached_property
    def changes(self) -> Any:
        """The change stream's readers. Metrics, exports and audit register here."""
        from chalicelib.observability import count
        from chalicelib.services.changes import ChangeFeed, CountingReader

        return ChangeFeed([CountingReader(count)])

    @functools.cached_property
    def tracker(self) -> Any:
        from chalicelib.adapters.jira_tracker import JiraTracker

        creds = jira_credentials()
        return JiraTracker(
            creds["url"], creds["email"], creds["token"], timeout=self.settings.jira_timeout_seconds
        )

    @functools.cached_property
    def feedback(self) -> Any:
        from chalicelib.services.feedback import FeedbackService, Stores

        r = self.repos
        return FeedbackService(
            Stores(r.tickets, r.projects, r.executions, r.deliveries),
            lambda: self.tracker,
            self.workflow,
            lambda message: self.decisions.notify_channel(message),
            self.queues,
            jira_queue_url=self.settings.jira_queue_url,
            webhook_secret=lambda: jira_credentials()["webhookSecret"],
        )

    @functools.cached_property
    def defects(self) -> Any:
        from chalicelib.adapters.jira_tracker import JiraTracker
        from chalicelib.services.defects import DefectService

        def tracker() -> JiraTracker:
            creds = jira_credentials()
            return JiraTracker(
                creds["url"],
                creds["email"],
                creds["token"],
                timeout=self.settings.jira_timeout_seconds,
            )

        from chalicelib.services.defects import Stores

        r = self.repos
        return DefectService(
            Stores(r.tickets, r.projects, r.executions, r.attachments),
            tracker,
            self.blobs,
            self.workflow,
            lambda ticket, reason: self.decisions.tell_lead_jira_failed(ticket, reason),
            public_url=self.settings.public_url,
            search_lag_seconds=self.settings.jira_search_lag_seconds,
            max_attempts=self.settings.jira_max_attempts,
        )


def _clients(settings: Settings) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=50)
    s3_config = config.merge(Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    return {
        "dynamodb": session.client("dynamodb", config=config),
        "s3": session.client("s3", config=s3_config),
        "stepfunctions": session.client("stepfunctions", config=config),
        "sqs": session.client("sqs", config=config),
    }


def secret(value_env: str, secret_env: str) -> str:
    """A secret given directly (local stack, tests) or named in Secrets Manager (AWS), fetched
    through Powertools parameters and cached for five minutes. Never logged."""
    import os

    if os.environ.get(value_env):
        return os.environ[value_env]
    name = os.environ.get(secret_env)
    if not name:
        return ""
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(name, max_age=300))


def approval_signer() -> Any:
    from chalicelib import settings as names
    from chalicelib.domain.approval_tokens import ApprovalSigner

    spec = secret(names.APPROVAL_KEYS, names.APPROVAL_KEYS_SECRET)
    if not spec:
        raise RuntimeError(f"set {names.APPROVAL_KEYS} or {names.APPROVAL_KEYS_SECRET}")
    return ApprovalSigner.from_spec(spec)


def slack_config() -> dict[str, str]:
    import json
    import os

    from chalicelib import settings as names

    stored = secret("", names.SLACK_SECRET)
    config = json.loads(stored) if stored else {}
    return {
        "webhookUrl": os.environ.get(names.SLACK_WEBHOOK_URL) or config.get("webhookUrl", ""),
        "botToken": os.environ.get(names.SLACK_BOT_TOKEN) or config.get("botToken", ""),
        "apiUrl": os.environ.get(names.SLACK_API_URL, ""),
        "signingSecret": os.environ.get(names.SLACK_SIGNING_SECRET)
        or config.get("signingSecret", ""),
    }


def jira_credentials() -> dict[str, str]:
    """Jira's URL, user and API token: from the environment locally, from Secrets Manager on AWS
    (through Powertools parameters, cached). Never logged."""
    import json
    import os

    from chalicelib import settings as names

    stored = secret("", names.JIRA_SECRET)
    config = json.loads(stored) if stored else {}
    return {
        "url": os.environ.get(names.JIRA_URL) or config.get("url", ""),
        "email": os.environ.get(names.JIRA_EMAIL) or config.get("email", ""),
        "token": os.environ.get(names.JIRA_TOKEN) or config.get("token", ""),
        "webhookSecret": os.environ.get(names.JIRA_WEBHOOK_SECRET)
        or config.get("webhookSecret", ""),
    }


@functools.lru_cache(maxsize=1)
def container() -> Container:
    import json

    from chalicelib.adapters.dynamo import Repositories
    from chalicelib.adapters.dynamo.table import Cursors
    from chalicelib.adapters.s3 import Blobs
    from chalicelib.adapters.workflow import Workflow
    from chalicelib.observability import count, tracer
    from chalicelib.services import ingest, tickets
    from chalicelib.services.access import AccessService
    from chalicelib.services.ingest import ResultsService
    from chalicelib.services.tickets import TicketService
    from chalicelib.services.uploads import UploadService

    tracer()  # on Lambda: X-Ray segments for every boto3 call (patched once); locally: off
    settings = Settings.from_env()
    clients = _clients(settings)
    r = Repositories.over(clients["dynamodb"], settings.table_name)
    blobs = Blobs(clients["s3"], settings.bucket_name)
    workflow = Workflow(clients["stepfunctions"], settings.state_machine_arn)
    access = AccessService(r.projects, r.api_keys, cache_seconds=settings.key_cache_seconds)
    results = ResultsService(
        ingest.Stores(r.tickets, r.filing, r.scenarios, r.executions, r.projects),
        workflow,
        count=count,
        tell_jira=lambda task: clients["sqs"].send_message(
            QueueUrl=settings.jira_queue_url, MessageBody=json.dumps(task)
        ),
        regression_window_days=settings.regression_window_days,
    )
    return Container(
        settings=settings,
        repos=r,
        blobs=blobs,
        workflow=workflow,
        access=access,
        results=results,
        tickets=TicketService(
            tickets.Stores(r.tickets, r.scenarios, r.executions, r.attachments, r.projects),
            blobs,
            Cursors(),
        ),
        uploads=UploadService(r.uploads, blobs, access, results),
        clients=clients,
    )


def reset() -> None:
    container.cache_clear()
