"""``python -m devstack.jira``: the emulator standalone, until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from typing import Any

from devstack.jira.server import JiraEmulator


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Jira Cloud REST emulator (devstack)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--email", default="dev@example.com")
    parser.add_argument("--token", default="dev-token")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default=None)
    parser.add_argument(
        "--project", action="append", dest="projects", help="project key (repeatable); default KP"
    )
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    emulator = JiraEmulator(
        args.host,
        args.port,
        email=args.email,
        api_token=args.token,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        projects=args.projects or ("KP",),
    )
    done = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    emulator.start()
    banner = {
        "jira": emulator.url,
        "email": args.email,
        "token": args.token,
        "projects": args.projects or ["KP"],
    }
    print(json.dumps(banner), flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
