"""The services of test management and the change stream's read models (metrics, exports,
pages, reports, audit), wired over the adapters (`AdapterWiring`)."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the classes for the fields' types; the modules are imported when used
    from chalicelib.services.access import AccessService
    from chalicelib.services.audit import AuditService
    from chalicelib.services.changes import ChangeFeed
    from chalicelib.services.environments import EnvironmentService
    from chalicelib.services.exports import ExportService
    from chalicelib.services.flaky import FlakyService
    from chalicelib.services.metrics import MetricsService
    from chalicelib.services.pages import PageService
    from chalicelib.services.plans import PlanService
    from chalicelib.services.remembered import TestCaseVersions
    from chalicelib.services.reports import ReportService
    from chalicelib.services.requirements import RequirementService
    from chalicelib.services.run_progress import RunProgress
    from chalicelib.services.testcase_imports import TestCaseImports
    from chalicelib.services.testcases import TestCaseService


from chalicelib.bootstrap.adapters import AdapterWiring


class CatalogueWiring(AdapterWiring):
    """Access, test management, the read models and the change-stream readers."""

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
    def test_cases(self) -> TestCaseService:
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.testcases import TestCaseService

        r = self.repos
        return TestCaseService(
            r.test_cases,
            r.requirements,
            Cursors(),
            versions_moved=self.test_case_versions.forget,
        )

    @functools.cached_property
    def test_case_versions(self) -> TestCaseVersions:
        """The versions test cases run at, remembered by this container (reports of known test
        cases read no heads); `test_cases` makes it forget a project it changed."""
        from chalicelib.services.remembered import TestCaseVersions

        return TestCaseVersions()

    @functools.cached_property
    def test_case_imports(self) -> TestCaseImports:
        """Large test-case files through a presigned upload (the reports queue's S3 events)."""
        from chalicelib.services.testcase_imports import TestCaseImports

        r = self.repos
        return TestCaseImports(r.uploads, r.test_case_imports, self.blobs, self.test_cases)

    @functools.cached_property
    def run_progress(self) -> RunProgress:
        from chalicelib.services.run_progress import RunProgress

        return RunProgress(self.repos.runs)

    @functools.cached_property
    def environments(self) -> EnvironmentService:
        """Environments, their snapshots and reservations. `current_snapshot(project, envId)`
        is what a run records of the environment it ran on."""
        from chalicelib.adapters.dynamo.table import Cursors
        from chalicelib.services.environments import EnvironmentService

        return EnvironmentService(
            self.repos.environments, Cursors(), changed=self.access.forget_project
        )

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
    def flaky(self) -> FlakyService:
        """Flaky test cases across runs and quarantines; its reader keeps the histories."""
        from chalicelib.services.flaky import FlakyService

        r = self.repos
        return FlakyService(
            r.flaky, r.projects, r.scenarios, forget_project=self.access.forget_project
        )

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

    @functools.cached_property
    def changes(self) -> ChangeFeed:
        """The change stream's readers. Metrics, exports and audit register here."""
        from chalicelib.observability import count
        from chalicelib.services.audit import AuditReader
        from chalicelib.services.changes import ChangeFeed, CountingReader
        from chalicelib.services.coverage import CoverageReader
        from chalicelib.services.pages import PageFeedReader

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
