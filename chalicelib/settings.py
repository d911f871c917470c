"""Configuration: every environment variable failbridge reads is named and read here, and only
here; secrets (approval keys, Slack, Jira) are read here too, from the environment or from
Secrets Manager through Powertools parameters (cached five minutes), when first needed."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

TABLE_NAME = "FAILBRIDGE_TABLE"
BUCKET_NAME = "FAILBRIDGE_BUCKET"
# The reports queue: S3 notifications arrive on it, and a large upload hands its chunks to it.
REPORTS_QUEUE_URL = "FAILBRIDGE_REPORTS_QUEUE_URL"
WORKFLOW_QUEUE_URL = "FAILBRIDGE_WORKFLOW_QUEUE_URL"
JIRA_QUEUE_URL = "FAILBRIDGE_JIRA_QUEUE_URL"
STATE_MACHINE_ARN = "FAILBRIDGE_STATE_MACHINE_ARN"
PUBLIC_URL = "FAILBRIDGE_PUBLIC_URL"
KEY_CACHE_SECONDS = "FAILBRIDGE_KEY_CACHE_SECONDS"
# Secrets: either the value itself (local stack, tests) or the name of a Secrets Manager secret
# holding it (AWS), read through Powertools parameters and cached.
APPROVAL_KEYS = "FAILBRIDGE_APPROVAL_KEYS"  # kid:secret[,kid:secret]; the first signs
APPROVAL_KEYS_SECRET = "FAILBRIDGE_APPROVAL_KEYS_SECRET"
SLACK_WEBHOOK_URL = "FAILBRIDGE_SLACK_WEBHOOK_URL"
SLACK_BOT_TOKEN = "FAILBRIDGE_SLACK_BOT_TOKEN"
SLACK_API_URL = "FAILBRIDGE_SLACK_API_URL"
SLACK_SECRET = "FAILBRIDGE_SLACK_SECRET"  # JSON {"webhookUrl"|"botToken", "signingSecret"}
SLACK_SIGNING_SECRET = "FAILBRIDGE_SLACK_SIGNING_SECRET"
DIGEST_SECONDS = "FAILBRIDGE_DIGEST_SECONDS"
JIRA_URL = "FAILBRIDGE_JIRA_URL"
JIRA_EMAIL = "FAILBRIDGE_JIRA_EMAIL"
JIRA_TOKEN = "FAILBRIDGE_JIRA_TOKEN"
JIRA_SECRET = "FAILBRIDGE_JIRA_SECRET"  # JSON {"url", "email", "token"} in Secrets Manager
JIRA_TIMEOUT_SECONDS = "FAILBRIDGE_JIRA_TIMEOUT_SECONDS"
# ... or "webhookSecret" in the FAILBRIDGE_JIRA_SECRET secret
JIRA_WEBHOOK_SECRET = "FAILBRIDGE_JIRA_WEBHOOK_SECRET"
JIRA_SEARCH_LAG_SECONDS = "FAILBRIDGE_JIRA_SEARCH_LAG_SECONDS"
# Outages: deliveries to Jira and Slack are budgeted in time (see domain/delivery.py). The fault
# suite compresses time through these.
JIRA_RETRY_BUDGET_SECONDS = "FAILBRIDGE_JIRA_RETRY_BUDGET_SECONDS"
SLACK_RETRY_BUDGET_SECONDS = "FAILBRIDGE_SLACK_RETRY_BUDGET_SECONDS"
BACKOFF_BASE_SECONDS = "FAILBRIDGE_BACKOFF_BASE_SECONDS"
BACKOFF_CAP_SECONDS = "FAILBRIDGE_BACKOFF_CAP_SECONDS"
DELAY_NOTICE_SECONDS = "FAILBRIDGE_DELAY_NOTICE_SECONDS"
JIRA_CIRCUIT_FAILURES = "FAILBRIDGE_JIRA_CIRCUIT_FAILURES"
JIRA_PROBE_SECONDS = "FAILBRIDGE_JIRA_PROBE_SECONDS"
REVOCATION_SECONDS = "FAILBRIDGE_REVOCATION_SECONDS"
BUILD_QUEUE_URL = "FAILBRIDGE_BUILD_QUEUE_URL"  # reports to build (PDF, HTML, CSV)
VIEW_LINK_SECONDS = "FAILBRIDGE_VIEW_LINK_SECONDS"  # view links in Slack messages
AUDIT_RETENTION_DAYS = "FAILBRIDGE_AUDIT_RETENTION_DAYS"  # audit entries expire (TTL) after

# Queue names are fixed because Chalice wires SQS event sources by name at package time.
REPORTS_QUEUE_NAME = "failbridge-reports"
WORKFLOW_QUEUE_NAME = "failbridge-workflow"
JIRA_QUEUE_NAME = "failbridge-jira"
BUILD_QUEUE_NAME = "failbridge-build"
# The table's change stream. Chalice wants an ARN at package time: this placeholder is replaced by
# the table's StreamArn in the merge template (infra/build.py), and the local pump finds the
# stream from the table itself.
CHANGE_STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/failbridge/stream/packaged-by-infra-build"
)

# Limits enforced by our own code (API Gateway allows 10 MB, Lambda 6 MB synchronous).
MAX_JSON_BODY_BYTES = 1 * 1024 * 1024
MAX_JUNIT_BODY_BYTES = 5 * 1024 * 1024
MAX_IMPORT_BODY_BYTES = 5 * 1024 * 1024  # a test case import sent directly (CSV or JSON)
MAX_RESULTS_PER_REQUEST = 1000
# An uploaded report read whole (JSON, TAP, the other formats); JUnit is streamed (bounded memory
# whatever its size, docs/scale.md), so its limit is the split's time, not memory.
MAX_UPLOAD_REPORT_BYTES = 50 * 1024 * 1024
MAX_STREAMED_REPORT_BYTES = 200 * 1024 * 1024  # JUnit: measured by bench.junit_upload
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
EVIDENCE_CONTENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/html",
    "application/json",
    "application/xml",
    "application/zip",
    "application/gzip",
    "video/mp4",
    "video/webm",
)
PRESIGN_SECONDS = 900


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    workflow_queue_url: str
    state_machine_arn: str
    public_url: str
    key_cache_seconds: float = 60.0
    digest_seconds: int = 60
    jira_queue_url: str = ""
    reports_queue_url: str = ""
    jira_timeout_seconds: float = 10.0
    jira_search_lag_seconds: int = 30
    jira_retry_budget_seconds: float = 86_400.0
    slack_retry_budget_seconds: float = 86_400.0
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 900.0
    delay_notice_seconds: float = 300.0
    jira_circuit_failures: int = 3
    jira_probe_seconds: float = 60.0
    revocation_seconds: float = 5.0
    regression_window_days: float = 14.0
    build_queue_url: str = ""
    view_link_seconds: int = 7 * 24 * 3600
    audit_retention_days: int = 400

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            table_name=env.get(TABLE_NAME, "failbridge"),
            bucket_name=env.get(BUCKET_NAME, "failbridge"),
            workflow_queue_url=env.get(WORKFLOW_QUEUE_URL, ""),
            state_machine_arn=env.get(STATE_MACHINE_ARN, ""),
            public_url=env.get(PUBLIC_URL, "http://127.0.0.1:8000").rstrip("/"),
            key_cache_seconds=float(env.get(KEY_CACHE_SECONDS, "60")),
            digest_seconds=min(900, int(env.get(DIGEST_SECONDS, "60"))),
            jira_queue_url=env.get(JIRA_QUEUE_URL, ""),
            reports_queue_url=env.get(REPORTS_QUEUE_URL, ""),
            jira_timeout_seconds=float(env.get(JIRA_TIMEOUT_SECONDS, "10")),
            jira_search_lag_seconds=int(env.get(JIRA_SEARCH_LAG_SECONDS, "30")),
            jira_retry_budget_seconds=float(env.get(JIRA_RETRY_BUDGET_SECONDS, "86400")),
            slack_retry_budget_seconds=float(env.get(SLACK_RETRY_BUDGET_SECONDS, "86400")),
            backoff_base_seconds=float(env.get(BACKOFF_BASE_SECONDS, "2")),
            backoff_cap_seconds=min(900.0, float(env.get(BACKOFF_CAP_SECONDS, "900"))),
            delay_notice_seconds=float(env.get(DELAY_NOTICE_SECONDS, "300")),
            jira_circuit_failures=int(env.get(JIRA_CIRCUIT_FAILURES, "3")),
            jira_probe_seconds=float(env.get(JIRA_PROBE_SECONDS, "60")),
            revocation_seconds=float(env.get(REVOCATION_SECONDS, "5")),
            build_queue_url=env.get(BUILD_QUEUE_URL, ""),
            view_link_seconds=int(env.get(VIEW_LINK_SECONDS, str(7 * 24 * 3600))),
            audit_retention_days=int(env.get(AUDIT_RETENTION_DAYS, "400")),
        )


def secret(value_env: str, secret_env: str) -> str:
    """A secret given directly (local stack, tests) or named in Secrets Manager (AWS), fetched
    through Powertools parameters and cached for five minutes. Never logged."""
    if value_env and os.environ.get(value_env):
        return os.environ[value_env]
    name = os.environ.get(secret_env)
    if not name:
        return ""
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(name, max_age=300))


def _stored_json(secret_env: str) -> dict[str, str]:
    stored = secret("", secret_env)
    return dict(json.loads(stored)) if stored else {}


def approval_keys() -> str:
    """The approval-link keys, `kid:secret[,kid:secret]` (the first signs; all verify)."""
    spec = secret(APPROVAL_KEYS, APPROVAL_KEYS_SECRET)
    if not spec:
        raise RuntimeError(f"set {APPROVAL_KEYS} or {APPROVAL_KEYS_SECRET}")
    return spec


@dataclass(frozen=True)
class SlackConfig:
    webhook_url: str = ""
    bot_token: str = field(default="", repr=False)
    api_url: str = ""
    signing_secret: str = field(default="", repr=False)


def slack_config() -> SlackConfig:
    """Where to send (webhook URL or bot token) and the signing secret of Slack's requests: each
    from its variable, else from the FAILBRIDGE_SLACK_SECRET secret."""
    stored = _stored_json(SLACK_SECRET)
    env = os.environ
    return SlackConfig(
        webhook_url=env.get(SLACK_WEBHOOK_URL) or stored.get("webhookUrl", ""),
        bot_token=env.get(SLACK_BOT_TOKEN) or stored.get("botToken", ""),
        api_url=env.get(SLACK_API_URL, ""),
        signing_secret=env.get(SLACK_SIGNING_SECRET) or stored.get("signingSecret", ""),
    )


@dataclass(frozen=True)
class JiraCredentials:
    url: str = ""
    email: str = ""
    token: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)


def jira_credentials() -> JiraCredentials:
    """Jira's URL, user, API token and webhook secret: from the environment locally, from the
    FAILBRIDGE_JIRA_SECRET secret on AWS. Never logged."""
    stored = _stored_json(JIRA_SECRET)
    env = os.environ
    return JiraCredentials(
        url=env.get(JIRA_URL) or stored.get("url", ""),
        email=env.get(JIRA_EMAIL) or stored.get("email", ""),
        token=env.get(JIRA_TOKEN) or stored.get("token", ""),
        webhook_secret=env.get(JIRA_WEBHOOK_SECRET) or stored.get("webhookSecret", ""),
    )
