"""Flaky test cases across runs and quarantined scenarios (rules: `chalicelib.domain.flaky`).

- `FlakyReader`, a change-stream reader, adds every passed or failed execution to its test
  case's recent outcomes (a bounded list, rewritten under a version check), lists the test case
  in the flaky index while it scores flaky, and marks it on its scenario (`mutedCases`) when its
  verdict changes: the recording path reads the marks with the scenario it updates anyway.
- The API: the flaky list, quarantines (end by themselves: compared with the clock when read),
  and the project's detection settings."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain import flaky as rules
from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.conflicts import TransactionConflict
from chalicelib.domain.flaky import FlakySettings, Outcome
from chalicelib.domain.ports import FlakyStore, ProjectRepository, ScenarioRepository
from chalicelib.domain.statuses import ResultStatus
from chalicelib.errors import NotFound, ValidationFailed, field_problem

SAVE_ATTEMPTS = 8
QUARANTINE_KEEP_SECONDS = 24 * 3600  # the item's TTL: a day after its end


class FlakyReader:
    """The change stream's reader for flaky detection: executions into their test case's
    recent outcomes, verdict changes onto its scenario. Idempotent: an outcome is keyed by
    (run, attempt), and the scenario's marks are set operations."""

    name = "flaky"

    def __init__(
        self, store: FlakyStore, projects: ProjectRepository, scenarios: ScenarioRepository
    ) -> None:
        self.store = store
        self.projects = projects
        self.scenarios = scenarios

    def apply(self, events: Sequence[ChangeEvent]) -> None:
        by_case: dict[str, dict[tuple[str, str], list[Outcome]]] = defaultdict(dict)
        for e in events:
            d = e.data
            if e.kind != ChangeKind.EXECUTION_RECORDED or d.get("status") not in (
                ResultStatus.PASSED,
                ResultStatus.FAILED,
            ):
                continue
            if not d.get("scenarioId") or not d.get("testCaseId"):
                continue
            case = (str(d["scenarioId"]), str(d["testCaseId"]))
            by_case[e.project].setdefault(case, []).append(
                Outcome(
                    run=str(d.get("runId")),
                    attempt=int(d.get("attempt") or 1),
                    at=e.at,
                    passed=d["status"] == ResultStatus.PASSED,
                    commit=d.get("commit"),
                    outage=bool(d.get("outage")),
                )
            )
        for project, cases in by_case.items():
            settings = FlakySettings.of_project(self.projects.get(project) or {})
            self._apply_project(project, cases, settings)

    def _apply_project(
        self,
        project: str,
        cases: dict[tuple[str, str], list[Outcome]],
        settings: FlakySettings,
    ) -> None:
        held, _ = self.store.load(project, list(cases), [])
        for case, outcomes in cases.items():
            current = held.get(case)
            for attempt in range(SAVE_ATTEMPTS):
                try:
                    self._save(project, case, current, outcomes, settings)
                    break
                except TransactionConflict:
                    if attempt == SAVE_ATTEMPTS - 1:
                        raise
                    time.sleep(random.uniform(0, 0.02 * 2**attempt))
                    current = self.store.load(project, [case], [])[0].get(case)

    def _save(
        self,
        project: str,
        case: tuple[str, str],
        current: dict[str, Any] | None,
        outcomes: list[Outcome],
        settings: FlakySettings,
    ) -> None:
        before = [Outcome.of_stored(o) for o in (current or {}).get("history") or []]
        history = rules.merged(before, outcomes, settings.keep)
        flaky = rules.score(history, settings).flaky
        was = bool((current or {}).get("flaky"))
        if flaky != was:  # marked first: a crash before the save marks it again next time
            self.scenarios.mark_flaky(project, case[0], case[1], flaky)
        since = (current or {}).get("flakySince") if was else None
        fields: dict[str, Any] = {
            "history": [o.stored() for o in history],
            "flaky": flaky,
            "updatedAt": history[-1].at if history else None,
        }
        if flaky:
            fields["flakySince"] = since or history[-1].at
        self.store.save_history(
            project,
            case[0],
            case[1],
            {k: v for k, v in fields.items() if v is not None},
            version=(current or {}).get("version"),
            listed=flaky,
        )


