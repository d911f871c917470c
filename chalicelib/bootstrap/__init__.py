"""The one wiring place: adapters and services, each built once per container and only when first
used. boto3 clients are created on their first call (`adapters.aws.Clients`), so a cold start pays
only for what its invocation touches; secrets are read through `chalicelib.settings`.

Tests call `reset()` after changing the environment; everything else calls `container()`."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from chalicelib import settings as config
from chalicelib.bootstrap.catalogue import CatalogueWiring
from chalicelib.settings import Settings

if TYPE_CHECKING:  # the classes for the fields' types; the modules are imported when used
    from chalicelib.services.cluster_links import ClusterLinks
    from chalicelib.services.clusters import ClusterService
    from chalicelib.services.decisions import DecisionService
    from chalicelib.services.defects import DefectService
    from chalicelib.services.feedback import FeedbackService
    from chalicelib.services.ingest import ResultsService
    from chalicelib.services.jira_mapping import JiraMappingService
    from chalicelib.services.mapping import MappingService
    from chalicelib.services.runs import RunService
    from chalicelib.services.tickets import TicketService
    from chalicelib.services.uploads import UploadService
    from chalicelib.services.waiting import WaitingDrafts


class Container(CatalogueWiring):
    """Every adapter and service, each a property built on first access and kept: the adapters
    in `bootstrap/adapters.py`, test management and the read models in `bootstrap/catalogue.py`,
    the defect flow here."""

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
            start_later=self.queues.to(self.settings.workflow_queue_url).send,
            regression_window_days=self.settings.regression_window_days,
            blobs=self.blobs,
            catalog=self.test_cases,
            # the cluster service is built when a failure first needs it, not for a pass
            place=lambda project, ticket, seen: self.clusters.place(project, ticket, seen),
            approved_as=lambda *args: self.clusters.approved_as(*args),
            reserve=lambda project, ticket, seen: self.clusters.reserve(project, ticket, seen),
            progress=self.run_progress,
            environment_snapshot=self._environment_snapshot,
            versions=self.test_case_versions,
        )

    def _environment_snapshot(self, project: str, env_id: str) -> dict[str, Any] | None:
        """What a reported run records of a registered environment (None: not registered)."""
        from chalicelib.errors import NotFound

        try:
            return self.environments.current_snapshot(project, env_id)
        except NotFound:
            return None

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


@functools.lru_cache(maxsize=1)
def container() -> Container:
    from chalicelib.observability import start_tracing

    start_tracing()  # X-Ray subsegments for every boto3 call, when FAILBRIDGE_TRACE_CALLS is on
    return Container(Settings.from_env())


def reset() -> None:
    container.cache_clear()
