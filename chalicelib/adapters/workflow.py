"""Step Functions adapter: the ticket workflow, one execution per ticket, named after it."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.outside import TokenRejected


class Workflow:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        """Start an execution named after its ticket (`tk_…`, or `tk_…-reopened-2` after a
        regression), so a repeated start is harmless: False when it was started before."""
        try:
            self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(payload)
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            raise

    def answer(self, task_token: str, output: dict[str, Any]) -> None:
        """Hand a decision to the execution waiting on `task_token`; TokenRejected if none is."""
        succeed(self._client, task_token, output)


def _answer(client: Any, call: str, **kwargs: Any) -> None:
    try:
        getattr(client, call)(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("InvalidToken", "TaskDoesNotExist", "TaskTimedOut"):
            raise TokenRejected(exc.response["Error"]["Code"]) from exc
        raise


def succeed(client: Any, task_token: str, output: dict[str, Any]) -> None:
    _answer(client, "send_task_success", taskToken=task_token, output=json.dumps(output))
