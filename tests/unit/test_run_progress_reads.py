"""What the progress hook reads for a recorded run: nothing for a run the project's open runs do
not list, the run once per container for one they do, and a run this container created at once
(before its cached project lists it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain.runs import Bucket, Recorded, TestRun
from chalicelib.services.run_progress import RunProgress


class Runs:
    """Planned runs without buckets, counting what is read."""

    def __init__(self, *runs: TestRun) -> None:
        self.runs = {(r.project, r.run_id): r for r in runs}
        self.reads: list[str] = []

    def get(self, project: str, run_id: str) -> TestRun | None:
        self.reads.append(f"run {run_id}")
        return self.runs.get((project, run_id))

    def buckets_at(
        self, project: str, run_id: str, wanted: Mapping[int, Sequence[str]]
    ) -> dict[int, Bucket]:
        self.reads.append(f"buckets {run_id}")
        return {}

    def close(self, run: TestRun) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"not expected: {name}")


RECORDED = [Recorded("TC-1", "passed", "2026-12-02T10:00:00Z", 1, "ex-1", "ci")]


def test_a_run_the_project_does_not_list_is_not_read() -> None:
    runs = Runs(TestRun(project="P", run_id="planned"))
    progress = RunProgress(runs)  # type: ignore[arg-type]
    progress.note("P", "nightly-812", RECORDED, open_runs=set())
    progress.note("P", "planned", RECORDED, open_runs=set())  # closed, or not listed yet
    assert runs.reads == []
    progress.note("P", "planned", RECORDED, open_runs={"planned"})
    progress.note("P", "planned", RECORDED, open_runs={"planned"})
    assert runs.reads == ["run planned", "buckets planned", "buckets planned"]
    progress.note("P", "nightly-812", RECORDED)  # not known (a manual run names itself)
    assert runs.reads[-1] == "run nightly-812"


def test_a_run_created_here_counts_before_the_project_lists_it_and_not_after_it_closed() -> None:
    run = TestRun(project="P", run_id="planned")
    runs = Runs(run)
    progress = RunProgress(runs)  # type: ignore[arg-type]
    progress.remember(run)
    progress.note("P", "planned", RECORDED, open_runs=set())
    assert runs.reads == ["buckets planned"]
    progress.close(run, by="lead", reason=None)
    progress.note("P", "planned", RECORDED, open_runs=set())
    assert runs.reads == ["buckets planned"]
