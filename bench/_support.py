"""What the benchmarks share: moto in-process (as tests/integration does), the local stack as a
subprocess (as tests/e2e does), AWS call counting with botocore events, and a few statistics."""

from __future__ import annotations

import contextlib
import io
import math
import os
import statistics
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STACK_START_TIMEOUT = 120.0
STACK_STOP_TIMEOUT = 10.0

# The integration tests' settings (tests/conftest.py, tests/integration/conftest.py).
INPROCESS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "failbridge",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "FAILBRIDGE_APPROVAL_KEYS": "k1:bench-approval-secret",
    "FAILBRIDGE_SLACK_SIGNING_SECRET": "bench-slack-signing-secret",
    "FAILBRIDGE_DIGEST_SECONDS": "1",
    "FAILBRIDGE_PUBLIC_URL": "https://failbridge.example.com",
}


@contextlib.contextmanager
def _restored_environ() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def moto_inprocess(*, execute_state_machine: bool = True) -> Iterator[dict[str, Any]]:
    """moto in-process with Step Functions executing the workflow, the infra deployed into it and
    the app's container rebuilt against it (tests/integration/conftest.py's `aws` fixture).
    `execute_state_machine=False`: StartExecution is answered and recorded but moto does not run
    the workflow (its interpreter's threads would share this process's CPU and GIL with what a
    benchmark measures)."""
    from moto import mock_aws

    from chalicelib import bootstrap

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
    with _restored_environ():
        os.environ.update(INPROCESS_ENV)
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            os.environ.pop(name, None)
        from devstack.moto_patches import partition_queries
        from infra.deploy_local import deploy

        config: Any = {"stepfunctions": {"execute_state_machine": execute_state_machine}}
        with mock_aws(config=config):
            with quiet():
                resources: dict[str, Any] = deploy(None, configure=False)  # type: ignore[arg-type]
            os.environ.update({k: str(v) for k, v in resources["env"].items()})
            bootstrap.reset()
            try:
                with partition_queries():  # as the local stack: see devstack.moto_patches
                    yield resources
            finally:
                bootstrap.reset()


@contextlib.contextmanager
def lean_moto_transactions() -> Iterator[None]:
    """The local stack's moto patches besides `partition_queries` (which `moto_inprocess`
    applies): lean transactions, plain attribute values, item sizes summed once per request.
    See `devstack.moto_patches`: same answers, moto's cost closer to DynamoDB's."""
    from devstack.moto_patches import item_size_once, lean_transactions, plain_attribute_values

    with lean_transactions(), plain_attribute_values(), item_size_once():
        yield


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow stdout: Powertools writes its EMF metrics there on every flush."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class CallCounter:
    """Counts the AWS API calls made through some boto3 clients (`before-call` fires once per
    operation; botocore's own retries of one call are not counted as separate calls), and the
    time each took (until `after-call`)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.seconds: Counter[str] = Counter()

    def attach(self, *clients: Any) -> CallCounter:
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before)
            client.meta.events.register("after-call.*.*", self._after)
        return self

    @staticmethod
    def _name(model: Any) -> str:
        return f"{model.service_model.service_name}:{model.name}"

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        self.calls.append(self._name(model))
        context["bench_started"] = time.perf_counter()

    def _after(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        started = context.get("bench_started")
        if started is not None:
            self.seconds[self._name(model)] += time.perf_counter() - started

    @contextlib.contextmanager
    def counting(self) -> Iterator[Tally]:
        """The calls made inside the block, and their time, by operation."""
        start = len(self.calls)
        seconds = Counter(self.seconds)
        tally = Tally()
        try:
            yield tally
        finally:
            tally.calls.update(self.calls[start:])
            tally.seconds.update(self.seconds)
            tally.seconds.subtract(seconds)


@dataclass
class Tally:
    calls: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def by_operation(self, *, with_seconds: bool = False) -> str:
        """`UpdateItem, TransactWriteItems x2, ...` (service names dropped)."""
        parts = []
        for name, n in sorted(self.calls.items(), key=lambda kv: (-kv[1], kv[0])):
            text = name.split(":", 1)[1] + (f" x{n}" if n > 1 else "")
            if with_seconds:
                text += f" {self.seconds[name]:.2f} s"
            parts.append(text)
        return ", ".join(parts) or "none"


@contextlib.contextmanager
def local_stack(extra_env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """`python -m devstack` on free ports in a temporary directory (devstack.process);
    yields its stack.json; stopped with SIGTERM."""
    from devstack.process import StackFailed, StackProcess

    with tempfile.TemporaryDirectory(prefix="failbridge-bench-") as tmp:
        process = StackProcess(Path(tmp), extra_env)
        info = process.start(STACK_START_TIMEOUT)
        try:
            yield info
        finally:
            try:
                process.stop(STACK_STOP_TIMEOUT)
            except StackFailed as exc:
                print(f"  ({str(exc).splitlines()[0]})")


def stack_errors(info: dict[str, Any]) -> list[str]:
    """Lines of the stack's log that report errors (tracebacks, ERROR-level records)."""
    path = Path(info["_log"])
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return [
        line
        for line in lines
        if line.startswith("Traceback") or '"level":"ERROR"' in line or " ERROR " in line
    ]


def print_stack_errors(info: dict[str, Any]) -> None:
    errors = stack_errors(info)
    if errors:
        print(f"  the stack logged {len(errors)} error line(s); the first: {errors[0][:500]}")
        print(f"  (log: {info['_log']}, removed with the stack's directory)")


def wait_until(check: Any, timeout: float, every: float = 0.02) -> Any:
    """Poll `check` until it returns something truthy (returned) or `timeout` passes (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    return None


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
