"""The one wiring place: adapters and services, each built once per container and only when first
used. boto3 clients are created on their first call (`adapters.aws.Clients`), so a cold start pays
only for what its invocation touches; secrets are read through `chalicelib.settings`.

Tests call `reset()` after changing the environment; everything else calls `container()`."""

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
    from chalicelib.services.access import AccessService
    from chalicelib.services.audit import AuditService
    from chalicelib.services.changes import ChangeFeed
    from chalicelib.services.cluster_links import ClusterLinks
    from chalicelib.services.clusters import ClusterService
    from chalicelib.services.decisions import DecisionService
    from chalicelib.services.defects import DefectService
    from chalicelib.services.environments import EnvironmentService
    from chalicelib.services.exports import ExportService
    from chalicelib.services.feedback import FeedbackService
    from chalicelib.services.flaky import FlakyService
    from chalicelib.services.ingest import ResultsService
    from chalicelib.services.jira_mapping import JiraMappingService
    from chalicelib.services.mapping import MappingService
    from chalicelib.services.metrics import MetricsService
    from chalicelib.services.pages import PageService
    from chalicelib.services.plans import PlanService
    from chalicelib.services.reports import ReportService
    from chalicelib.services.requirements import RequirementService
    from chalicelib.services.runs import RunProgress, RunService
    from chalicelib.services.testcase_imports import TestCaseImports
    from chalicelib.services.testcases import TestCaseService
    from chalicelib.services.tickets import TicketService
    from chalicelib.services.uploads import UploadService
    from chalicelib.services.waiting import WaitingDrafts


