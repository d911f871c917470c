"""Test cases (a head per test case, an item per immutable version, module counters) and
requirements (requirement items, coverage links, release/sprint membership, the sync mark)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.retrying import transact_retrying
from chalicelib.adapters.dynamo.table import (
    Table,
    TransactItem,
    cancel_codes,
    strip_keys,
)
from chalicelib.domain.requirements import CoverageLink, Requirement
from chalicelib.domain.testcases import CATALOG_GENERATION, TestCase
from chalicelib.domain.testcases import COUNTERS as _COUNTERS
from chalicelib.errors import Conflict, NotFound, PreconditionFailed


def _head_item(case: TestCase) -> dict[str, Any]:
    data = {k: v for k, v in case.to_dict().items() if v is not None}
    return {**keys.test_case(case.project, case.test_case_id), **data}


def _version_item(case: TestCase) -> dict[str, Any]:
    data = {k: v for k, v in case.version_item().items() if v is not None}
    key = keys.test_case_version(case.project, case.test_case_id, case.version)
    return {**key, "project": case.project, **data}


def _case(item: dict[str, Any]) -> TestCase:
    return TestCase.from_dict(strip_keys(item))


class TestCaseRepository:
    __test__ = False

    def __init__(self, table: Table) -> None:
        self._t = table

    def get(self, project: str, test_case_id: str) -> TestCase | None:
        item = self._t.get(keys.test_case(project, test_case_id), consistent=True)
        return _case(item) if item else None

    def get_many(self, project: str, test_case_ids: Sequence[str]) -> dict[str, TestCase]:
        wanted = list(dict.fromkeys(test_case_ids))
        found = self._t.batch_get([keys.test_case(project, tc) for tc in wanted])
        cases = [_case(i) for i in found]
        return {c.test_case_id: c for c in cases}

    def current_versions(self, project: str, test_case_ids: Sequence[str]) -> dict[str, int]:
        """The current version of each known test case: its head's key and version only (a
        report's registration check reads 2,000 heads a chunk; their bodies are not needed)."""
        wanted = list(dict.fromkeys(test_case_ids))
        found = self._t.batch_get(
            [keys.test_case(project, tc) for tc in wanted],
            projection=("testCaseId", "version"),
        )
        return {str(i["testCaseId"]): int(i["version"]) for i in found}

    def create(self, case: TestCase, also: Sequence[TransactItem] = ()) -> None:
        """The first version and the head (and `also`: its module's counts), together; 409 if
        the test case exists."""
        try:
            transact_retrying(
                self._t,
                [
                    self._t.put_item(_head_item(case), "attribute_not_exists(pk)"),
                    self._t.put_item(_version_item(case), "attribute_not_exists(pk)"),
                    *also,
                    self._generation_item(case.project),
                ],
            )
        except ClientError as exc:
            codes = cancel_codes(exc)
            if codes[-1:] == ["ConditionalCheckFailed"]:
                raise NotFound(f"project {case.project} does not exist") from exc
            if "ConditionalCheckFailed" in codes:
                raise Conflict(f"test case {case.test_case_id} exists") from exc
            raise

    def save(
        self, case: TestCase, expected_version: int, also: Sequence[TransactItem] = ()
    ) -> None:
        """A new version, if the head is still at `expected_version` (else 412), with `also`
        (its module counters' moves) in the same transaction."""
        head = _head_item(case)
        head_put = self._t.put_item(head, "#v = :expected")
        head_put["Put"]["ExpressionAttributeNames"] = {"#v": "version"}
        head_put["Put"]["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        try:
            transact_retrying(
                self._t,
                [
                    head_put,
                    self._t.put_item(_version_item(case), "attribute_not_exists(pk)"),
                    *also,
                    self._generation_item(case.project),
                ],
            )
        except ClientError as exc:
            codes = cancel_codes(exc)
            if codes[-1:] == ["ConditionalCheckFailed"]:
                raise NotFound(f"project {case.project} does not exist") from exc
            if "ConditionalCheckFailed" in codes:
                raise PreconditionFailed(
                    f"test case {case.test_case_id} is no longer at version {expected_version}",
                    [{"field": "If-Match", "problem": "is not the current version"}],
                ) from exc
            raise

    def bump_generation(self, project: str) -> None:
        """Test cases of the project have new versions (an import): every container's
        remembered versions of it are stale (`services.remembered`)."""
        self._t.update(
            keys.project(project),
            "ADD #g :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#g": CATALOG_GENERATION},
            values={":one": 1},
        )

    def _generation_item(self, project: str) -> TransactItem:
        """The project's catalogue generation, moved with a test case's new version."""
        return self._t.update_item(
            keys.project(project),
            "ADD #g :one",
            condition="attribute_exists(pk)",
            names={"#g": CATALOG_GENERATION},
            values={":one": 1},
        )

    def put_many(self, cases: Sequence[TestCase]) -> None:
        """An import's writes: versions first, then heads, in batches (validated before)."""
        self._t.batch_put([_version_item(c) for c in cases])
        self._t.batch_put([_head_item(c) for c in cases])

    def versions(self, project: str, test_case_id: str) -> list[dict[str, Any]]:
        items = self._t.query_all(
            keys.test_case_versions_partition(project, test_case_id),
            sk_prefix=keys.VERSION_PREFIX,
        )
        return [{k: v for k, v in strip_keys(i).items() if k != "project"} for i in items]

    def page(
        self, project: str, *, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[TestCase], dict[str, Any] | None]:
        items, next_key = self._t.query(
            keys.test_cases_partition(project),
            sk_prefix=keys.TEST_CASE_PREFIX,
            limit=limit,
            cursor=cursor,
        )
        return [_case(i) for i in items], next_key

    def every(self, project: str) -> Iterator[TestCase]:
        """Every head, a page at a time (an export streams this)."""
        cursor = None
        while True:
            items, cursor = self._t.query(
                keys.test_cases_partition(project), sk_prefix=keys.TEST_CASE_PREFIX, cursor=cursor
            )
            yield from (_case(i) for i in items)
            if not cursor:
                return

    def note_execution(
        self, project: str, test_case_id: str, last: dict[str, Any]
    ) -> TestCase | None:
        """Set the head's last execution unless a later one (by time, then attempt) is there;
        returns the head as it was (None if no head, or a later execution was there)."""
        old = self._t.update_if(
            keys.test_case(project, test_case_id),
            "SET lastExecution = :last REMOVE uncounted",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(lastExecution) "
                "OR lastExecution.#at < :at OR (lastExecution.#at = :at "
                "AND (attribute_not_exists(lastExecution.#n) OR lastExecution.#n <= :n)))"
            ),
            ExpressionAttributeNames={"#at": "at", "#n": "attempt"},
            values={":last": last, ":at": last["at"], ":n": int(last.get("attempt") or 1)},
            ReturnValues="ALL_OLD",
        )
        if old is None:
            return None
        return _case(old) if old else None

    def add_counts(self, project: str, deltas: dict[str, dict[str, int]]) -> None:
        for module, delta in deltas.items():
            counted = _count_update(project, module, delta)
            if counted is None:
                continue
            key, update, names, values = counted
            self._t.update(key, update, ExpressionAttributeNames=names, values=values)

    def count_items(self, project: str, deltas: dict[str, dict[str, int]]) -> list[TransactItem]:
        """The same moves as `add_counts`, as transaction items (one per module)."""
        out = []
        for module, delta in deltas.items():
            counted = _count_update(project, module, delta)
            if counted is not None:
                key, update, names, values = counted
                out.append(self._t.update_item(key, update, names=names, values=values))
        return out

    def module_counts(self, project: str) -> list[dict[str, Any]]:
        items = self._t.query_all(keys.test_cases_partition(project), sk_prefix="MODULE#")
        return [strip_keys(i) for i in items]


