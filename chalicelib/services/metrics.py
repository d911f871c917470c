"""Metrics and quality gates: the change stream's metrics reader keeps the aggregates
(`domain.metrics`), the endpoint reads only them, gates compare their figures (or a run's
executions) with thresholds, and a rebuild replays the stored history into a fresh generation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from chalicelib.clock import now_iso
from chalicelib.domain import gates as gate_rules
from chalicelib.domain import metrics as m
from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.conflicts import TransactionConflict
from chalicelib.domain.gates import Gate
from chalicelib.domain.ports import (
    AlreadyApplied,
    ExecutionRepository,
    GateRepository,
    MetricsStore,
    ProjectRepository,
)
from chalicelib.errors import NotFound, ValidationFailed, field_problem

COUNTED = frozenset(
    {
        ChangeKind.EXECUTION_RECORDED,
        ChangeKind.TICKET_OPENED,
        ChangeKind.TICKET_MOVED,
        ChangeKind.TICKET_OCCURRENCES,
    }
)
TRANSACTION_ITEMS = 100
CHUNK_EVENTS = 16  # events per commit (fewer when their writes exceed a transaction)
CONFLICT_RETRIES = 8
DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 366


class History(Protocol):
    """The stored history a rebuild replays: every change event the project's tickets and
    executions stand for."""

    def events(self, project: str) -> Iterable[ChangeEvent]: ...


class MetricsReader:
    """The change stream's metrics reader (a `ChangeReader`)."""

    name = "metrics"

    def __init__(self, store: MetricsStore) -> None:
        self.store = store

    def apply(self, events: Sequence[ChangeEvent]) -> None:
        by_project: dict[str, list[ChangeEvent]] = {}
        for event in events:
            if event.kind in COUNTED:
                by_project.setdefault(event.project, []).append(event)
        for project, mine in by_project.items():
            self.apply_to(project, self.store.generation(project), mine)

    def apply_to(self, project: str, generation: str, events: Sequence[ChangeEvent]) -> int:
        """Apply events to one generation, in order, in commits of several events; returns
        how many were new. An event applied before changes nothing."""
        applied, start = 0, 0
        size = CHUNK_EVENTS
        while start < len(events):
            chunk = events[start : start + size]
            try:
                applied += self._commit(project, generation, chunk)
            except _TooBig:
                size = max(1, len(chunk) // 2)
                continue
            except AlreadyApplied:
                if len(chunk) > 1:  # find which: one at a time
                    for event in chunk:
                        applied += self._commit_one(project, generation, event)
            start += len(chunk)
            size = CHUNK_EVENTS
        return applied

    def _commit_one(self, project: str, generation: str, event: ChangeEvent) -> int:
        try:
            return self._commit(project, generation, [event])
        except AlreadyApplied:
            return 0

    def _commit(self, project: str, generation: str, chunk: Sequence[ChangeEvent]) -> int:
        keys = sorted({k for e in chunk for k in m.needs(e)})
        for attempt in range(CONFLICT_RETRIES):
            loaded = self.store.load_state(project, generation, keys)
            versions = {k: (v or {}).get("_v") for k, v in loaded.items()}
            state = dict(loaded)
            plan = m.plan_all(chunk, state)
            items = len(chunk) + len(plan.state) + len(plan.buckets())
            if items > TRANSACTION_ITEMS:
                if len(chunk) == 1:
                    raise ValueError(f"event {chunk[0].id} needs {items} writes")
                raise _TooBig()
            try:
                self.store.commit(
                    project,
                    generation,
                    [e.id for e in chunk],
                    {k: (v, versions.get(k)) for k, v in plan.state.items()},
                    plan.adds,
                    plan.appends,
                    plan.members,
                )
                return len(chunk)
            except TransactionConflict:
                time.sleep(0.01 * (attempt + 1))  # another shard wrote the same state
        raise TransactionConflict()


class _TooBig(Exception):
    pass


@dataclass(frozen=True)
class Stores:
    metrics: MetricsStore
    gates: GateRepository
    executions: ExecutionRepository
    projects: ProjectRepository


class MetricsService:
    def __init__(
        self,
        stores: Stores,
        *,
        history: History | None = None,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self.stores = stores
        self.history = history
        self._clock = clock
        self.reader = MetricsReader(stores.metrics)

    # -- figures ---------------------------------------------------------------------------

    def period(self, start: str | None, end: str | None) -> m.Period:
        """`from` / `to` (YYYY-MM-DD, inclusive); the last 30 days when absent."""
        today = date.fromisoformat(self.today())
        problems = []
        parsed: dict[str, date] = {}
        for field, value in (("from", start), ("to", end)):
            if value is None:
                continue
            try:
                parsed[field] = date.fromisoformat(value[:10])
            except ValueError:
                problems.append(field_problem(field, "must be a date, YYYY-MM-DD"))
        if problems:
            raise ValidationFailed("the period is not valid", problems)
        last = parsed.get("to", today)
        first = parsed.get("from", last - timedelta(days=DEFAULT_PERIOD_DAYS - 1))
        if first > last:
            raise ValidationFailed(
                "the period is not valid", [field_problem("from", "must not be after to")]
            )
        if (last - first).days >= MAX_PERIOD_DAYS:
            raise ValidationFailed(
                "the period is too long",
                [field_problem("from", f"the period may span at most {MAX_PERIOD_DAYS} days")],
            )
        return m.Period(first.isoformat(), last.isoformat())

    def today(self) -> str:
        return self._clock()[:10]

    def figures(
        self,
        project: str,
        period: m.Period,
        module: str | None = None,
        generation: str | None = None,
    ) -> dict[str, Any]:
        """The contract's figures: the buckets of the blocks that tile the period (a BatchGetItem
        per 100 keys), never a range or a Scan."""
        store = self.stores.metrics
        gen = generation or store.generation(project)
        scope = module or m.ALL
        today = self.today()
        found = store.buckets(project, gen, m.period_keys(period, scope, today))
        out = m.figures(period, found, scope, today)
        out["module"] = module
        return out

    def metrics(
        self, project: str, start: str | None, end: str | None, module: str | None
    ) -> dict[str, Any]:
        self._project(project)
        return self.figures(project, self.period(start, end), module or None)

    # -- quality gates ---------------------------------------------------------------------

    def save_gate(
        self, project: str, name: str, gates: Sequence[Gate], description: str | None
    ) -> dict[str, Any]:
        self._project(project)
        gate_rules.check(gates)
        body = {
            "name": name,
            "gates": [g.to_dict() for g in gates],
            "description": description,
            "updatedAt": self._clock(),
        }
        self.stores.gates.put(project, name, body)
        return body

    def validate(
        self,
        project: str,
        *,
        gates: Sequence[Gate] | None,
        saved: str | None,
        run_id: str | None,
        module: str | None,
        start: str | None,
        end: str | None,
    ) -> dict[str, Any]:
        self._project(project)
        checked = self._gates(project, gates, saved, run_id)
        period = self.period(start, end)
        run: dict[str, float | None] | None = None
        if run_id:
            executions = self.stores.executions.of_run(project, run_id)
            if not executions:
                raise NotFound(f"no run {run_id!r}", [field_problem("runId", "is unknown")])
            run = gate_rules.run_figures(executions)
        scoped: dict[str | None, dict[str, Any]] = {}
        results = []
        for g in checked:
            if run is not None and g.metric in gate_rules.RUN_METRICS:
                value = run[g.metric]
            else:
                scope = g.module or module
                if scope not in scoped:
                    scoped[scope] = self.figures(project, period, scope)
                value = gate_rules.value_of(g, scoped[scope])
            results.append(gate_rules.verdict(g, value))
        return {
            "passed": all(r["passed"] for r in results),
            "results": results,
            "recommendation": gate_rules.recommendation(results),
            "period": {"start": period.start, "end": period.end},
            "runId": run_id,
        }

    def _gates(
        self, project: str, gates: Sequence[Gate] | None, saved: str | None, run_id: str | None
    ) -> Sequence[Gate]:
        """The gates given, or the saved gate's; checked (a run's figure needs the run)."""
        if (gates is None) == (saved is None):
            raise ValidationFailed(
                "give gates or a saved gate's name",
                [field_problem("gates", "give exactly one of gates and gate")],
            )
        if saved is not None:
            stored = self.stores.gates.get(project, saved)
            if stored is None:
                raise NotFound(f"no saved gate {saved!r}", [field_problem("gate", "is unknown")])
            gates = [Gate(**g) for g in stored["gates"]]
        assert gates is not None
        gate_rules.check(gates)
        if not run_id and any(g.metric == "newFailures" for g in gates):
            i = next(i for i, g in enumerate(gates) if g.metric == "newFailures")
            raise ValidationFailed(
                "newFailures is a run's figure",
                [field_problem(f"gates[{i}].metric", "newFailures needs runId")],
            )
        return gates

    def scope_verdict(self, project: str, kind: str, figures: dict[str, Any]) -> dict[str, Any]:
        """A release's (or sprint's) gate verdict: the project's saved gate named after the kind
        ("release" / "sprint"), else DEFAULT_SCOPE_GATES. Release metrics (SCOPE_METRICS, no
        module) come from the release's own `figures`; the others from the project's figures
        (the default period, the gate's module) as the CI gate reads them."""
        stored = self.stores.gates.get(project, kind)
        gates = (
            [Gate(**g) for g in stored["gates"]] if stored else list(gate_rules.DEFAULT_SCOPE_GATES)
        )
        period = self.period(None, None)
        scoped: dict[str | None, dict[str, Any]] = {}
        results = []
        for g in gates:
            if g.metric in gate_rules.SCOPE_METRICS and not g.module:
                value, source = gate_rules.scope_value(g, figures), kind
            else:
                if g.module not in scoped:
                    scoped[g.module] = self.figures(project, period, g.module)
                value, source = gate_rules.value_of(g, scoped[g.module]), "project"
            results.append({**gate_rules.verdict(g, value), "source": source})
        return {
            "evaluated": True,
            "gate": kind if stored else "default",
            "passed": all(r["passed"] for r in results),
            "results": results,
            "reasons": gate_rules.reasons(results),
            "recommendation": gate_rules.recommendation(results),
            "figures": figures,
        }

    # -- rebuild ---------------------------------------------------------------------------

    def rebuild(self, project: str) -> dict[str, Any]:
        """Replay the stored history into a new generation, make it current, replay once more
        (what the live reader wrote to the old generation meanwhile is in the history now; the
        applied-markers make the second pass count only that)."""
        if self.history is None:
            raise RuntimeError("no history source wired")
        self._project(project)
        generation = "g" + self._clock().replace(":", "").replace("-", "").replace(".", "")
        first = self.stores.metrics
        events = list(self.history.events(project))
        applied = self.reader.apply_to(project, generation, events)
        first.set_generation(project, generation)
        caught_up = self.reader.apply_to(project, generation, list(self.history.events(project)))
        return {
            "project": project,
            "generation": generation,
            "events": len(events),
            "applied": applied + caught_up,
        }

    def _project(self, project: str) -> dict[str, Any]:
        found = self.stores.projects.get(project)
        if found is None:
            raise NotFound(f"no project {project!r}")
        return found
