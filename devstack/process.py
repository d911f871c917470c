"""The local stack as a child process, for tests and benchmarks: free ports, its own directory,
started until its stack.json appears, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class StackFailed(Exception):
    """The stack did not start or stop as it should; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StackProcess:
    def __init__(self, local_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.local_dir = local_dir
        self.log_path = local_dir / "stack.log"
        self.stack_file = local_dir / "stack.json"
        self._extra_env = extra_env or {}
        self._proc: subprocess.Popen[bytes] | None = None

    def log(self, limit: int = 20_000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-limit:]

    def start(self, timeout: float = 90.0) -> dict[str, Any]:
        """Start `python -m devstack`; its stack.json once it is up (plus _log, _localDir,
        _startSeconds, _pid)."""
        env = {
            **os.environ,
            "FAILBRIDGE_API_PORT": str(free_port()),
            "FAILBRIDGE_JIRA_PORT": str(free_port()),
            "FAILBRIDGE_AWS_PORT": str(free_port()),
            "FAILBRIDGE_LOCAL_DIR": str(self.local_dir),
            "PYTHONUNBUFFERED": "1",
            **self._extra_env,
        }
        env.pop("AWS_ENDPOINT_URL", None)
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "devstack"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        while not self.stack_file.exists():
            if self._proc.poll() is not None:
                raise StackFailed(
                    f"the stack exited with {self._proc.returncode} while starting:\n{self.log()}"
                )
            if time.monotonic() - started > timeout:
                self.stop()
                raise StackFailed(f"the stack did not start in {timeout} s:\n{self.log()}")
            time.sleep(0.2)
        info: dict[str, Any] = json.loads(self.stack_file.read_text())
        info["_log"] = str(self.log_path)
        info["_localDir"] = str(self.local_dir)
        info["_startSeconds"] = round(time.monotonic() - started, 2)
        info["_pid"] = self._proc.pid
        return info

    def stop(self, timeout: float = 5.0) -> float:
        """SIGTERM, and how long the stack took to stop. StackFailed (with every thread's
        stack, which devstack prints on SIGUSR1) if it did not stop in time or exited non-zero."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return 0.0
        proc.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
            proc.kill()
            proc.wait()
            raise StackFailed(
                f"the stack did not stop within {timeout} s of SIGTERM; its "
                f"threads:\n{self.log(40_000)}"
            ) from None
        if code != 0:
            raise StackFailed(f"the stack exited with {code} on SIGTERM:\n{self.log()}")
        return time.monotonic() - stopping