class FlakyService:
    def __init__(
        self,
        store: FlakyStore,
        projects: ProjectRepository,
        scenarios: ScenarioRepository,
        *,
        clock: Callable[[], str] = now_iso,
        wall: Callable[[], float] = time.time,
        forget_project: Callable[[str], None] = lambda key: None,
    ) -> None:
        self.store = store
        self.projects = projects
        self.scenarios = scenarios
        self._clock = clock
        self._wall = wall
        self._forget = forget_project
        self.reader = FlakyReader(store, projects, scenarios)

    # -- the API ---------------------------------------------------------------------------------

    def _project(self, project: str) -> dict[str, Any]:
        found = self.projects.get(project)
        if found is None:
            raise NotFound(f"project {project} does not exist")
        return found

    def flaky(self, project: str) -> dict[str, Any]:
        """The flaky test cases (scored now, with the project's current settings) and the
        quarantines still in force."""
        settings = FlakySettings.of_project(self._project(project))
        now = self._clock()
        quarantines: dict[str, dict[str, Any]] = {}
        cases = []
        for item in self.store.listed(project):
            if item["kind"] == "quarantine":
                if rules.quarantine_active(item, now):
                    quarantines[str(item["scenarioId"])] = _quarantine_view(item)
            else:
                cases.append(item)
        items = []
        for item in cases:
            history = [Outcome.of_stored(o) for o in item.get("history") or []]
            scored = rules.score(history, settings)
            if not scored.flaky:
                continue
            items.append(
                {
                    "scenarioId": item["scenarioId"],
                    "testCaseId": item["testCaseId"],
                    **scored.view(),
                    "window": settings.window,
                    "since": item.get("flakySince"),
                    "lastRuns": [o.view() for o in reversed(history[-settings.window :])],
                    "quarantine": quarantines.get(str(item["scenarioId"])),
                }
            )
        return {
            "project": project,
            "settings": settings.view(),
            "items": items,
            "quarantined": [{"scenarioId": s, **q} for s, q in sorted(quarantines.items())],
        }

    def quarantine(
        self, project: str, scenario_id: str, body: dict[str, Any], by: str
    ) -> dict[str, Any]:
        """Mute the scenario's failures until `until` (422 naming `until` / `reason`)."""
        self._project(project)
        now = self._clock()
        problems = rules.quarantine_problems(body.get("until"), body.get("reason"), now)
        if problems:
            raise ValidationFailed(
                "the quarantine is not valid", [field_problem(f, p) for f, p in problems]
            )
        until = rules.parse_instant(str(body["until"]))
        assert until is not None
        if not self.scenarios.set_quarantine_until(project, scenario_id, rules.iso(until)):
            raise NotFound(f"scenario {scenario_id} does not exist in project {project}")
        quarantine = {
            "until": rules.iso(until),
            "reason": str(body["reason"]).strip(),
            "by": by,
            "at": now,
        }
        expires = int(until.timestamp()) + QUARANTINE_KEEP_SECONDS
        self.store.put_quarantine(project, scenario_id, quarantine, expires)
        return {"scenarioId": scenario_id, "active": True, **quarantine}

    def end_quarantine(self, project: str, scenario_id: str) -> dict[str, Any]:
        """End it now; 404 when the scenario has no quarantine in force."""
        self._project(project)
        old = self.store.delete_quarantine(project, scenario_id)
        self.scenarios.set_quarantine_until(project, scenario_id, None)
        if old is None or not rules.quarantine_active(old, self._clock()):
            raise NotFound(f"scenario {scenario_id} has no quarantine in force")
        return {"scenarioId": scenario_id, "active": False, **_quarantine_view(old)}

    def save_settings(self, project: str, values: dict[str, Any]) -> dict[str, Any]:
        """Set the project's detection settings (422 naming a field out of range)."""
        current = FlakySettings.of_project(self._project(project))
        merged = {**current.view(), **{k: v for k, v in values.items() if v is not None}}
        problems = rules.setting_problems(merged)
        if problems:
            raise ValidationFailed(
                "the flaky settings are not valid", [field_problem(f, p) for f, p in problems]
            )
        fields = {
            k: Decimal(str(v))
            for k, v in rules.settings_attributes({k: merged[k] for k in rules.SETTINGS}).items()
        }
        self.projects.set_fields(project, fields)
        self._forget(project)
        return {"project": project, "settings": FlakySettings.of_project(fields).view()}


def _quarantine_view(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item.get(k) for k in ("until", "reason", "by", "at")}
