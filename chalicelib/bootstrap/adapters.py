"""The adapters of the container (`chalicelib.bootstrap`): AWS, Slack, Jira, signers, retry
policies and the signed links services hand out, each built on first access."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

from chalicelib import settings as config
from chalicelib.settings import Settings

if TYPE_CHECKING:  # the classes for the fields' types; the modules are imported when used
    from chalicelib.adapters.aws import Clients
    from chalicelib.adapters.dynamo import Repositories
    from chalicelib.adapters.jira.client import JiraTracker
    from chalicelib.adapters.s3 import Blobs
    from chalicelib.adapters.slack.notifier import SlackNotifier
    from chalicelib.adapters.slack.signature import SlackRequestVerifier
    from chalicelib.adapters.sqs import Queues
    from chalicelib.adapters.workflow import Workflow
    from chalicelib.domain.approval_tokens import ApprovalSigner
    from chalicelib.domain.delivery import RetryPolicy
    from chalicelib.domain.page_links import PageSigner


class AdapterWiring:
    """Every adapter, each a property built on first access and kept."""

    def __init__(self, settings: Settings, clients: Clients | None = None) -> None:
        from chalicelib.adapters.aws import Clients

        self.settings = settings
        self.clients = clients if clients is not None else Clients()

    @functools.cached_property
    def repos(self) -> Repositories:
        from chalicelib.adapters.dynamo import Repositories

        return Repositories.over(self.clients.lazy("dynamodb"), self.settings.table_name)

    @functools.cached_property
    def blobs(self) -> Blobs:
        from chalicelib.adapters.s3 import Blobs

        return Blobs(self.clients.lazy("s3"), self.settings.bucket_name)

    @functools.cached_property
    def workflow(self) -> Workflow:
        from chalicelib.adapters.workflow import Workflow

        return Workflow(self.clients.lazy("stepfunctions"), self.settings.state_machine_arn)

    @functools.cached_property
    def queues(self) -> Queues:
        from chalicelib.adapters.sqs import Queues

        return Queues(self.clients.lazy("sqs"))

    @functools.cached_property
    def slack(self) -> SlackNotifier:
        from chalicelib.adapters.slack.notifier import SlackNotifier

        slack = config.slack_config()
        return SlackNotifier(slack.webhook_url, slack.bot_token, slack.api_url)

    @functools.cached_property
    def slack_requests(self) -> SlackRequestVerifier:
        from chalicelib.adapters.slack.signature import SlackRequestVerifier

        return SlackRequestVerifier(lambda: config.slack_config().signing_secret)

    @functools.cached_property
    def tracker(self) -> JiraTracker:
        from chalicelib.adapters.jira.client import JiraTracker

        creds = config.jira_credentials()
        return JiraTracker(
            creds.url, creds.email, creds.token, timeout=self.settings.jira_timeout_seconds
        )

    @functools.cached_property
    def signer(self) -> ApprovalSigner:
        from chalicelib.domain.approval_tokens import ApprovalSigner

        return ApprovalSigner.from_spec(config.approval_keys())

    @functools.cached_property
    def page_signer(self) -> PageSigner:
        """View links and browser sessions: keys derived from the approval keys."""
        from chalicelib.domain.page_links import PageSigner

        return PageSigner.from_spec(config.approval_keys())

    @functools.cached_property
    def jira_policy(self) -> RetryPolicy:
        from chalicelib.domain.delivery import RetryPolicy

        s = self.settings
        return RetryPolicy(
            s.jira_retry_budget_seconds,
            s.backoff_base_seconds,
            s.backoff_cap_seconds,
            s.delay_notice_seconds,
        )

    @functools.cached_property
    def slack_policy(self) -> RetryPolicy:
        from chalicelib.domain.delivery import RetryPolicy

        s = self.settings
        return RetryPolicy(
            s.slack_retry_budget_seconds,
            s.backoff_base_seconds,
            s.backoff_cap_seconds,
            s.delay_notice_seconds,
        )

    def _lead_view_link(
        self, project: str, lead: str, ticket_id: str | None, page: str = "ticket"
    ) -> str:
        from chalicelib.domain.page_links import link_url

        return link_url(
            self.page_signer,
            self.settings.public_url,
            project=project,
            role="lead",
            user=lead,
            page=page,
            ident=ticket_id,
            expires_at=int(time.time()) + self.settings.view_link_seconds,
        )

    def _lead_drafts_link(self, project: str, lead: str) -> str:
        return self._lead_view_link(project, lead, None, page="drafts")

    def _viewer_link(self, project: str, page: str, ident: str | None) -> str:
        """A view link for whoever reads the team's channel (role viewer)."""
        from chalicelib.domain.page_links import link_url

        return link_url(
            self.page_signer,
            self.settings.public_url,
            project=project,
            role="viewer",
            user="slack-channel",
            page=page,
            ident=ident,
            expires_at=int(time.time()) + self.settings.view_link_seconds,
        )
