"""200 concurrent overlapping reservations of one environment on moto's server (as the local
stack runs it: DynamoDB requests one at a time), each client its own boto3 client and service,
all released at once. Prints wins and losses per slot (exactly one winner per slot is checked,
not timed), reservations/s and the booking attempts the races cost.

Two rounds: 200 clients on one slot; then 10 slots x 20 clients (a winner of one slot makes the
others' first attempts stale: they read again)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench._support import INPROCESS_ENV, _restored_environ, percentile, quiet

CLIENTS = 200


class CountingEnvironments:
    """The real repository, counting booking attempts (each one TransactWriteItems)."""

    def __init__(self, repo: Any, tally: Counter[str]) -> None:
        self._repo = repo
        self._tally = tally

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    def book(self, *args: Any) -> None:
        self._tally["attempts"] += 1
        self._repo.book(*args)


def _round(table: str, env_id: str, slots: list[tuple[str, str]], clients: int) -> dict:
    import boto3

    from chalicelib.adapters.dynamo import Repositories
    from chalicelib.adapters.dynamo.table import Cursors
    from chalicelib.errors import Conflict
    from chalicelib.services.environments import EnvironmentService

    tally: Counter[str] = Counter()
    start = threading.Barrier(clients)
    services = [
        EnvironmentService(
            CountingEnvironments(
                Repositories.over(boto3.client("dynamodb"), table).environments, tally
            ),
            Cursors(),
        )
        for _ in range(clients)
    ]

    def book(i: int) -> tuple[int, str, float]:
        slot = slots[i % len(slots)]
        start.wait()
        began = time.perf_counter()
        try:
            won = services[i].reserve("BENCH", env_id, {"from": slot[0], "to": slot[1]}, f"c{i}")
            outcome = won["reservationId"]
        except Conflict:
            outcome = "lost"
        return i, outcome, time.perf_counter() - began

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(book, range(clients)))
    took = time.perf_counter() - began
    wins = Counter(slots[i % len(slots)] for i, o, _ in outcomes if o != "lost")
    assert all(wins[s] == 1 for s in slots), f"not exactly one winner per slot: {wins}"
    latencies = [t for _, _, t in outcomes]
    return {
        "slots": len(slots),
        "wins": sum(wins.values()),
        "losses": sum(o == "lost" for _, o, _ in outcomes),
        "seconds": took,
        "per_second": clients / took,
        "attempts": tally["attempts"],
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
    }


def main(clients: int = CLIENTS) -> dict[str, Any]:
    with _restored_environ():
        os.environ.update(INPROCESS_ENV)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        os.environ["MOTO_PORT"] = str(port)
        from chalicelib import bootstrap
        from devstack.stack import local_aws_server
        from infra.deploy_local import deploy

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
        server = local_aws_server("127.0.0.1", port)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        try:
            with quiet():
                resources = deploy(endpoint)
            os.environ["AWS_ENDPOINT_URL"] = endpoint
            os.environ.update({k: str(v) for k, v in resources["env"].items()})
            bootstrap.reset()
            c = bootstrap.container()
            c.access.create_project("BENCH", None, False, default_lead="lead@example.com")
            out = {}
            for name, hours in (("one slot", (10,)), ("10 slots", tuple(range(8, 18)))):
                env_id = "staging-eu-" + name.replace(" ", "-")
                c.environments.create("BENCH", {"envId": env_id}, "bench")
                slots = [
                    (f"2026-12-08T{h:02d}:00:00Z", f"2026-12-08T{h:02d}:59:00Z") for h in hours
                ]
                r = _round(resources["table"], env_id, slots, clients)
                out[name] = r
                print(
                    f"{clients} concurrent bookings, {name}: {r['wins']} won (one per slot), "
                    f"{r['losses']} lost (409); {r['per_second']:.0f} reservations/s "
                    f"({r['seconds']:.2f} s); {r['attempts']} booking transactions; "
                    f"latency p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms",
                    flush=True,
                )
            return out
        finally:
            bootstrap.reset()
            server.stop()


if __name__ == "__main__":
    main()