class Container:
    """Every adapter and service, each a property built on first access and kept."""

    def __init__(self, settings: Settings, clients: Clients | None = None) -> None:
        from chalicelib.adapters.aws import Clients

        self.settings = settings
        self.clients = clients if clients is not None else Clients()

    # -- adapters ------------------------------------------------------------------------------

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

    # -- services ------------------------------------------------------------------------------

    @functools.cached_property
    def access(self) -> AccessService:
        from chalicelib.services.access import AccessService

        r = self.repos
        return AccessService(
            r.projects,
            r.api_keys,
            cache_seconds=self.settings.key_cache_seconds,
            revocation_seconds=self.settings.revocation_seconds,
        )

    @functools.cached_property
    def results(self) -> ResultsService:
        from chalicelib.observability import count
        from chalicelib.services.ingest import ResultsService, Stores

        r = self.repos
        return ResultsService(
            Stores(r.tickets, r.filing, r.scenarios, r.executions, r.projects),
            self.workflow,
            count=count,
            tell_jira=self.queues.to(self.settings.jira_queue_url).send,
            regression_window_days=self.settings.regression_window_days,
            blobs=self.blobs,
            catalog=self.test_cases,
            # the cluster service is built when a failure first needs it, not for a pass
            place=lambda project, ticket, seen: self.clusters.place(project, ticket, seen),
            approved_as=lambda *args: self.clusters.approved_as(*args),
            reserve=lambda project, ticket, seen: self.clusters.reserve(project, ticket, seen),
            progress=self.run_progress,
        )

    @functools.cached_property
    def clusters(self) -> ClusterService:
        from chalicelib.services.clusters import ClusterService, Stores

        r = self.repos
        return ClusterService(
            Stores(r.clusters, r.tickets, r.projects, r.test_cases), lambda: self.decisions
        )

    @functools.cached_property
    def cluster_links(self) -> ClusterLinks:
        """A root cause decided from Slack: its signed links and page."""
        from chalicelib.services.cluster_links import ClusterLinks

        return ClusterLinks(self.clusters, self.signer, self.repos.nonces)

    @functools.cached_property
    def flaky(self) -> FlakyService:
        """Flaky test cases across runs and quarantines; its reader keeps the histories."""
        from chalicelib.services.flaky import FlakyService

        r = self.repos
        return FlakyService(
            r.flaky, r.projects, r.scenarios, forget_project=self.access.forget_project
        )

    @functools.cached_property
    def run_progress(self) -> RunProgress:
        from chalicelib.services.runs import RunProgress

        return RunProgress(self.repos.runs)

    @functools.cached_property
    def plans(self) -> PlanService:
        """Test plans; their entry and exit criteria are evaluated by the quality gates."""
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.plans import PlanService, Stores

        r = self.repos
        return PlanService(
            Stores(r.plans, r.projects, r.test_cases),
            lambda project, gates, run_id: self.metrics.validate(
                project,
                gates=gates,
                saved=None,
                run_id=run_id,
                module=None,
                start=None,
                end=None,
            ),
            Cursors(),
        )

    @functools.cached_property
    def runs(self) -> RunService:
        """Planned runs: manual results go through `results` (the one recording path)."""
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.runs import RunService, Stores

        r = self.repos
        return RunService(
            Stores(r.runs, r.test_cases, r.projects),
            self.results,
            self.plans,
            self.run_progress,
            Cursors(),
            environments=self.environments,
        )

    @functools.cached_property
    def test_cases(self) -> TestCaseService:
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.testcases import TestCaseService

        r = self.repos
        return TestCaseService(r.test_cases, r.requirements, Cursors())

    @functools.cached_property
    def test_case_imports(self) -> TestCaseImports:
        """Large test-case files through a presigned upload (the reports queue's S3 events)."""
        from chalicelib.services.testcase_imports import TestCaseImports

        r = self.repos
        return TestCaseImports(r.uploads, r.test_case_imports, self.blobs, self.test_cases)

    @functools.cached_property
    def requirements(self) -> RequirementService:
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.requirements import RequirementService, Stores

        r = self.repos
        return RequirementService(
            Stores(r.requirements, r.projects, r.scenarios, r.tickets),
            lambda: self.tracker,
            Cursors(),
            r.test_cases,
            gate=self.metrics.scope_verdict,
        )

    @functools.cached_property
    def tickets(self) -> TicketService:
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.tickets import Stores, TicketService

        r = self.repos
        return TicketService(
            Stores(r.tickets, r.scenarios, r.executions, r.attachments, r.projects),
            self.blobs,
            Cursors(),
        )

    @functools.cached_property
    def mapping(self) -> MappingService:
        from chalicelib.services.mapping import MappingService

        return MappingService(self.repos.projects, self.access)

    @functools.cached_property
    def uploads(self) -> UploadService:
        from chalicelib.services.uploads import UploadService

        return UploadService(
            self.repos.uploads,
            self.blobs,
            self.access,
            self.results,
            chunks=self.queues.to(self.settings.reports_queue_url),
        )

    @functools.cached_property
    def decisions(self) -> DecisionService:
        """Needs the approval keys and Slack, which reading tickets does not."""
        from chalicelib.adapters.slack import messages
        from chalicelib.services.decisions import DecisionService, Stores

        r = self.repos
        return DecisionService(
            Stores(r.tickets, r.projects, r.outbox, r.nonces, r.delays),
            self.workflow,
            self.signer,
            self.slack,
            self.queues.to(self.settings.workflow_queue_url),
            messages,
            public_url=self.settings.public_url,
            digest_seconds=self.settings.digest_seconds,
            view_link=self._lead_view_link,
            drafts_link=self._lead_drafts_link,
        )

    @functools.cached_property
    def waiting(self) -> WaitingDrafts:
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.waiting import WaitingDrafts

        return WaitingDrafts(self.repos.tickets, self.decisions, Cursors())

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

    @functools.cached_property
    def feedback(self) -> FeedbackService:
        from chalicelib.adapters.jira.webhook import verify_signature
        from chalicelib.services.feedback import FeedbackService, Stores

        r = self.repos
        return FeedbackService(
            Stores(r.tickets, r.projects, r.executions, r.deliveries),
            lambda: self.tracker,
            self.workflow,
            lambda message: self.decisions.notify_channel(message),
            self.queues,
            jira_queue_url=self.settings.jira_queue_url,
            webhook_secret=lambda: config.jira_credentials().webhook_secret,
            verify_signature=verify_signature,
        )

    @functools.cached_property
    def jira_mapping(self) -> JiraMappingService:
        from chalicelib.adapters.jira import issues
        from chalicelib.services.jira_mapping import JiraMappingService

        return JiraMappingService(self.repos.projects, lambda: self.tracker, issues)

    @functools.cached_property
    def defects(self) -> DefectService:
        from chalicelib.adapters.jira import issues
        from chalicelib.services.defects import DefectService, Stores

        r = self.repos
        return DefectService(
            Stores(r.tickets, r.projects, r.executions, r.attachments, r.circuits, r.delays),
            lambda: self.tracker,
            issues,
            self.blobs,
            self.workflow,
            self.decisions,
            public_url=self.settings.public_url,
            search_lag_seconds=self.settings.jira_search_lag_seconds,
            policy=self.jira_policy,
            circuit_failures=self.settings.jira_circuit_failures,
            probe_seconds=self.settings.jira_probe_seconds,
            test_case=r.test_cases.get,
        )

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

    @functools.cached_property
    def changes(self) -> ChangeFeed:
        """The change stream's readers. Metrics, exports and audit register here."""
        from chalicelib.observability import count
        from chalicelib.services.audit import AuditReader
        from chalicelib.services.changes import ChangeFeed, CountingReader
        from chalicelib.services.pages import PageFeedReader
        from chalicelib.services.testcases import CoverageReader

        return ChangeFeed(
            [
                CountingReader(count),
                self.metrics.reader,
                self.exports.reader,
                CoverageReader(self.test_cases),
                PageFeedReader(self.repos.page_feed, time.time, self.repos.tickets),
                AuditReader(
                    self.repos.audit, self.repos.exports, self.settings.audit_retention_days
                ),
                self.flaky.reader,
            ]
        )

    @functools.cached_property
    def environments(self) -> EnvironmentService:
        """Environments, their snapshots and reservations. `current_snapshot(project, envId)`
        is what a run records of the environment it ran on."""
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.environments import EnvironmentService

        return EnvironmentService(self.repos.environments, Cursors())

    @functools.cached_property
    def audit(self) -> AuditService:
        """Who did what: the audit log the change stream's audit reader keeps."""
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.audit import AuditService

        return AuditService(self.repos.audit, Cursors())

    @functools.cached_property
    def metrics(self) -> MetricsService:
        """Metrics and quality gates; its reader keeps the aggregates from the change stream."""
        from chalicelib.adapters.dynamo.metrics import StoredHistory
        from chalicelib.services.metrics import MetricsService, Stores

        r = self.repos
        return MetricsService(
            Stores(r.metrics, r.gates, r.executions, r.projects),
            history=StoredHistory(r.table),
        )

    @functools.cached_property
    def exports(self) -> ExportService:
        """Exports for BI tools; its reader stages rows from the change stream (after the
        metrics reader, so a day's metrics_daily sees the aggregates of the same events)."""
        from chalicelib.services.exports import ExportService, Stores

        r = self.repos
        return ExportService(
            Stores(r.exports, r.tickets, r.projects, r.metrics),
            self.blobs,
            self.metrics.figures,
        )

    @functools.cached_property
    def pages(self) -> PageService:
        """What the browser pages show (reads only)."""
        from chalicelib.services.pages import PageService, Stores

        r = self.repos
        return PageService(
            Stores(r.tickets, r.executions, r.attachments, r.projects, r.page_feed, r.metrics),
            self.metrics,
            self.blobs,
            flaky_list=self.flaky.flaky,
        )

    @functools.cached_property
    def reports(self) -> ReportService:
        """Reports (PDF, HTML, CSV) built from the queue into S3; schedules to Slack."""
        from chalicelib.services.reports import ReportService, Stores
        from chalicelib.web import reports as documents

        r = self.repos
        return ReportService(
            Stores(r.reports, r.projects, r.tickets, r.executions),
            self.pages,
            self.blobs,
            self.queues.to(self.settings.build_queue_url).send,
            self.slack.send,
            documents,
            public_url=self.settings.public_url,
            view_link=self._viewer_link,
        )

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


@functools.lru_cache(maxsize=1)
def container() -> Container:
    from chalicelib.observability import start_tracing

    start_tracing()  # X-Ray subsegments for every boto3 call, when FAILBRIDGE_TRACE_CALLS is on
    return Container(Settings.from_env())


def reset() -> None:
    container.cache_clear()
