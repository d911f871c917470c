"""Root-cause grouping accuracy on labelled real failures, against three baselines.

The failures are `tests/fixtures/grouping/`: the test suites of real PyPI packages run with one
fault injected per run (`bench.grouping_fixtures` made them; `labels.json` says which fault
each report carries), parsed by the service's own JUnit parser. Each grouping is scored with
B-cubed precision, recall and F1 over the failures (every failure weighs the same):

- failbridge: `chalicelib.domain.signatures` + `chalicelib.domain.clusters.Grouper` (the same
  `choose` the service runs when a draft opens);
- exact message: failures with the same raw message are one group;
- ReportPortal-like: word-bigram cosine similarity of the messages >= 0.95 to a group's first
  failure (greedy, in report order);
- Sentry-like: exception type + top in-app frames (the same frame parser), message ignored.

Also signatures per second (parse excluded). Prints; asserts nothing about time.

    python -m bench.grouping"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.domain.clusters import Grouper
from chalicelib.domain.signatures import Signature, exception_of, frames_of, signature_of
from chalicelib.junit import parse_junit

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "grouping"


@dataclass(frozen=True)
class Failure:
    id: str
    fault: str
    scenario_id: str
    error: dict[str, Any]
    message: str


def load(folder: Path = FIXTURES) -> list[Failure]:
    labels = json.loads((folder / "labels.json").read_text())
    out = []
    for name in sorted(labels):
        results = parse_junit((folder / name).read_bytes())
        for n, r in enumerate(x for x in results if x.status.value == "failed"):
            error = r.error.model_dump(mode="json", exclude_none=True) if r.error else {}
            out.append(
                Failure(
                    f"{name}#{n}",
                    labels[name]["fault"],
                    r.scenario_id,
                    error,
                    str(error.get("message") or r.actual or ""),
                )
            )
    return out


def bcubed(groups: list[int], truth: list[str]) -> tuple[float, float, float]:
    by_group: dict[int, list[int]] = defaultdict(list)
    by_truth: dict[str, list[int]] = defaultdict(list)
    for i, (g, t) in enumerate(zip(groups, truth, strict=True)):
        by_group[g].append(i)
        by_truth[t].append(i)
    precision = recall = 0.0
    for g, t in zip(groups, truth, strict=True):
        same = sum(1 for j in by_group[g] if truth[j] == t)
        precision += same / len(by_group[g])
        recall += same / len(by_truth[t])
    n = len(groups)
    precision, recall = precision / n, recall / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def by_key(key: Callable[[Failure], Any], failures: list[Failure]) -> list[int]:
    ids: dict[Any, int] = {}
    return [ids.setdefault(key(f), len(ids)) for f in failures]


def failbridge(failures: list[Failure]) -> list[int]:
    grouper = Grouper()
    return [grouper.add(f.id, f.scenario_id, signature_of(f.error, f.message)) for f in failures]


def exact_message(failures: list[Failure]) -> list[int]:
    return by_key(lambda f: f.message, failures)


_WORD = re.compile(r"\w+")


def _bigrams(text: str) -> Counter[tuple[str, str]]:
    words = _WORD.findall(text.lower())
    if len(words) < 2:
        return Counter((w, "") for w in words)
    return Counter(itertools.pairwise(words))


def _cosine(a: Counter[Any], b: Counter[Any]) -> float:
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else (1.0 if not a and not b else 0.0)


def reportportal(failures: list[Failure], threshold: float = 0.95) -> list[int]:
    heads: list[Counter[Any]] = []
    out = []
    for f in failures:
        vector = _bigrams(f.message)
        for i, head in enumerate(heads):
            if _cosine(vector, head) >= threshold:
                out.append(i)
                break
        else:
            heads.append(vector)
            out.append(len(heads) - 1)
    return out


def sentry(failures: list[Failure]) -> list[int]:
    def key(f: Failure) -> tuple[str, tuple[str, ...]]:
        kind, _ = exception_of(f.error, f.message)
        frames = tuple(str(x) for x in frames_of(str(f.error.get("trace") or "")) if x.in_app)
        return kind, frames[:3]

    return by_key(key, failures)


GROUPINGS: dict[str, Callable[[list[Failure]], list[int]]] = {
    "failbridge (signature + similarity)": failbridge,
    "exact message": exact_message,
    "word-bigram cosine >= 0.95 (ReportPortal)": reportportal,
    "exception type + top frames (Sentry)": sentry,
}


def scores(failures: list[Failure]) -> dict[str, tuple[float, float, float, int]]:
    truth = [f.fault for f in failures]
    out = {}
    for name, group in GROUPINGS.items():
        groups = group(failures)
        out[name] = (*bcubed(groups, truth), len(set(groups)))
    return out


def signatures_per_second(failures: list[Failure], seconds: float = 2.0) -> float:
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for f in failures:
            signature_of(f.error, f.message)
        done += len(failures)
    return done / (time.perf_counter() - started)


def main() -> None:
    failures = load()
    faults = Counter(f.fault for f in failures)
    print(
        f"{len(failures)} failures, {len(faults)} injected faults (root causes) in "
        f"{len({f.fault.split('-')[0] for f in failures})} packages' test suites; "
        f"{len({f.scenario_id for f in failures})} scenarios"
    )
    print(f"{'grouping':44} {'precision':>9} {'recall':>7} {'F1':>6} {'groups':>6}")
    for name, (p, r, f1, n) in scores(failures).items():
        print(f"{name:44} {p:9.3f} {r:7.3f} {f1:6.3f} {n:6d}")
    sample: Signature = signature_of(failures[0].error, failures[0].message)
    print(f"signatures/s: {signatures_per_second(failures):,.0f} (e.g. {sample.summary})")


if __name__ == "__main__":
    main()
