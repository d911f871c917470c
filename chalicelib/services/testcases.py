"""Test cases: create, read, edit (a new version each time, If-Match against lost updates), soft
delete, import and export; registration of test cases first seen in a report, and what results
say about them (the head's last execution, the coverage links of its requirements, its module's
counters)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.clock import now_iso
from chalicelib.domain.changes import ChangeEvent, ChangeKind
from chalicelib.domain.ports import (
    Cursors,
    RequirementRepository,
    TestCaseRepository,
    TransactItem,
)
from chalicelib.domain.requirements import CoverageLink, scope_key
from chalicelib.domain.testcases import TestCase, count_deltas, new_test_case
from chalicelib.errors import Conflict, NotFound, ValidationFailed, field_problem
from chalicelib.models import TestCaseImportIn, TestCaseIn, parse_model

if TYPE_CHECKING:  # the file formats are loaded by an import or export, not by every report
    from chalicelib.domain.testcase_files import ParsedCase, RowError

MAX_PAGE = 200


@dataclass
class ImportPlan:
    """What an import would do, row by row, before anything is written."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    writes: list[tuple[TestCase | None, TestCase]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        actions = [r["action"] for r in self.rows]
        return {
            "testCases": len(self.rows),
            "created": actions.count("create"),
            "updated": actions.count("update"),
            "unchanged": actions.count("unchanged"),
            "invalid": actions.count("invalid"),
        }


