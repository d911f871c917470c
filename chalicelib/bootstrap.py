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
    store: Any
    blobs: Any
    workflow: Any
    access: Any
    results: Any
    tickets: Any
    uploads: Any


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
    }


@functools.lru_cache(maxsize=1)
def container() -> Container:
    from chalicelib.adapters.dynamo import Store
    from chalicelib.adapters.s3 import Blobs
    from chalicelib.adapters.workflow import Workflow
    from chalicelib.observability import count
    from chalicelib.services.access import AccessService
    from chalicelib.services.ingest import ResultsService
    from chalicelib.services.tickets import TicketService
    from chalicelib.services.uploads import UploadService

    settings = Settings.from_env()
    clients = _clients(settings)
    store = Store(clients["dynamodb"], settings.table_name)
    blobs = Blobs(clients["s3"], settings.bucket_name)
    workflow = Workflow(clients["stepfunctions"], settings.state_machine_arn)
    access = AccessService(store, cache_seconds=settings.key_cache_seconds)
    results = ResultsService(store, workflow, count=count)
    return Container(
        settings=settings,
        store=store,
        blobs=blobs,
        workflow=workflow,
        access=access,
        results=results,
        tickets=TicketService(store, blobs),
        uploads=UploadService(store, blobs, access, results),
    )


def reset() -> None:
    container.cache_clear()
