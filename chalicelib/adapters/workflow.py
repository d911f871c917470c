"""Step Functions adapter: the ticket workflow, one execution per ticket, named after it."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


class Workflow:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, ticket_id: str, payload: dict[str, Any]) -> bool:
        """Start the ticket's execution. Named after the ticket, so a repeated start is harmless:
        returns False when it was started before."""
        try:
            self._client.start_execution(
                stateMachineArn=self._arn, name=ticket_id, input=json.dumps(payload)
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            raise

    def execution_arn(self, ticket_id: str) -> str:
        return self._arn.replace(":stateMachine:", ":execution:") + f":{ticket_id}"

    def answer(self, task_token: str, output: dict[str, Any]) -> None:
        """Hand a decision to the execution waiting on `task_token`; TokenRejected if none is."""
        succeed(self._client, task_token, output)

    def describe(self, ticket_id: str) -> dict[str, Any]:
        return dict(self._client.describe_execution(executionArn=self.execution_arn(ticket_id)))


class TokenRejected(Exception):
    """Step Functions no longer waits on this task token (answered, timed out, or re-entered)."""


def _answer(client: Any, call: str, **kwargs: Any) -> None:
    try:
        getattr(client, call)(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("InvalidToken", "TaskDoesNotExist", "TaskTimedOut"):
            raise TokenRejected(exc.response["Error"]["Code"]) from exc
        raise


def succeed(client: Any, task_token: str, output: dict[str, Any]) -> None:
    _answer(client, "send_task_success", taskToken=task_token, output=json.dumps(output))
