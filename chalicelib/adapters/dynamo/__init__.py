"""DynamoDB: one table, one repository per aggregate over shared table primitives
(`table.py`), every key built in `keys/` (its `__init__` docstring is the key table).

A repository's module is imported, and the repository built, when it is first used: a cold
start pays only for the repositories its request touches."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo.table import Table

if TYPE_CHECKING:
    from chalicelib.adapters.dynamo.audit import AuditLog
    from chalicelib.adapters.dynamo.clusters import ClusterRepository
    from chalicelib.adapters.dynamo.environments import EnvironmentRepository
    from chalicelib.adapters.dynamo.executions import ExecutionRepository
    from chalicelib.adapters.dynamo.exports import ExportStore
    from chalicelib.adapters.dynamo.filing import FilingRepository
    from chalicelib.adapters.dynamo.flaky import FlakyStore
    from chalicelib.adapters.dynamo.metrics import GateRepository, MetricsStore
    from chalicelib.adapters.dynamo.notifications import NonceRepository, OutboxRepository
    from chalicelib.adapters.dynamo.outages import CircuitRepository, DelayNoticeRepository
    from chalicelib.adapters.dynamo.pages import PageFeed, ReportStore
    from chalicelib.adapters.dynamo.plans import PlanRepository
    from chalicelib.adapters.dynamo.projects import ApiKeyRepository, ProjectRepository
    from chalicelib.adapters.dynamo.runs import RunRepository
    from chalicelib.adapters.dynamo.scenarios import ScenarioRepository
    from chalicelib.adapters.dynamo.testcases import RequirementRepository, TestCaseRepository
    from chalicelib.adapters.dynamo.tickets import TicketRepository
    from chalicelib.adapters.dynamo.uploads import (
        AttachmentRepository,
        DeliveryRepository,
        TestCaseImportLedger,
        UploadRepository,
    )


class Repositories:
    """Every repository over one table, each built on first use. Services take only the ones
    they use."""

    def __init__(self, table: Table) -> None:
        self.table = table

    @classmethod
    def over(cls, client: Any, table_name: str) -> Repositories:
        return cls(Table(client, table_name))

    @functools.cached_property
    def projects(self) -> ProjectRepository:
        from chalicelib.adapters.dynamo.projects import ProjectRepository

        return ProjectRepository(self.table)

    @functools.cached_property
    def api_keys(self) -> ApiKeyRepository:
        from chalicelib.adapters.dynamo.projects import ApiKeyRepository

        return ApiKeyRepository(self.table)

    @functools.cached_property
    def tickets(self) -> TicketRepository:
        from chalicelib.adapters.dynamo.tickets import TicketRepository

        return TicketRepository(self.table)

    @functools.cached_property
    def filing(self) -> FilingRepository:
        from chalicelib.adapters.dynamo.filing import FilingRepository

        return FilingRepository(self.table)

    @functools.cached_property
    def scenarios(self) -> ScenarioRepository:
        from chalicelib.adapters.dynamo.scenarios import ScenarioRepository

        return ScenarioRepository(self.table)

    @functools.cached_property
    def executions(self) -> ExecutionRepository:
        from chalicelib.adapters.dynamo.executions import ExecutionRepository

        return ExecutionRepository(self.table)

    @functools.cached_property
    def outbox(self) -> OutboxRepository:
        from chalicelib.adapters.dynamo.notifications import OutboxRepository

        return OutboxRepository(self.table)

    @functools.cached_property
    def nonces(self) -> NonceRepository:
        from chalicelib.adapters.dynamo.notifications import NonceRepository

        return NonceRepository(self.table)

    @functools.cached_property
    def uploads(self) -> UploadRepository:
        from chalicelib.adapters.dynamo.uploads import UploadRepository

        return UploadRepository(self.table)

    @functools.cached_property
    def attachments(self) -> AttachmentRepository:
        from chalicelib.adapters.dynamo.uploads import AttachmentRepository

        return AttachmentRepository(self.table)

    @functools.cached_property
    def deliveries(self) -> DeliveryRepository:
        from chalicelib.adapters.dynamo.uploads import DeliveryRepository

        return DeliveryRepository(self.table)

    @functools.cached_property
    def circuits(self) -> CircuitRepository:
        from chalicelib.adapters.dynamo.outages import CircuitRepository

        return CircuitRepository(self.table)

    @functools.cached_property
    def delays(self) -> DelayNoticeRepository:
        from chalicelib.adapters.dynamo.outages import DelayNoticeRepository

        return DelayNoticeRepository(self.table)

    @functools.cached_property
    def metrics(self) -> MetricsStore:
        from chalicelib.adapters.dynamo.metrics import MetricsStore

        return MetricsStore(self.table)

    @functools.cached_property
    def gates(self) -> GateRepository:
        from chalicelib.adapters.dynamo.metrics import GateRepository

        return GateRepository(self.table)

    @functools.cached_property
    def exports(self) -> ExportStore:
        from chalicelib.adapters.dynamo.exports import ExportStore

        return ExportStore(self.table)

    @functools.cached_property
    def test_cases(self) -> TestCaseRepository:
        from chalicelib.adapters.dynamo.testcases import TestCaseRepository

        return TestCaseRepository(self.table)

    @functools.cached_property
    def test_case_imports(self) -> TestCaseImportLedger:
        from chalicelib.adapters.dynamo.uploads import TestCaseImportLedger

        return TestCaseImportLedger(self.table)

    @functools.cached_property
    def requirements(self) -> RequirementRepository:
        from chalicelib.adapters.dynamo.testcases import RequirementRepository

        return RequirementRepository(self.table)

    @functools.cached_property
    def page_feed(self) -> PageFeed:
        from chalicelib.adapters.dynamo.pages import PageFeed

        return PageFeed(self.table)

    @functools.cached_property
    def reports(self) -> ReportStore:
        from chalicelib.adapters.dynamo.pages import ReportStore

        return ReportStore(self.table)

    @functools.cached_property
    def clusters(self) -> ClusterRepository:
        from chalicelib.adapters.dynamo.clusters import ClusterRepository

        return ClusterRepository(self.table)

    @functools.cached_property
    def environments(self) -> EnvironmentRepository:
        from chalicelib.adapters.dynamo.environments import EnvironmentRepository

        return EnvironmentRepository(self.table)

    @functools.cached_property
    def audit(self) -> AuditLog:
        from chalicelib.adapters.dynamo.audit import AuditLog

        return AuditLog(self.table)

    @functools.cached_property
    def flaky(self) -> FlakyStore:
        from chalicelib.adapters.dynamo.flaky import FlakyStore

        return FlakyStore(self.table)

    @functools.cached_property
    def plans(self) -> PlanRepository:
        from chalicelib.adapters.dynamo.plans import PlanRepository

        return PlanRepository(self.table)

    @functools.cached_property
    def runs(self) -> RunRepository:
        from chalicelib.adapters.dynamo.runs import RunRepository

        return RunRepository(self.table)