class TestCaseService:
    __test__ = False

    def __init__(
        self,
        cases: TestCaseRepository,
        requirements: RequirementRepository,
        cursors: Cursors,
        *,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._cases = cases
        self._requirements = requirements
        self._cursors = cursors
        self._clock = clock

    # -- one test case ---------------------------------------------------------------------

    def create(self, project: str, body: TestCaseIn, by: str | None) -> dict[str, Any]:
        if not body.test_case_id:
            raise ValidationFailed(
                "a test case needs its id", [field_problem("testCaseId", "is required")]
            )
        existing = self._cases.get(project, body.test_case_id)
        if existing is not None and not existing.deleted:
            raise Conflict(f"test case {body.test_case_id} exists; PUT edits it")
        at = self._clock()
        if existing is not None:  # a deleted one comes back as its next version
            case = existing.edited(body.content(), at=at, by=by)
            self._cases.save(case, existing.version, self._counted([(existing, case)]))
        else:
            case = new_test_case(project, body.test_case_id, body.content(), at=at, by=by)
            self._cases.create(case, self._counted([(None, case)]))
        self._link([(existing, case)], at)
        return case.view()

    def get(self, project: str, test_case_id: str) -> dict[str, Any]:
        return self._live(project, test_case_id).view()

    def page(
        self,
        project: str,
        *,
        limit: int,
        cursor: str | None,
        module: str | None = None,
        suite: str | None = None,
    ) -> dict[str, Any]:
        cases, next_key = self._cases.page(
            project, limit=min(max(limit, 1), MAX_PAGE), cursor=self._cursors.decode(cursor)
        )
        items = [
            c.view()
            for c in cases
            if not c.deleted
            and (module is None or c.module == module)
            and (suite is None or c.suite == suite)
        ]
        return {"items": items, "next": self._cursors.encode(next_key)}

    def update(
        self,
        project: str,
        test_case_id: str,
        body: TestCaseIn,
        if_match: int | None,
        by: str | None,
    ) -> dict[str, Any]:
        """A new version; `if_match` (or the body's `version`) is the version the edit started
        from: another edit in between is a 412, not a lost update."""
        current = self._live(project, test_case_id)
        if body.test_case_id and body.test_case_id != test_case_id:
            raise ValidationFailed(
                "the id in the body is not the one in the path",
                [field_problem("testCaseId", f"must be {test_case_id} or left out")],
            )
        expected = if_match if if_match is not None else body.version
        if expected is None:
            expected = current.version
        if current.same_content(body.content()) and expected == current.version:
            return current.view()  # nothing changed: no new version
        case = current.edited(body.content(), at=self._clock(), by=by)
        case.version = expected + 1
        self._cases.save(case, expected, self._counted([(current, case)]))
        self._link([(current, case)], case.updated_at or self._clock())
        return case.view()

    def delete(
        self, project: str, test_case_id: str, if_match: int | None, by: str | None
    ) -> dict[str, Any]:
        current = self._live(project, test_case_id)
        expected = if_match if if_match is not None else current.version
        case = current.removed(at=self._clock(), by=by)
        case.version = expected + 1
        self._cases.save(case, expected, self._counted([(current, case)]))
        self._link([(current, case)], case.updated_at or self._clock())
        return {"testCaseId": test_case_id, "deleted": True, "version": case.version}

    def versions(self, project: str, test_case_id: str) -> dict[str, Any]:
        """Every version, oldest first; readable after the test case is deleted."""
        items = self._cases.versions(project, test_case_id)
        if not items:
            raise NotFound(f"no test case {test_case_id} in {project}")
        return {"items": items}

    def _live(self, project: str, test_case_id: str) -> TestCase:
        case = self._cases.get(project, test_case_id)
        if case is None or case.deleted:
            what = "was deleted (its versions stay readable)" if case else "is unknown"
            raise NotFound(f"test case {test_case_id} {what}")
        return case

    # -- import and export ---------------------------------------------------------------

    def import_csv(self, project: str, text: str, *, dry_run: bool, by: str | None) -> dict:
        from chalicelib.domain.testcase_files import read_csv

        parsed, errors, unknown = read_csv(text)
        plan = self._plan(project, parsed, errors)
        plan.unknown_columns = unknown
        return self._run(plan, project, dry_run, by)

    def import_json(self, project: str, data: Any, *, dry_run: bool, by: str | None) -> dict:
        plan = self._plan(project, self.parse_json(data), [])
        return self._run(plan, project, dry_run, by, rows_name="testCases")

    def parse_json(self, data: Any) -> list[ParsedCase]:
        """A JSON import's items (a list, or `{"testCases": [...]}`), problems by item."""
        from chalicelib.domain.testcase_files import ParsedCase, RowError

        items = data if isinstance(data, list) else None
        if items is None:
            items = parse_model(TestCaseImportIn, data).test_cases
        parsed: list[ParsedCase] = []
        for n, item in enumerate(items):
            try:
                body = parse_model(TestCaseIn, item)
            except ValidationFailed as exc:
                ident = str(item.get("testCaseId") or "") if isinstance(item, dict) else ""
                case = ParsedCase(n, ident, {}, [n])
                case.errors = [RowError(n, d["field"], d["problem"]) for d in exc.details]
                parsed.append(case)
                continue
            case = ParsedCase(n, body.test_case_id or "", body.content(), [n])
            if not body.test_case_id:
                case.errors.append(RowError(n, "testCaseId", "is required"))
            parsed.append(case)
        seen: dict[str, int] = {}
        for case in parsed:
            if case.test_case_id and case.test_case_id in seen:
                case.errors.append(
                    RowError(case.row, "testCaseId", f"repeats item {seen[case.test_case_id]}")
                )
            seen.setdefault(case.test_case_id, case.row)
        return parsed

    def _plan(self, project: str, parsed: list[ParsedCase], errors: list[RowError]) -> ImportPlan:
        plan = ImportPlan(errors=list(errors))
        existing = self._cases.get_many(project, [c.test_case_id for c in parsed if c.test_case_id])
        at = self._clock()
        for case in parsed:
            row: dict[str, Any] = {"row": case.row, "testCaseId": case.test_case_id or None}
            if case.errors:
                row.update(action="invalid", errors=[e.detail() for e in case.errors])
                plan.errors.extend(case.errors)
            else:
                before = existing.get(case.test_case_id)
                if before is None:
                    after = new_test_case(project, case.test_case_id, case.content, at=at, by=None)
                    row["action"] = "create"
                    plan.writes.append((None, after))
                elif not before.deleted and before.same_content(case.content):
                    row.update(action="unchanged", version=before.version)
                else:
                    after = before.edited(case.content, at=at, by=None)
                    row.update(action="update", version=after.version)
                    plan.writes.append((before, after))
            plan.rows.append(row)
        return plan

    def _run(
        self, plan: ImportPlan, project: str, dry_run: bool, by: str | None, rows_name: str = "rows"
    ) -> dict[str, Any]:
        out = {
            "dryRun": dry_run,
            "valid": not plan.errors,
            "summary": plan.summary(),
            "unknownColumns": plan.unknown_columns,
            "rows": plan.rows,
        }
        if dry_run:
            return out
        if plan.errors:
            raise ValidationFailed(
                f"{len(plan.errors)} problems in the import; nothing was written",
                [field_problem(f"{rows_name}[{e.row}].{e.column}", e.problem) for e in plan.errors],
            )
        out["imported"] = self.write(plan, by)
        return out

    def plan(self, project: str, parsed: list[ParsedCase]) -> ImportPlan:
        """What importing these parsed cases would do against the stored heads (no writes)."""
        return self._plan(project, parsed, [])

    def write(self, plan: ImportPlan, by: str | None) -> int:
        """Write a valid plan's new versions and heads, and what follows from them."""
        self.write_cases(plan, by)
        if plan.writes:
            self._cases.add_counts(plan.writes[0][1].project, count_deltas(plan.writes))
        return len(plan.writes)

    def write_cases(self, plan: ImportPlan, by: str | None) -> None:
        """A plan's coverage links, then its versions and heads; not the module counters (a
        large import moves those with its cursor). Links first: a head written means its links
        are, so a write redone after a crash (which plans those heads as unchanged) misses none."""
        for _, after in plan.writes:
            after.created_by = after.created_by or by
            after.updated_by = by
        self._link(plan.writes, self._clock())
        self._cases.put_many([after for _, after in plan.writes])

    def count_items(self, project: str, deltas: dict[str, dict[str, int]]) -> list[TransactItem]:
        """Module counter moves as transaction items (for a write that carries them)."""
        return self._cases.count_items(project, deltas)

    def export(self, project: str, fmt: str) -> Iterator[str]:
        """Every live test case, streamed: CSV (failbridge's columns) or JSON."""
        cases = (c.view() for c in self._cases.every(project) if not c.deleted)
        if fmt == "csv":
            from chalicelib.domain.testcase_files import write_csv

            yield from write_csv(cases)
            return
        yield '{"testCases": ['
        for n, case in enumerate(cases):
            body = {k: case[k] for k in ("testCaseId", *list(case)[1:13])}
            yield ("," if n else "") + json.dumps(body, separators=(",", ":"))
        yield "]}"

    # -- what writes change elsewhere ------------------------------------------------------

    def _after_write(self, writes: Sequence[tuple[TestCase | None, TestCase]], at: str) -> None:
        """Coverage links follow the requirements; module counters follow the test cases."""
        if writes:
            self._link(writes, at)
            self._cases.add_counts(writes[0][1].project, count_deltas(writes))

    def _counted(self, writes: Sequence[tuple[TestCase | None, TestCase]]) -> list[TransactItem]:
        """One test case's counter moves, for the transaction that writes it: a retried create,
        edit or delete (409, 412, 404 once the first landed) can never count it twice or not
        at all."""
        return self._cases.count_items(writes[0][1].project, count_deltas(writes))

    def _link(self, writes: Sequence[tuple[TestCase | None, TestCase]], at: str) -> None:
        """Coverage links follow the requirements (idempotent puts and deletes)."""
        if not writes:
            return
        project = writes[0][1].project
        added: list[CoverageLink] = []
        removed: list[tuple[str, str]] = []
        for before, after in writes:
            old = set(before.requirements) if before and not before.deleted else set()
            new = set(after.requirements) if not after.deleted else set()
            last = after.last_execution or {}
            added.extend(
                CoverageLink(
                    project=project,
                    requirement_id=r,
                    test_case_id=after.test_case_id,
                    status=last.get("status"),
                    at=last.get("at"),
                    version=last.get("version"),
                    scenario_id=last.get("scenarioId"),
                )
                for r in sorted(new - old)
            )
            removed.extend((r, after.test_case_id) for r in sorted(old - new))
        self._requirements.ensure(project, sorted({link.requirement_id for link in added}), at)
        self._requirements.link(added)
        self._requirements.unlink(project, removed)

    # -- results (ResultsService calls these through the TestCatalog port) -----------------

    def register(
        self, project: str, results: Sequence[Any], at: str, by: str | None
    ) -> dict[str, int]:
        """The version each reported test case runs at; unknown ones are registered (method
        automated, from what the result says) in batches: a report of 10,000 new test cases
        costs 800 BatchWriteItems, not 10,000 conditional puts. Two reports seeing the same new
        test case at the same moment both write its version 1 (the same facts); its module
        counts it once, at its first result (`uncounted` until then)."""
        ids = list(dict.fromkeys(r.test_case_id for r in results))
        known = self._cases.current_versions(project, ids)
        versions = dict(known)
        first = {r.test_case_id: r for r in reversed(results)}
        created: list[TestCase] = []
        for tc in ids:
            if tc in known:
                continue
            r = first[tc]
            case = new_test_case(
                project,
                tc,
                {
                    "title": r.title or tc,
                    "module": r.module_name,
                    "method": "automated",
                    "requirements": list(dict.fromkeys(r.requirements)),
                    "jiraTestKey": r.jira_test_key,
                    "status": "active",
                },
                at=at,
                by=by,
            )
            case.other["uncounted"] = True  # its module counts it at its first result
            created.append(case)
            versions[tc] = 1
        if created:
            self._cases.put_many(created)
            self._after_write([(None, case) for case in created], at)
        return versions

    def note(self, project: str, notes: Sequence[dict[str, Any]]) -> None:
        """Each test case's latest result: on its head, its module's counters and the coverage
        links of its requirements (overall, and for the release and sprint its run named).
        Replays change nothing: a head keeps the later of two results (time, then attempt)."""
        moved: list[tuple[TestCase | None, TestCase]] = []
        for note in notes:
            last = {k: v for k, v in note.items() if k != "testCaseId" and v is not None}
            before = self._cases.note_execution(project, note["testCaseId"], last)
            if before is None:
                continue
            after = TestCase.from_dict({**before.to_dict(), "lastExecution": last})
            after.other.pop("uncounted", None)
            moved.append((before, after))
            if after.deleted:
                continue
            fields = {
                "status": note["status"],
                "at": note["at"],
                "version": note.get("version"),
                "scenarioId": note.get("scenarioId"),
            }
            scoped = {
                scope_key(kind, note[kind]): {"status": note["status"], "at": note["at"]}
                for kind in ("release", "sprint")
                if note.get(kind)
            }
            for r in after.requirements:
                self._requirements.note_execution(
                    project, r, after.test_case_id, {k: v for k, v in fields.items() if v}, scoped
                )
        self._cases.add_counts(project, count_deltas(moved))


class CoverageReader:
    """A reader of the change stream: recorded executions update their test case's last
    result, its requirements' coverage links and its module's counters, off the request path."""

    name = "coverage"

    def __init__(self, test_cases: TestCaseService) -> None:
        self._test_cases = test_cases

    def apply(self, events: Sequence[ChangeEvent]) -> None:
        latest: dict[tuple[str, str], ChangeEvent] = {}
        for event in events:
            if event.kind != ChangeKind.EXECUTION_RECORDED or not event.data.get("testCaseId"):
                continue
            key = (event.project, str(event.data["testCaseId"]))
            seen = latest.get(key)
            if seen is None or _order(event) >= _order(seen):
                latest[key] = event
        by_project: dict[str, list[dict[str, Any]]] = {}
        for (project, test_case_id), event in latest.items():
            data = event.data
            by_project.setdefault(project, []).append(
                {
                    "testCaseId": test_case_id,
                    "status": data.get("status"),
                    "executionId": data.get("executionId"),
                    "runId": data.get("runId"),
                    "at": event.at,
                    "attempt": data.get("attempt"),
                    "version": data.get("testCaseVersion"),
                    "scenarioId": data.get("scenarioId"),
                    "release": data.get("release"),
                    "sprint": data.get("sprint"),
                }
            )
        for project, notes in by_project.items():
            self._test_cases.note(project, notes)


def _order(event: ChangeEvent) -> tuple[str, int]:
    return event.at, int(event.data.get("attempt") or 1)
