"""Requirements and stories: read, set, sync from Jira; and the views built from them — coverage,
and a release (Jira fixVersion) or sprint story by story with its gate verdict.

Every view reads stored rows (requirements beside their coverage links, module counters,
release/sprint membership, the scenarios' live tickets): nothing walks executions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain.gates import scope_figures
from chalicelib.domain.ports import (
    Cursors,
    ProjectRepository,
    RequirementRepository,
    ScenarioRepository,
    StorySource,
    TicketRepository,
)
from chalicelib.domain.requirements import (
    BUCKETS,
    OPEN_DEFECT_STATUSES,
    CoverageLink,
    Requirement,
    coverage_of,
    last_tested,
    scope_key,
    story_bucket,
)
from chalicelib.domain.statuses import StoryBucket
from chalicelib.domain.testcases import COUNTERS
from chalicelib.errors import NotFound, ValidationFailed, field_problem
from chalicelib.models import RequirementIn

MAX_PAGE = 1000
# Jira's JQL dates have minute resolution: each incremental sync looks back a little further
SYNC_OVERLAP = timedelta(minutes=2)


@dataclass(frozen=True)
class Stores:
    requirements: RequirementRepository
    projects: ProjectRepository
    scenarios: ScenarioRepository
    tickets: TicketRepository


class RequirementService:
    def __init__(
        self,
        stores: Stores,
        stories: Callable[[], StorySource],
        cursors: Cursors,
        test_cases: Any,
        *,
        clock: Callable[[], str] = now_iso,
        gate: Callable[[str, str, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self._s = stores
        self._stories = stories
        self._cursors = cursors
        self._test_cases = test_cases  # module counters: a TestCaseRepository
        self._clock = clock
        self._gate = gate  # (project, kind, the scope's figures) -> verdict: MetricsService

    # -- requirements ------------------------------------------------------------------------

    def page(self, project: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
        rows, next_key = self._s.requirements.page_with_links(
            project, limit=min(max(limit, 1), MAX_PAGE), cursor=self._cursors.decode(cursor)
        )
        return {
            "items": [_requirement_view(r, links) for r, links in rows],
            "next": self._cursors.encode(next_key),
        }

    def get(self, project: str, requirement_id: str) -> dict[str, Any]:
        requirement = self._s.requirements.get(project, requirement_id)
        if requirement is None:
            raise NotFound(f"no requirement {requirement_id} in {project}")
        return _requirement_view(requirement, self._s.requirements.links(project, requirement_id))

    def put(self, project: str, requirement_id: str, body: RequirementIn) -> dict[str, Any]:
        """Set a requirement of our own, or local facts on a Jira story (the next sync of a
        changed story sets its Jira fields again)."""
        old = self._s.requirements.get(project, requirement_id)
        requirement = Requirement(
            project=project,
            requirement_id=requirement_id,
            title=body.title,
            status=body.status,
            source=old.source if old else "local",
            fix_versions=list(dict.fromkeys(body.fix_versions)),
            sprints=list(dict.fromkeys(body.sprints)),
            description=body.description,
            jira_updated=old.jira_updated if old else None,
            updated_at=self._clock(),
        )
        self._s.requirements.put(requirement)
        return self.get(project, requirement_id)

    def sync(self, project: str) -> dict[str, Any]:
        """Read the stories the project's JQL finds in Jira, those updated since the last sync
        (all of them the first time); write what changed. Repeating it changes nothing."""
        mapping = (self._s.projects.get(project) or {}).get("jira") or {}
        jql = mapping.get("requirementsJql")
        if not jql:
            raise ValidationFailed(
                "the project's Jira mapping has no requirementsJql",
                [field_problem("requirementsJql", "is required: PUT /v1/projects/{p}/jira")],
            )
        started = self._clock()
        last = self._s.requirements.last_sync(project)
        since = _jql_time(last["startedAt"]) if last and last.get("jql") == jql else None
        query = f'({jql}) AND updated >= "{since}"' if since else jql
        counts = {"read": 0, "created": 0, "updated": 0, "unchanged": 0}
        for story in self._stories().stories(query, mapping.get("sprintField")):
            counts["read"] += 1
            counts[self._apply_story(project, story)] += 1
        self._s.requirements.set_last_sync(
            project, {"startedAt": started, "finishedAt": self._clock(), "jql": jql, **counts}
        )
        return {"since": since, "jql": query, **counts}

    def _apply_story(self, project: str, story: dict[str, Any]) -> str:
        old = self._s.requirements.get(project, story["key"])
        new = Requirement(
            project=project,
            requirement_id=story["key"],
            title=story.get("title"),
            status=story.get("status"),
            source="jira",
            fix_versions=list(dict.fromkeys(story.get("fixVersions") or [])),
            sprints=list(dict.fromkeys(story.get("sprints") or [])),
            description=old.description if old else None,
            jira_updated=story.get("updated"),
            updated_at=self._clock(),
        )
        if old is not None and _same_story(old, new):
            return "unchanged"
        self._s.requirements.put(new)
        return "created" if old is None else "updated"

    # -- views -----------------------------------------------------------------------------

    def coverage(self, project: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
        """Seed 003's coverage: each requirement with its test cases and coverage, and each
        module's test cases, coverage (run at least once, %) and pass rate (% of those run)."""
        rows, next_key = self._s.requirements.page_with_links(
            project, limit=min(max(limit, 1), MAX_PAGE), cursor=self._cursors.decode(cursor)
        )
        modules = []
        for m in sorted(self._test_cases.module_counts(project), key=lambda m: m["name"]):
            total, executed, passed = (int(m.get(k, 0)) for k in COUNTERS)
            if total <= 0:
                continue
            modules.append(
                {
                    "name": m["name"],
                    "testCases": total,
                    "coverage": round(100 * executed / total, 1),
                    "passRate": round(100 * passed / executed, 1) if executed else None,
                }
            )
        return {
            "requirements": [
                {
                    "id": r.requirement_id,
                    "title": r.title,
                    "testCases": [link.test_case_id for link in links],
                    "coverage": coverage_of(links),
                    "lastTested": last_tested(links),
                    "status": r.status,
                }
                for r, links in rows
            ],
            "modules": modules,
            "next": self._cursors.encode(next_key),
        }

    def scope_view(self, project: str, kind: str, name: str) -> dict[str, Any]:
        """A release (fixVersion) or sprint: its stories by where they stand, each with its
        test cases (last result in this release/sprint) and open defects; the gate verdict."""
        ids = self._s.requirements.members(project, kind, name)
        requirements = self._s.requirements.get_many(project, ids)
        scope = scope_key(kind, name)
        buckets: dict[str, list[dict[str, Any]]] = {b: [] for b in BUCKETS}
        defects_seen: dict[str, dict[str, Any]] = {}
        results: dict[str, str | None] = {}  # test case -> its last result in this scope
        for rid in sorted(requirements):
            links = self._s.requirements.links(project, rid)
            for link in links:
                results[link.test_case_id] = (link.in_.get(scope) or {}).get("status")
            defects = self._open_defects(project, links, defects_seen)
            bucket = story_bucket(links, scope, defects)
            buckets[bucket].append(
                {
                    "id": rid,
                    "title": requirements[rid].title,
                    "status": requirements[rid].status,
                    "testCases": [
                        {
                            "testCaseId": link.test_case_id,
                            "lastResult": (link.in_.get(scope) or {}).get("status"),
                            "lastRunAt": (link.in_.get(scope) or {}).get("at"),
                            "lastResultAnywhere": link.status,
                        }
                        for link in links
                    ],
                    "defects": [d for link in links for d in defects.get(link.test_case_id, [])],
                }
            )
        summary = {b: len(v) for b, v in buckets.items()}
        figures = scope_figures(
            len(requirements),
            summary[StoryBucket.UNTESTED],
            results,
            list(defects_seen_open(defects_seen)),
        )
        gate = self._gate(project, kind, figures) if self._gate else {"evaluated": False}
        return {
            kind: name,
            "stories": len(requirements),
            "summary": summary,
            **buckets,
            "gate": gate,
        }

    def _open_defects(
        self, project: str, links: list[CoverageLink], seen: dict[str, dict[str, Any]]
    ) -> dict[str, list[dict[str, Any]]]:
        """Test case -> its scenario's approved, unverified ticket (one read per scenario)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for link in links:
            if not link.scenario_id:
                continue
            if link.scenario_id not in seen:
                seen[link.scenario_id] = self._defect_of(project, link.scenario_id)
            defect = seen[link.scenario_id]
            if defect:
                out[link.test_case_id] = [defect]
        return out

    def _defect_of(self, project: str, scenario_id: str) -> dict[str, Any]:
        scenario = self._s.scenarios.get(project, scenario_id)
        if scenario is None or not scenario.live_ticket_id:
            return {}
        if scenario.live_ticket_status not in OPEN_DEFECT_STATUSES:
            return {}
        ticket = self._s.tickets.get(scenario.live_ticket_id, consistent=False)
        return {
            "ticketId": ticket.id,
            "status": ticket.status,
            "severity": ticket.severity,
            "jira": ticket.jira,
            "scenarioId": scenario_id,
        }


def defects_seen_open(seen: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The open defects met while reading a scope's stories, each once."""
    return [d for d in seen.values() if d]


def _requirement_view(r: Requirement, links: list[CoverageLink]) -> dict[str, Any]:
    return {
        "id": r.requirement_id,
        "title": r.title,
        "status": r.status,
        "source": r.source,
        "fixVersions": r.fix_versions,
        "sprints": r.sprints,
        "description": r.description,
        "jiraUpdated": r.jira_updated,
        "updatedAt": r.updated_at,
        "testCases": [
            {"testCaseId": link.test_case_id, "lastResult": link.status, "lastRunAt": link.at}
            for link in links
        ],
        "coverage": coverage_of(links),
        "lastTested": last_tested(links),
    }


def _same_story(old: Requirement, new: Requirement) -> bool:
    fields = ("title", "status", "source", "fix_versions", "sprints", "jira_updated")
    return all(getattr(old, f) == getattr(new, f) for f in fields)


def _jql_time(iso: str) -> str:
    """Our ISO time, a little earlier, in JQL's `yyyy/MM/dd HH:mm` (UTC: the sync user's Jira
    time zone should be UTC, or the overlap must cover the offset)."""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")) - SYNC_OVERLAP
    return at.strftime("%Y/%m/%d %H:%M")
