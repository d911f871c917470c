"""DynamoDB: one table, one repository per aggregate over shared table primitives
(`table.py`), every key built in `keys.py` (its docstring is the key table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
from chalicelib.adapters.dynamo.table import Table
from chalicelib.adapters.dynamo.testcases import RequirementRepository, TestCaseRepository
from chalicelib.adapters.dynamo.tickets import TicketRepository
from chalicelib.adapters.dynamo.uploads import (
    AttachmentRepository,
    DeliveryRepository,
    TestCaseImportLedger,
    UploadRepository,
)


@dataclass(frozen=True)
class Repositories:
    """Every repository over one table. Services take only the ones they use."""

    table: Table
    projects: ProjectRepository
    api_keys: ApiKeyRepository
    tickets: TicketRepository
    filing: FilingRepository
    scenarios: ScenarioRepository
    executions: ExecutionRepository
    outbox: OutboxRepository
    nonces: NonceRepository
    uploads: UploadRepository
    attachments: AttachmentRepository
    deliveries: DeliveryRepository
    circuits: CircuitRepository
    delays: DelayNoticeRepository
    metrics: MetricsStore
    gates: GateRepository
    exports: ExportStore
    test_cases: TestCaseRepository
    test_case_imports: TestCaseImportLedger
    requirements: RequirementRepository
    page_feed: PageFeed
    reports: ReportStore
    clusters: ClusterRepository
    environments: EnvironmentRepository
    audit: AuditLog
    flaky: FlakyStore

    plans: PlanRepository
    runs: RunRepository

    @classmethod
    def over(cls, client: Any, table_name: str) -> Repositories:
        table = Table(client, table_name)
        return cls(
            table=table,
            projects=ProjectRepository(table),
            api_keys=ApiKeyRepository(table),
            tickets=TicketRepository(table),
            filing=FilingRepository(table),
            scenarios=ScenarioRepository(table),
            executions=ExecutionRepository(table),
            outbox=OutboxRepository(table),
            nonces=NonceRepository(table),
            uploads=UploadRepository(table),
            attachments=AttachmentRepository(table),
            deliveries=DeliveryRepository(table),
            circuits=CircuitRepository(table),
            delays=DelayNoticeRepository(table),
            metrics=MetricsStore(table),
            gates=GateRepository(table),
            exports=ExportStore(table),
            test_cases=TestCaseRepository(table),
            test_case_imports=TestCaseImportLedger(table),
            requirements=RequirementRepository(table),
            page_feed=PageFeed(table),
            reports=ReportStore(table),
            clusters=ClusterRepository(table),
            environments=EnvironmentRepository(table),
            audit=AuditLog(table),
            flaky=FlakyStore(table),
            plans=PlanRepository(table),
            runs=RunRepository(table),
        )
