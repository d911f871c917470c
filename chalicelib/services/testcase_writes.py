"""Writing test cases in bulk and what every write changes elsewhere: CSV and JSON imports
(planned row by row, then written), exports, the coverage links and module counters a write
moves. `TestCaseService` (`services/testcases.py`) builds on this."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.clock import now_iso
from chalicelib.domain.ports import (
    Cursors,
    RequirementRepository,
    TestCaseRepository,
    TransactItem,
)
from chalicelib.domain.requirements import CoverageLink
from chalicelib.domain.testcases import TestCase, count_deltas, new_test_case
from chalicelib.errors import ValidationFailed, field_problem
from chalicelib.models import parse_model

if TYPE_CHECKING:  # the file formats and models are loaded by an import or export, not by a report
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


class TestCaseWrites:
    """The repositories, the clock, imports and exports, and the effects of a write."""

    def __init__(
        self,
        cases: TestCaseRepository,
        requirements: RequirementRepository,
        cursors: Cursors,
        *,
        clock: Callable[[], str] = now_iso,
        versions_moved: Callable[[str], None] | None = None,
    ) -> None:
        self._cases = cases
        self._requirements = requirements
        self._cursors = cursors
        self._clock = clock
        # this container's remembered test-case versions of a project are stale (other
        # containers see the catalogue generation move)
        self._versions_moved = versions_moved or (lambda project: None)

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
        from chalicelib.models import TestCaseImportIn, TestCaseIn

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
        if any(before is not None for before, _ in plan.writes):  # new versions of known ones
            project = plan.writes[0][1].project
            self._cases.bump_generation(project)
            self._versions_moved(project)

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
