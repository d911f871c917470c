"""`python -m bench flaky`: precision and recall of flaky detection across runs on generated
histories whose flaky test cases are known by construction.

Each generated project runs its suite nightly for `RUNS` runs; a new commit lands every few
runs. Its test cases are:
- stable: pass (a stable test is never labelled flaky);
- flaky: fail at random with their own probability (2 % to 40 %); in projects whose CI retries
  failures, a failed attempt is retried once in the same run;
- broken: a commit breaks them and they fail from then on; some are fixed by a later commit,
  some break again after that (regressions are not flakiness);
- outage runs (5 %): a shared service is down, most of the suite fails at once.

Each run is one report: the detector sees exactly what the change stream's reader keeps
(`domain.flaky.merged`, bounded), and scores every test case at three points in time. Printed:
precision and recall per class of test case, overall, and without the outage exclusion."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from chalicelib.domain import flaky as rules
from chalicelib.domain.flaky import FlakySettings, Outcome

RUNS = 60
CHECKPOINTS = (30, 45, 60)
PROJECTS = 20
TESTS = 150
SEED = 16


@dataclass
class Case:
    kind: str  # stable | flaky | broken
    p_fail: float = 0.0
    broken: list[tuple[int, int]] = field(default_factory=list)  # [start, end) runs failing


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, flagged: bool) -> None:
        if truth and flagged:
            self.tp += 1
        elif truth:
            self.fn += 1
        elif flagged:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _cases(rng: random.Random, landings: list[int]) -> list[Case]:
    """The suite; a test breaks (and is fixed) when a commit lands: `landings` are those runs."""
    cases: list[Case] = []
    for _ in range(TESTS):
        roll = rng.random()
        if roll < 0.08:
            cases.append(Case("flaky", p_fail=rng.uniform(0.02, 0.4)))
        elif roll < 0.16:
            start = rng.choice(landings)
            spans = [(start, RUNS)]
            if rng.random() < 0.6:  # fixed by a later commit
                later = [r for r in landings if start < r <= start + 15]
                end = rng.choice(later) if later else RUNS
                spans = [(start, end)]
                again = [r for r in landings if r > end + 2]
                if rng.random() < 0.3 and again:  # and broken again
                    back = rng.choice(again)
                    fixed = [r for r in landings if back < r <= back + 15]
                    spans.append((back, rng.choice(fixed) if fixed else RUNS))
            cases.append(Case("broken", broken=spans))
        else:
            cases.append(Case("stable"))
    return cases


def _project(rng: random.Random, landing: float = 0.35) -> tuple[list[Case], list[list[Outcome]]]:
    """The suite and, per run, every test case's outcomes (attempts) in that run; a commit
    lands before a run with probability `landing`."""
    landings = [r for r in range(1, RUNS) if rng.random() < landing]
    cases = _cases(rng, landings or [RUNS - 1])
    retries = rng.random() < 0.4
    commit, runs = 0, []
    for run in range(RUNS):
        commit += run in landings
        outage = rng.random() < 0.05
        at = f"2026-01-01T00:00:00.000Z+{run:04d}"
        outcomes: list[Outcome] = []
        for case in cases:
            failed = (
                (outage and rng.random() < 0.85)
                or (case.kind == "flaky" and rng.random() < case.p_fail)
                or any(a <= run < b for a, b in case.broken)
            )
            outcomes.append(Outcome(f"r{run}", 1, at, not failed, f"c{commit}"))
            if failed and retries:
                again = case.kind == "flaky" and not outage and rng.random() >= case.p_fail
                outcomes.append(Outcome(f"r{run}", 2, at, again, f"c{commit}"))
        runs.append(outcomes)
    return cases, runs


def _detect(
    cases: list[Case], runs: list[list[Outcome]], settings: FlakySettings, tallies: dict[str, Tally]
) -> None:
    histories: list[list[Outcome]] = [[] for _ in cases]
    for n, outcomes in enumerate(runs, start=1):
        finals = [o for o in outcomes if o.attempt == 1]
        failed = sum(1 for o in finals if not o.passed)
        outage = rules.is_outage(len(finals) - failed, failed, settings)
        i = -1
        for o in outcomes:
            i += o.attempt == 1
            marked = Outcome(o.run, o.attempt, o.at, o.passed, o.commit, outage)
            histories[i] = rules.merged(histories[i], [marked], settings.keep)
        if n not in CHECKPOINTS:
            continue
        for case, history in zip(cases, histories, strict=True):
            flagged = rules.score(history, settings).flaky
            truth = case.kind == "flaky"
            tallies["all"].add(truth, flagged)
            tallies[case.kind].add(truth, flagged)
            if truth:
                tallies["rare" if case.p_fail < 0.1 else "frequent"].add(truth, flagged)


def measure(
    seed: int = SEED, settings: FlakySettings | None = None, landing: float = 0.35
) -> dict[str, Tally]:
    rng = random.Random(seed)
    settings = settings or FlakySettings()
    tallies = {k: Tally() for k in ("all", "stable", "flaky", "broken", "rare", "frequent")}
    for _ in range(PROJECTS):
        cases, runs = _project(rng, landing)
        _detect(cases, runs, settings, tallies)
    return tallies


def main() -> None:
    defaults = FlakySettings()
    print(
        f"{PROJECTS} projects x {TESTS} test cases x {RUNS} runs, scored after runs "
        f"{', '.join(map(str, CHECKPOINTS))}; window {defaults.window}, threshold "
        f"{defaults.threshold}, min executions {defaults.min_executions}, outage share "
        f"{defaults.outage_share}"
    )
    for label, settings, landing in (
        ("detector (defaults)", defaults, 0.35),
        ("a new commit every run", defaults, 1.0),
        ("without outage exclusion", FlakySettings(outage_share=1.0), 0.35),
    ):
        t = measure(settings=settings, landing=landing)
        a = t["all"]
        print(
            f"{label:28s} precision {a.precision:.3f}  recall {a.recall:.3f}  "
            f"(tp {a.tp}, fp {a.fp}, fn {a.fn}; false flags: stable {t['stable'].fp}, "
            f"broken {t['broken'].fp}; recall of tests failing < 10 % of runs "
            f"{t['rare'].recall:.3f}, >= 10 % {t['frequent'].recall:.3f})"
        )


if __name__ == "__main__":
    main()