def _count_update(
    project: str, module: str, delta: dict[str, int]
) -> tuple[keys.Key, str, dict[str, str], dict[str, Any]] | None:
    """A module counter item's UpdateExpression adding `delta` (None if it adds nothing)."""
    moved = [c for c in _COUNTERS if delta.get(c)]
    if not moved:
        return None
    names = {"#name": "name", **{f"#{c}": c for c in moved}}
    values = {":name": module, **{f":{c}": delta[c] for c in moved}}
    update = "SET #name = :name ADD " + ", ".join(f"#{c} :{c}" for c in moved)
    return keys.test_case_module(project, module), update, names, values


def _requirement(item: dict[str, Any]) -> Requirement:
    return Requirement.from_dict(strip_keys(item))


def _link_item(link: CoverageLink) -> dict[str, Any]:
    data = {k: v for k, v in link.to_dict().items() if v is not None}
    return {**keys.coverage_link(link.project, link.requirement_id, link.test_case_id), **data}


class RequirementRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def get(self, project: str, requirement_id: str) -> Requirement | None:
        item = self._t.get(keys.requirement(project, requirement_id), consistent=True)
        return _requirement(item) if item else None

    def get_many(self, project: str, ids: Sequence[str]) -> dict[str, Requirement]:
        found = self._t.batch_get([keys.requirement(project, r) for r in dict.fromkeys(ids)])
        return {r.requirement_id: r for r in (_requirement(i) for i in found)}

    def put(self, requirement: Requirement) -> Requirement | None:
        """Write a requirement; moves its release/sprint membership; returns it as it was."""
        p, r = requirement.project, requirement.requirement_id
        old = self.get(p, r)
        data = {k: v for k, v in requirement.to_dict().items() if v is not None}
        self._t.put({**keys.requirement(p, r), "kind": "requirement", **data})
        before = _scopes(old) if old else set()
        after = _scopes(requirement)
        for kind, name in before - after:
            self._t.delete(keys.scope_member(p, kind, name, r))
        self._t.batch_put(
            [
                {**keys.scope_member(p, kind, name, r), "requirementId": r}
                for kind, name in sorted(after - before)
            ]
        )
        return old

    def ensure(self, project: str, ids: Sequence[str], at: str) -> None:
        """Requirements named by test cases exist (as local ones) until Jira or a PUT says more."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return
        have = self.get_many(project, wanted)
        self._t.batch_put(
            [
                {
                    **keys.requirement(project, r),
                    "kind": "requirement",
                    "project": project,
                    "requirementId": r,
                    "source": "local",
                    "fixVersions": [],
                    "sprints": [],
                    "updatedAt": at,
                }
                for r in wanted
                if r not in have
            ]
        )

    def links(self, project: str, requirement_id: str) -> list[CoverageLink]:
        items = self._t.query_all(
            keys.requirements_partition(project),
            sk_prefix=keys.coverage_links_prefix(requirement_id),
        )
        return [CoverageLink.from_dict(strip_keys(i)) for i in items]

    def link(self, links: Sequence[CoverageLink]) -> None:
        self._t.batch_put([{**_link_item(link), "kind": "link"} for link in links])

    def unlink(self, project: str, pairs: Sequence[tuple[str, str]]) -> None:
        for r, tc in pairs:
            self._t.delete(keys.coverage_link(project, r, tc))

    def note_execution(
        self,
        project: str,
        requirement_id: str,
        test_case_id: str,
        fields: dict[str, Any],
        scopes: dict[str, dict[str, Any]],
    ) -> None:
        """The link's last result (overall and per release/sprint), if the link still exists."""
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values: dict[str, Any] = {f":f{i}": v for i, v in enumerate(fields.values())}
        sets = [f"#f{i} = :f{i}" for i in range(len(fields))]
        if scopes:
            names["#in"] = "in"
        for i, (scope, value) in enumerate(scopes.items()):
            names[f"#s{i}"] = scope
            values[f":s{i}"] = value
            sets.append(f"#in.#s{i} = :s{i}")
        self._t.update_if(
            keys.coverage_link(project, requirement_id, test_case_id),
            "SET " + ", ".join(sets),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            values=values,
        )

    def page_with_links(
        self, project: str, *, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[tuple[Requirement, list[CoverageLink]]], dict[str, Any] | None]:
        """Up to `limit` requirements, each with its links: one query over the partition,
        which holds each requirement beside its links."""
        out: list[tuple[Requirement, list[CoverageLink]]] = []
        by_id: dict[str, list[CoverageLink]] = {}
        last_key: dict[str, Any] | None = None
        page_cursor = cursor
        while True:
            items, page_cursor = self._t.query(
                keys.requirements_partition(project),
                sk_prefix=keys.REQUIREMENT_PREFIX,
                cursor=page_cursor,
            )
            for item in items:
                if item.get("kind") == "link":
                    link = CoverageLink.from_dict(strip_keys(item))
                    by_id.setdefault(link.requirement_id, []).append(link)
                else:
                    if len(out) == limit:
                        return out, last_key
                    requirement = _requirement(item)
                    links = by_id.setdefault(requirement.requirement_id, [])
                    out.append((requirement, links))
                last_key = {"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}}
            if not page_cursor:
                return out, None

    def members(self, project: str, kind: str, name: str) -> list[str]:
        items = self._t.query_all(keys.scope_partition(project, kind, name))
        return [str(i["requirementId"]) for i in items]

    def last_sync(self, project: str) -> dict[str, Any] | None:
        item = self._t.get(keys.requirements_sync(project), consistent=True)
        return strip_keys(item) if item else None

    def set_last_sync(self, project: str, sync: dict[str, Any]) -> None:
        self._t.put({**keys.requirements_sync(project), **sync})


def _scopes(requirement: Requirement) -> set[tuple[str, str]]:
    return {("release", v) for v in requirement.fix_versions} | {
        ("sprint", s) for s in requirement.sprints
    }
