"""Planned runs' progress: the counters every recording moves (CI, uploads, by hand), and the
run closing itself once every test case has a result."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Collection, Sequence

from chalicelib.clock import now_iso
from chalicelib.domain.ports import RunRepository
from chalicelib.domain.runs import Bucket, Recorded, TestRun, bucket_of, latest_per_case, supersedes
from chalicelib.domain.statuses import RunStatus
from chalicelib.errors import Conflict, field_problem

MAX_ROUNDS = 30  # lost races on one bucket (the same test case recorded at once)


class RunProgress:
    """Moves planned runs' progress with recorded results; runs nobody planned are left alone
    (the project's open runs tell, else one GetItem). Closes a run once every test case has a
    result."""

    def __init__(self, runs: RunRepository, *, clock: Callable[[], str] = now_iso) -> None:
        self._runs = runs
        self._clock = clock
        # (project, run) -> its bucket count, which never changes: a planned run is read once
        # per container (a run not planned is read every time: it may be planned later)
        self._buckets: dict[tuple[str, str], int] = {}
        # runs this container created: their results count before the cached project lists them
        self._created: set[tuple[str, str]] = set()

    def note(
        self,
        project: str,
        run_id: str,
        recorded: Sequence[Recorded],
        *,
        open_runs: Collection[str] | None = None,
    ) -> None:
        """`open_runs`: the project's open planned runs as its cached item lists them (None:
        not known: the run is read, once per container)."""
        if (
            open_runs is not None
            and run_id not in open_runs
            and (project, run_id) not in self._created
        ):
            return  # planned by nobody, or closed: nothing to read or move
        buckets = self._buckets.get((project, run_id))
        if buckets is None:
            run = self._runs.get(project, run_id)
            if run is None:
                return
            if len(self._buckets) > 10_000:
                self._buckets.clear()
                self._created.clear()
            buckets = self._buckets[(project, run_id)] = run.buckets
        if not recorded:
            return
        pending: dict[int, list[Recorded]] = {}
        for r in latest_per_case(recorded):
            pending.setdefault(bucket_of(r.test_case_id, buckets), []).append(r)
        completed = 0
        for round_ in range(MAX_ROUNDS):
            wanted = {i: [r.test_case_id for r in rs] for i, rs in pending.items()}
            read = self._runs.buckets_at(project, run_id, wanted)
            for index in list(pending):
                bucket = read.get(index)
                changes = [] if bucket is None else _changes(bucket, pending[index])
                if bucket is None or not changes:
                    del pending[index]
                    continue
                executed = self._runs.apply(project, run_id, bucket, changes)
                if executed is None:
                    continue  # a case changed meanwhile: read the bucket again
                del pending[index]
                # exactly one write gives a bucket's last case without a result one: a case
                # never loses its result, and the write is atomic
                completed += int(executed == bucket.counts["total"] > 0)
            if not pending:
                break
            time.sleep(random.uniform(0, min(0.5, 0.01 * 2**round_)))
        else:
            raise Conflict(f"run {run_id}: could not record progress (too many lost races)")
        for _ in range(completed):
            if self._runs.bucket_done(project, run_id) >= buckets:
                run = self._runs.get(project, run_id)
                if run is not None and run.is_open:
                    with contextlib.suppress(Conflict):  # closed on request meanwhile
                        self.close(run, by="system", reason="every test case has a result")

    def remember(self, run: TestRun) -> None:
        """A run this container just created: its results count before the cached project
        lists it among the open runs."""
        self._buckets[(run.project, run.run_id)] = run.buckets
        self._created.add((run.project, run.run_id))

    def close(self, run: TestRun, *, by: str, reason: str | None) -> TestRun:
        closed = TestRun.from_dict(
            {
                **run.to_dict(),
                "status": RunStatus.CLOSED.value,
                "closedAt": self._clock(),
                "closedBy": by,
                "closeReason": reason,
            }
        )
        if not self._runs.close(closed):
            raise Conflict(f"run {run.run_id} is closed", [field_problem("status", "is closed")])
        self._created.discard((run.project, run.run_id))
        return closed


def _changes(bucket: Bucket, results: list[Recorded]) -> list[Recorded]:
    """The results that replace their case's stored one (cases outside the run are ignored)."""
    return [
        r
        for r in results
        if r.test_case_id in bucket.cases and supersedes(r, bucket.cases[r.test_case_id])
    ]
