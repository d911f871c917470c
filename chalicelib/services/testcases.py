"""Test cases: create, read, edit (a new version each time, If-Match against lost updates), soft
delete; import and export (`services/testcase_writes.py`); registration of test cases first seen
in a report, and what results say about them (the head's last execution, the coverage links of
its requirements, its module's counters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.domain.requirements import scope_key
from chalicelib.domain.statuses import TestCaseStatus
from chalicelib.domain.testcases import TestCase, count_deltas, new_test_case
from chalicelib.errors import Conflict, NotFound, ValidationFailed, field_problem
from chalicelib.services.testcase_writes import MAX_PAGE, ImportPlan, TestCaseWrites

if TYPE_CHECKING:  # the test management models are built by their routes, not by every report
    from chalicelib.models import TestCaseIn

__all__ = ["MAX_PAGE", "ImportPlan", "TestCaseService"]


class TestCaseService(TestCaseWrites):
    __test__ = False

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
        self._versions_moved(project)
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
        self._versions_moved(project)
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
        self._versions_moved(project)
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
                    "status": TestCaseStatus.ACTIVE.value,
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
