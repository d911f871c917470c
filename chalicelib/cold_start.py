"""A cold start's imports without the cyclic garbage collector.

Importing creates some 80,000 objects the collector tracks, and they live as long as the process
(modules, classes, functions, botocore's and pydantic's tables). The collector runs every 700
allocations and, every so often, walks every object it tracks, so a cold start paid for walking
the same imports again and again: about a fifth of the first request's CPU time
(`bench.first_request`). `app.py` imports its modules inside `collector_paused()`, which then
moves everything loaded into the collector's permanent generation (`gc.freeze`): later
collections skip it. The imports leave next to no garbage; afterwards the collector runs as
always."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block, then what the block loaded frozen out of later
    collections. The collector's state is restored (a process that had it off keeps it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
