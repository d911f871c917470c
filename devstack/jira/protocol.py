"""Jira's REST shapes around the shared HTTP plumbing: its error body, its request (API version,
JSON body) and the handler signature."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devstack.httpkit import Request, Response

if TYPE_CHECKING:
    from devstack.jira.state import JiraState


class HttpError(Exception):
    """An error answered to the client in Jira's ``errorMessages`` / ``errors`` shape."""

    def __init__(
        self,
        status: int,
        messages: Iterable[str] = (),
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.payload = {"errorMessages": list(messages), "errors": dict(errors or {})}
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {self.payload}")

    def response(self) -> Response:
        return Response(self.status, self.payload, headers=self.headers)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return HttpError(status, [message], headers=headers).response()


@dataclass
class JiraRequest(Request):
    version: str = "2"  # "3" renders and accepts rich text as ADF
    _json: Any = None
    _json_done: bool = False

    @classmethod
    def of(cls, req: Request) -> JiraRequest:
        return cls(req.method, req.path, req.query, req.params, req.headers, req.body, req.base)

    def json(self, required: bool = True) -> Any:
        if not self._json_done:
            self._json_done = True
            if self.body.strip():
                try:
                    self._json = json.loads(self.body)
                except ValueError:
                    raise HttpError(
                        400, ["Unexpected character in request body: invalid JSON."]
                    ) from None
        if self._json is None and required:
            raise HttpError(400, ["No content to map due to end-of-input"])
        return self._json


# A REST handler: the emulator's state (its lock held) and the request in, the response out.
Handler = Callable[["JiraState", JiraRequest], Response]
