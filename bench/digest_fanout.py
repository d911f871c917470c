"""(issue 9) 5,000 drafts for one lead through the Slack fan-out, on moto in-process (Step
Functions not executing): each draft asks for its decision as the workflow's first task does
(`DecisionService.awaiting`: the outbox, the digest window), spread over several digest windows;
each flush message is delivered once its delay has passed (`DecisionService.flush`), and some
drafts arrive while a flush is sending. Time is simulated (the service's clock; the workflow
queue's sends are captured with their delays and Slack's sender records the messages), the
DynamoDB side is moto's. Checks: exactly one digest per window, no draft in two messages, none
lost (every draft listed in one message or counted behind one message's "more" link, and the
outbox empty at the end)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from bench._support import lean_moto_transactions, moto_inprocess, quiet

PROJECT = "FANOUT"
LEAD = "lead@example.com"
DRAFTS = 5_000
WINDOW = 60  # the digest window, seconds
SPAN = 300  # the drafts arrive over this many seconds: five windows
DURING_EVERY = 1  # while every n-th message goes out, the next draft (due within 1 s) arrives
_ID = re.compile(r"tk_f\d{5}")
_MORE = re.compile(r"and (\d+) more drafts")


def _seed(c: Any, drafts: int, at: float) -> None:
    from chalicelib.adapters.dynamo.tickets import ticket_item
    from chalicelib.domain.tickets import Ticket

    created = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
    c.repos.table.batch_put(
        [
            ticket_item(
                Ticket(
                    id=f"tk_f{i:05d}",
                    project=PROJECT,
                    status="draft",
                    scenario_id=f"checkout.f{i}",
                    module="checkout",
                    created_at=created.replace("+00:00", "Z"),
                    title=f"Draft {i}",
                    occurrences=1,
                )
            )
            for i in range(drafts)
        ]
    )


class _Run:
    """The simulated timeline: draft arrivals and due flush messages, in time order."""

    def __init__(self, c: Any, drafts: int) -> None:
        self.d = c.decisions
        self.outbox = c.repos.outbox
        self.now = 1_900_000_000.0
        self.arrivals = [self.now + i * SPAN / drafts for i in range(drafts)]
        self.next = 0
        self.due: list[tuple[float, dict[str, Any]]] = []
        self.messages: list[dict[str, Any]] = []
        self.windows: set[int] = set()
        self.flushes = self.empty_flushes = self.during = 0
        self.d._clock = lambda: self.now
        self.d._digest_seconds = WINDOW
        self.d._queue = self  # send(): the workflow queue
        self.d._notifier = self  # send(): Slack
        real_window = self.outbox.digest_window

        def digest_window(lead: str, now: int, seconds: int) -> tuple[int, bool]:
            closes, schedule = real_window(lead, now, seconds)
            if closes == now + seconds and schedule:
                self.windows.add(closes)  # opened now
            return closes, schedule

        self.outbox.digest_window = digest_window

    def send(self, body: dict[str, Any], delay_seconds: int = 0, **kw: Any) -> None:
        if "blocks" in body or "text" in body:  # Slack
            self.messages.append(body)
            if len(self.messages) % DURING_EVERY == 0 and self._arrival_due(self.now + 1):
                self.during += 1
                self._arrive()  # lands while this flush is sending
            return
        self.due.append((self.now + delay_seconds, body))

    def _arrival_due(self, until: float) -> bool:
        return self.next < len(self.arrivals) and self.arrivals[self.next] <= until

    def _arrive(self) -> None:
        i = self.next
        self.next += 1
        self.d.awaiting(f"tk_f{i:05d}", f"token-{i}", 0, int(self.now) + 86400)

    def run(self) -> None:
        while self.next < len(self.arrivals) or self.due:
            self.due.sort(key=lambda d: d[0])
            if self.due and (
                self.next >= len(self.arrivals) or self.due[0][0] <= self.arrivals[self.next]
            ):
                at, body = self.due.pop(0)
                self.now = max(self.now, at)
                self.flushes += 1
                if self.d.flush(body["lead"]) == 0:
                    self.empty_flushes += 1
            else:
                self.now = max(self.now, self.arrivals[self.next])
                self._arrive()


def main(drafts: int = DRAFTS) -> dict[str, Any]:
    from chalicelib import bootstrap

    with moto_inprocess(execute_state_machine=False), lean_moto_transactions():
        c = bootstrap.container()
        c.access.create_project(PROJECT, "Fan-out", False, default_lead=LEAD)
        c.access.put_module(PROJECT, "checkout", LEAD, None)
        run = _Run(c, drafts)
        _seed(c, drafts, run.now)
        start = time.perf_counter()
        with quiet():
            run.run()
        took = time.perf_counter() - start
        left = len(c.repos.outbox.pending(LEAD))
    listed: dict[str, int] = {}
    behind_links = 0
    for message in run.messages:
        text = json.dumps(message)
        for ticket_id in set(_ID.findall(text)):
            listed[ticket_id] = listed.get(ticket_id, 0) + 1
        more = _MORE.search(text)
        behind_links += int(more.group(1)) if more else 0
    twice = sorted(t for t, n in listed.items() if n > 1)
    accounted = len(listed) + behind_links
    one_per_window = len(run.messages) == len(run.windows)
    print(
        f"{drafts:,} drafts for one lead over {SPAN} s, {WINDOW} s digest windows, moto "
        f"in-process (simulated clock; {run.during} drafts arrived while a flush was sending)"
    )
    print(
        f"  windows opened: {len(run.windows)}; digests sent: {len(run.messages)}"
        + ("  -> exactly one per window" if one_per_window else "  MISMATCH")
    )
    print(
        f"  flushes run: {run.flushes} ({run.empty_flushes} found nothing to send); flush "
        f"messages per draft: {run.flushes / drafts:.4f}"
    )
    print(
        f"  drafts in two messages: {len(twice)}"
        + (f" ({', '.join(twice[:5])}...)  DUPLICATES" if twice else "  -> no duplicates")
    )
    print(
        f"  accounted for: {accounted:,} of {drafts:,} ({len(listed):,} listed, {behind_links:,} "
        f"behind 'more' links); left in the outbox: {left}"
        + ("  -> none lost" if accounted == drafts and left == 0 else "  LOST")
    )
    print(f"  {took:.1f} s ({drafts / took:,.0f} drafts/s asked + flushed, moto's time)")
    return {
        "windows": len(run.windows),
        "digests": len(run.messages),
        "duplicates": len(twice),
        "lost": drafts - accounted + left,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.digest_fanout", description=__doc__)
    parser.add_argument("--drafts", type=int, default=DRAFTS)
    main(parser.parse_args().drafts)
