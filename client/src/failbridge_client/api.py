"""The failbridge HTTP API, as CI uses it. Every request is retried on connection errors, 429 and
502/503/504 (honouring Retry-After) with the same body: executions are keyed by run, test case and
attempt, so a repeated report records nothing twice."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import requests

from failbridge_client.config import Config
from failbridge_client.formats import media_type

RETRY_STATUSES = {429, 502, 503, 504}
DIRECT_LIMIT = 5 * 1024 * 1024  # the server's limit for a report in the request body
RESULTS_BATCH = 1000  # the server's limit of results per POST .../results
# a report of more tests goes through the upload even when small: the server records a report
# sent in the body before it answers (as it does POST .../results, limited to RESULTS_BATCH),
# an upload in the background
DIRECT_CASES = RESULTS_BATCH
Progress = Callable[[int, int], None]


class ApiError(Exception):
    """An error answer from failbridge, in its one error shape."""

    def __init__(self, status: int, code: str, message: str, details: list[Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details

    def masking(self, secret: str) -> ApiError:
        """The same error with `secret` (the API key) blanked wherever an answer echoed it (a
        proxy's error page showing the request's headers)."""
        if secret:
            self.message = self.message.replace(secret, "***")
            self.details = [
                {k: str(v).replace(secret, "***") for k, v in d.items()}
                if isinstance(d, dict)
                else d
                for d in self.details
            ]
            self.args = tuple(str(a).replace(secret, "***") for a in self.args)
        return self

    def describe(self) -> str:
        lines = [f"failbridge answered {self.status} ({self.code}): {self.message}"]
        lines += [f"  {d.get('field')}: {d.get('problem')}" for d in self.details if d]
        return "\n".join(lines)


class Client:
    def __init__(
        self,
        config: Config,
        *,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 1.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "failbridge-client/0.1"
        self.sleep = sleep

    # -- plumbing ------------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.config.api_key}", **kwargs.pop("headers", {})}
        url = self.config.url + path
        response = self._send(
            lambda: self.session.request(
                method, url, headers=headers, timeout=self.timeout, **kwargs
            )
        )
        if response.status_code >= 400:
            raise _error(response).masking(self.config.api_key)
        return response.json() if response.content else None

    def _send(self, send: Callable[[], requests.Response]) -> requests.Response:
        for attempt in range(self.retries + 1):
            try:
                response = send()
            except (requests.ConnectionError, requests.Timeout):
                if attempt == self.retries:
                    raise
                self.sleep(self.backoff * 2**attempt)
                continue
            if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                return response
            wait = _retry_after(response)
            self.sleep(self.backoff * 2**attempt if wait is None else wait)
        raise AssertionError("unreachable")

    def _p(self, project: str) -> str:
        return f"/v1/projects/{quote(project, safe='')}"

    # -- reporting -----------------------------------------------------------------------------

    def report_results(
        self, project: str, run: dict[str, Any], results: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """POST .../results in batches that keep a test case's attempts together."""
        outcomes: list[dict[str, Any]] = []
        for batch in _batches(results, RESULTS_BATCH):
            body = self.request(
                "POST", f"{self._p(project)}/results", json={"run": run, "results": batch}
            )
            outcomes.extend(body["results"])
        return outcomes

    def report_body(
        self, project: str, run: dict[str, Any], body: bytes, fmt: str | None
    ) -> dict[str, Any]:
        """POST .../runs/{runId}/report: the report in the request body."""
        params = {k: v for k, v in run.items() if k != "id" and v}
        if fmt:
            params["format"] = fmt
        path = f"{self._p(project)}/runs/{quote(run['id'], safe='')}/report"
        content_type = media_type(fmt) if fmt else "application/octet-stream"
        if not fmt:
            content_type = "application/xml" if body.lstrip()[:1] == b"<" else "application/json"
        return dict(
            self.request(
                "POST", path, params=params, data=body, headers={"Content-Type": content_type}
            )
        )

    def upload(
        self,
        project: str,
        run: dict[str, Any],
        file: Path,
        fmt: str,
        progress: Progress | None = None,
    ) -> str:
        """A large report: POST .../uploads, then the presigned POST to storage; the upload id."""
        size = file.stat().st_size
        grant = self.request(
            "POST",
            f"{self._p(project)}/uploads",
            json={"run": run, "format": fmt, "size": size},
        )
        boundary = uuid.uuid4().hex
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in grant["fields"].items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file.name}"\r\nContent-Type: {media_type(fmt)}\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def send() -> requests.Response:
            with file.open("rb") as handle:
                body = _Multipart(head, handle, size, tail, progress)
                return self.session.post(
                    grant["url"],
                    data=body,
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                    timeout=max(self.timeout, 300),
                )

        response = self._send(send)
        if response.status_code >= 300:
            raise ApiError(
                response.status_code,
                "upload_refused",
                f"the storage refused the upload: {response.text[:300]}",
                [],
            )
        return str(grant["uploadId"])

    def upload_status(self, project: str, upload_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"{self._p(project)}/uploads/{quote(upload_id)}"))

    def wait_for_upload(
        self,
        project: str,
        upload_id: str,
        *,
        timeout: float = 900,
        every: float = 1.0,
        progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.upload_status(project, upload_id)
            if progress:
                progress(status)
            if status.get("status") in ("completed", "failed") or time.monotonic() > deadline:
                return status
            self.sleep(every)

    # -- reading -------------------------------------------------------------------------------

    def run_summary(self, project: str, run_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"{self._p(project)}/runs/{quote(run_id, safe='')}"))

    def validate_gate(
        self,
        project: str,
        *,
        gate: str | None = None,
        gates: list[dict[str, Any]] | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"gate": gate} if gate else {"gates": gates or []}
        if run_id:
            body["runId"] = run_id
        return dict(self.request("POST", f"{self._p(project)}/quality-gates/validate", json=body))


class _Multipart:
    """A multipart body streamed from the file, with a length (so requests sends
    Content-Length, which S3's POST requires) and progress as it is read."""

    def __init__(
        self, head: bytes, handle: IO[bytes], size: int, tail: bytes, progress: Progress | None
    ) -> None:
        self._parts: Iterator[bytes] = self._chunks(head, handle, tail)
        self._buffer = b""
        self.len = len(head) + size + len(tail)
        self._size, self._sent, self._progress = size, 0, progress

    def __len__(self) -> int:
        return self.len

    def _chunks(self, head: bytes, handle: IO[bytes], tail: bytes) -> Iterator[bytes]:
        yield head
        while chunk := handle.read(256 * 1024):
            self._sent += len(chunk)
            if self._progress:
                self._progress(self._sent, self._size)
            yield chunk
        yield tail

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            part = next(self._parts, None)
            if part is None:
                break
            self._buffer += part
        if n < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


def _batches(results: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive batches of at most `size`, never splitting one test case's attempts (the
    server tells a flaky failure by a later passing attempt in the same report)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(str(r.get("testCaseId")), []).append(r)
    batch: list[dict[str, Any]] = []
    for group in groups.values():
        if batch and len(batch) + len(group) > size:
            yield batch
            batch = []
        batch.extend(group)
    if batch:
        yield batch


def _retry_after(response: requests.Response) -> float | None:
    try:
        return min(float(response.headers.get("Retry-After", "")), 60.0)
    except ValueError:
        return None


def _error(response: requests.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(
            response.status_code,
            str(error.get("code")),
            str(error.get("message")),
            list(error.get("details") or []),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return ApiError(response.status_code, "http_error", response.text[:300], [])
