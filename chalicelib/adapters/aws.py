"""boto3 clients, shared by the AWS adapters: one session, standard retries, and each client
created on its first call rather than at every cold start (a Lambda that only reads DynamoDB
never builds the S3, Step Functions or SQS client)."""

from __future__ import annotations

import threading
from typing import Any

SERVICES = ("dynamodb", "s3", "stepfunctions", "sqs")


class Clients:
    """The container's boto3 clients, each built once, on first use."""

    def __init__(self, session: Any = None) -> None:
        self._session = session
        self._made: dict[str, Any] = {}
        self._lock = threading.Lock()  # the local stack serves requests and queues in threads

    def get(self, service: str) -> Any:
        client = self._made.get(service)
        if client is None:
            with self._lock:
                client = self._made.get(service) or self._create(service)
                self._made[service] = client
        return client

    def lazy(self, service: str) -> LazyClient:
        """A stand-in for the client, for an adapter built before anything is called."""
        return LazyClient(self, service)

    def created(self) -> list[str]:
        """The services whose client exists (what a cold start has paid for so far)."""
        return sorted(self._made)

    def every(self) -> list[Any]:
        """All clients, building those not yet built (benchmarks attach counters to them)."""
        return [self.get(service) for service in SERVICES]

    def _create(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        if self._session is None:
            self._session = boto3.session.Session()
        config = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=50)
        if service == "s3":
            config = config.merge(Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        return self._session.client(service, config=config)


class LazyClient:
    """Forwards every attribute to the real client, which is built on the first one."""

    def __init__(self, clients: Clients, service: str) -> None:
        self._clients = clients
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._clients.get(self._service), name)

    def __repr__(self) -> str:
        return f"LazyClient({self._service!r})"
