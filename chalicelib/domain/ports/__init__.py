"""The ports services depend on: small Protocols, implemented by the adapters (DynamoDB, S3,
SQS, Step Functions, Jira, Slack) in production and by in-memory fakes in unit tests. A service
never imports an adapter."""

from __future__ import annotations

from chalicelib.domain.ports.access import (
    ApiKeyRepository,
    AttachmentRepository,
    DeliveryRepository,
    NonceRepository,
    OutboxRepository,
    ProjectRepository,
    UploadRepository,
)
from chalicelib.domain.ports.catalog import (
    RequirementRepository,
    StorySource,
    TestCaseImportLedger,
    TestCaseRepository,
    TestCatalog,
)
from chalicelib.domain.ports.core import (
    Clock,
    Counter,
    Cursor,
    Cursors,
    TransactItem,
)
from chalicelib.domain.ports.environments import EnvironmentRepository, EnvironmentSnapshots
from chalicelib.domain.ports.flaky import FlakyStore
from chalicelib.domain.ports.planning import PlanRepository, RunProgress, RunRepository
from chalicelib.domain.ports.readers import (
    AlreadyApplied,
    ExportStore,
    GateRepository,
    MetricsStore,
    PageFeed,
    ReportStore,
)
from chalicelib.domain.ports.systems import (
    Blobs,
    CircuitRepository,
    DelayNotices,
    IssueFormat,
    MessageFormat,
    Notifier,
    Queue,
    Tracker,
    Workflow,
)
from chalicelib.domain.ports.tickets import (
    ClusterRepository,
    ExecutionRepository,
    Filing,
    ScenarioRepository,
    TicketRepository,
)

__all__ = [
    "AlreadyApplied",
    "ApiKeyRepository",
    "AttachmentRepository",
    "Blobs",
    "CircuitRepository",
    "Clock",
    "ClusterRepository",
    "Counter",
    "Cursor",
    "Cursors",
    "DelayNotices",
    "DeliveryRepository",
    "EnvironmentRepository",
    "EnvironmentSnapshots",
    "ExecutionRepository",
    "ExportStore",
    "Filing",
    "FlakyStore",
    "GateRepository",
    "IssueFormat",
    "MessageFormat",
    "MetricsStore",
    "NonceRepository",
    "Notifier",
    "OutboxRepository",
    "PageFeed",
    "PlanRepository",
    "ProjectRepository",
    "Queue",
    "ReportStore",
    "RequirementRepository",
    "RunProgress",
    "RunRepository",
    "ScenarioRepository",
    "StorySource",
    "TestCaseImportLedger",
    "TestCaseRepository",
    "TestCatalog",
    "TicketRepository",
    "Tracker",
    "TransactItem",
    "UploadRepository",
    "Workflow",
]
