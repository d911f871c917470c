"""`python -m devstack` in the foreground: logging, signals (SIGINT, SIGTERM stop it; SIGUSR1
prints every thread's stack), the banner, the stop."""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from devstack.stack import Stack, StackError, log


class _Interrupted(BaseException):
    """SIGINT or SIGTERM while the stack was starting."""


def banner(info: dict[str, Any], stack_file: Path) -> str:
    keys = "\n".join(f"    {role:<7} {key}" for role, key in info["keys"].items())
    modules = ", ".join(f"{m} (lead {v['lead']})" for m, v in info["modules"].items())
    return f"""
failbridge local stack is up ({info["startedInSeconds"]} s)
  API     {info["api"]}
  Jira    {info["jira"]}   user {info["jiraUser"]["email"]} / token {info["jiraUser"]["token"]}
  AWS     {info["aws"]}   (moto; AWS_ENDPOINT_URL={info["aws"]} AWS_ACCESS_KEY_ID=testing)
  Slack   {info["slack"]}   outbox {info["slackOutbox"]}
  Project {info["project"]}: modules {modules}; any other module: lead {info["defaultLead"]}
  API keys (Authorization: Bearer <key>):
{keys}
  Jira webhook secret {info["jiraWebhookSecret"]}
  All of this is in {stack_file}. Ctrl-C stops the stack.
"""


def main() -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # moto logs what its CloudFormation skips, then warns again; Powertools warns on every flush
    # of a batch that counted nothing.
    warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    stopping = threading.Event()
    up = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stopping.set()
        if not up.is_set():
            raise _Interrupted  # still starting: abandon the start, then stop what started

    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid>: every thread's stack on stderr
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack = Stack()
    try:
        info = stack.start()
        up.set()
    except _Interrupted:
        stack.stop()
        return 0
    except StackError as exc:
        log.error("%s", exc)
        stack.stop()
        return 1
    except BaseException:
        log.exception("the stack failed to start")
        stack.stop()
        return 1
    print(banner(info, stack.stack_file), flush=True)
    while not stopping.wait(0.5):
        pass
    started = time.monotonic()
    stack.stop()
    log.info("stopped in %.1f s", time.monotonic() - started)
    return 0
