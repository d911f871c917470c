"""Quality gates: a metric compared with a threshold. Which metrics and operators exist, how a
gate's value is read from the figures (`domain.metrics.figures`) or from a run's executions,
and the recommendation a CI job prints."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.executions import Execution
from chalicelib.domain.metrics import ratio
from chalicelib.domain.statuses import ResultStatus as R
from chalicelib.errors import ValidationFailed, field_problem

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "ne": operator.ne,
}
SYMBOLS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "ne": "!="}

# metric -> what it is (the recommendation's words); run-scoped ones are marked in RUN_METRICS.
METRICS: dict[str, str] = {
    "passRate": "pass rate (%)",
    "flakyRate": "flaky rate (%)",
    "criticalDefects": "open critical defects",
    "openDefects": "open defects",
    "coverage": "requirements coverage (%)",
    "retestBacklog": "resolved defects waiting for their re-test",
    "newFailures": "failing scenarios of the run with no live ticket",
    "falsePositiveRate": "false-positive rate (%)",
    "reopenRate": "reopen rate (%)",
    "retestSuccessRate": "re-test success rate (%)",
    "automationRate": "automation rate (%)",
}
RUN_METRICS = frozenset({"passRate", "flakyRate", "newFailures"})  # from the run when runId


@dataclass(frozen=True)
class Gate:
    metric: str
    operator: str
    threshold: float
    module: str | None = None
    severity: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": self.metric,
            "operator": self.operator,
            "threshold": self.threshold,
        }
        if self.module:
            out["module"] = self.module
        if self.severity:
            out["severity"] = self.severity
        return out


def check(gates: Sequence[Gate], field: str = "gates", *, run_id: str | None = None) -> None:
    """422 naming every unknown metric or operator (and newFailures without a run)."""
    problems = []
    for i, g in enumerate(gates):
        if g.metric not in METRICS:
            problems.append(
                field_problem(
                    f"{field}[{i}].metric",
                    f"unknown metric {g.metric!r}; one of {', '.join(sorted(METRICS))}",
                )
            )
        if g.operator not in OPERATORS:
            problems.append(
                field_problem(
                    f"{field}[{i}].operator",
                    f"unknown operator {g.operator!r}; one of {', '.join(OPERATORS)}",
                )
            )
    if problems:
        raise ValidationFailed("unknown metric or operator", problems)


def run_figures(executions: Sequence[Execution]) -> dict[str, float | None]:
    """A run's own figures: its executions' pass rate and flaky rate, and its new failures
    (failing scenarios whose failure opened a new draft: they had no live ticket)."""
    passed = sum(1 for e in executions if e.status == R.PASSED)
    executed = sum(1 for e in executions if e.status in (R.PASSED, R.FAILED, R.BLOCKED))
    flaky = sum(1 for e in executions if e.flaky)
    new = {e.scenario_id for e in executions if e.status == R.FAILED and e.opened_ticket}
    return {
        "passRate": ratio(passed, executed),
        "flakyRate": ratio(flaky, len(executions)),
        "newFailures": float(len(new)),
    }


def value_of(gate: Gate, figures: dict[str, Any]) -> float | None:
    """A gate's value from the period's figures of its scope."""
    open_defects = figures["openDefects"]
    if gate.metric == "passRate":
        return figures["testExecution"]["passRate"]  # type: ignore[no-any-return]
    if gate.metric == "criticalDefects":
        return float(open_defects["bySeverity"].get("critical", 0))
    if gate.metric == "openDefects":
        if gate.severity:
            return float(open_defects["bySeverity"].get(gate.severity, 0))
        return float(open_defects["total"])
    if gate.metric == "coverage":
        return figures["coverage"]["requirements"]["percentage"]  # type: ignore[no-any-return]
    if gate.metric == "automationRate":
        return figures["coverage"]["testCases"]["automationRate"]  # type: ignore[no-any-return]
    if gate.metric == "retestBacklog":
        return float(figures["retestBacklog"])
    if gate.metric == "newFailures":
        return None  # only a run has new failures
    return figures.get(gate.metric)


def verdict(gate: Gate, value: float | None) -> dict[str, Any]:
    """A gate with no value (nothing measured) fails: a build is not passed on no evidence."""
    passed = value is not None and OPERATORS[gate.operator](value, gate.threshold)
    return {**gate.to_dict(), "value": value, "passed": passed}


def recommendation(results: Sequence[dict[str, Any]]) -> str:
    parts = reasons(results)
    if not parts:
        return "All quality gates passed."
    return "Not ready: " + "; ".join(parts) + "."


def reasons(results: Sequence[dict[str, Any]]) -> list[str]:
    """One sentence per failed gate: what to bring where."""
    parts = []
    for r in results:
        if r["passed"]:
            continue
        what = METRICS[r["metric"]]
        where = f" in module {r['module']}" if r.get("module") else ""
        wanted = f"{SYMBOLS[r['operator']]} {_num(r['threshold'])}"
        if r["value"] is None:
            parts.append(f"measure the {what}{where} (no data yet; needs {wanted})")
        else:
            parts.append(f"bring the {what}{where} from {_num(r['value'])} to {wanted}")
    return parts


# -- a release's or sprint's own figures -------------------------------------------------------

# Measured on the release's (or sprint's) stories themselves; other metrics of a release gate
# are read from the project's figures (last 30 days, the gate's module if it names one).
SCOPE_METRICS = frozenset({"passRate", "openDefects", "criticalDefects", "coverage"})
# Used when the project has saved no gate named "release" (or "sprint" for a sprint view).
DEFAULT_SCOPE_GATES = (
    Gate("passRate", "gte", 95.0),
    Gate("criticalDefects", "eq", 0.0),
    Gate("coverage", "gte", 80.0),
)


def scope_figures(
    stories: int,
    untested: int,
    results: dict[str, str | None],
    defects: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """A release's figures from its stories: pass rate of its test cases' last results in the
    release (those run there), its open defects (each once) by severity, and coverage: the
    share of its stories with at least one test case."""
    run = [s for s in results.values() if s is not None]
    passed = sum(1 for s in run if s == R.PASSED)
    by_severity: dict[str, int] = {}
    for d in defects:
        key = d.get("severity") or "unknown"
        by_severity[key] = by_severity.get(key, 0) + 1
    return {
        "stories": stories,
        "testCases": len(results),
        "executed": len(run),
        "passRate": ratio(passed, len(run)),
        "openDefects": {"total": len(defects), "bySeverity": by_severity},
        "coverage": ratio(stories - untested, stories),
    }


def scope_value(gate: Gate, figures: dict[str, Any]) -> float | None:
    """A gate's value from `scope_figures` (only SCOPE_METRICS)."""
    if gate.metric == "coverage":
        return figures["coverage"]  # type: ignore[no-any-return]
    shaped = {
        "testExecution": {"passRate": figures["passRate"]},
        "openDefects": figures["openDefects"],
    }
    return value_of(gate, shaped)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
