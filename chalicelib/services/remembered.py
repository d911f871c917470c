"""What a warm container remembers between reports, each valid under a generation the project
item carries (the item every request reads through the access cache: at most
FAILBRIDGE_REVOCATION_SECONDS old); the writers move the generation.

Test-case versions: the version each test case runs at, so a report of known test cases reads no
test-case heads. A project's entries hold while its catalogue generation (on the project
item, which every request reads through the access cache: at most
FAILBRIDGE_REVOCATION_SECONDS old) is the one they were read under; every write that gives a
test case a new version (create, edit, delete, import) moves the generation, and this
container's own writes forget the project at once (`forget`). A first sighting needs no move:
a test case nobody has registered is never remembered, so nothing stale can be held of it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalicelib.domain.environments import ENVIRONMENTS_GENERATION
from chalicelib.domain.testcases import CATALOG_GENERATION

MAX_REMEMBERED = 200_000  # test cases over every project of the container (~100 B each)


def catalog_generation(project: Mapping[str, Any]) -> int:
    return int(project.get(CATALOG_GENERATION) or 0)


class TestCaseVersions:
    """test case -> version, per project, each project's entries under one generation."""

    __test__ = False

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self._limit = limit
        self._projects: dict[str, tuple[int, dict[str, int]]] = {}
        self._lock = threading.Lock()

    def resolve(
        self,
        project: str,
        generation: int,
        test_case_ids: Sequence[str],
        register: Callable[[set[str]], dict[str, int]],
    ) -> dict[str, int]:
        """The version of each test case: remembered ones as they are, the others from
        `register` (given the ids not remembered: it reads their heads, registering new ones)."""
        with self._lock:
            held = self._projects.get(project)
            known = held[1] if held and held[0] == generation else {}
            versions = {tc: known[tc] for tc in test_case_ids if tc in known}
        missing = {tc for tc in test_case_ids if tc not in versions}
        if not missing:
            return versions
        found = register(missing)
        versions.update(found)
        with self._lock:
            held = self._projects.get(project)
            if held is None or held[0] != generation:
                held = self._projects[project] = (generation, {})
            if sum(len(v) for _, v in self._projects.values()) + len(found) > self._limit:
                self._projects = {project: held}
                held[1].clear()
            held[1].update(found)
        return versions

    def forget(self, project: str) -> None:
        """This container changed a test case of the project: read its heads again."""
        with self._lock:
            self._projects.pop(project, None)


class EnvironmentSnapshots:
    """What a run records of the registered environment it names (None: not registered), per
    project and environment, valid while the project's environments generation holds (moved by
    every environment's creation and new revision)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._held: dict[tuple[str, str], tuple[int, dict[str, Any] | None]] = {}

    def snapshot(
        self,
        project: Mapping[str, Any],
        env_id: str,
        read: Callable[[str, str], dict[str, Any] | None],
    ) -> dict[str, Any] | None:
        key = (str(project["key"]), env_id)
        generation = int(project.get(ENVIRONMENTS_GENERATION) or 0)
        held = self._held.get(key)
        if held is not None and held[0] == generation:
            return held[1]
        found = read(*key)
        if len(self._held) >= self._limit:
            self._held.clear()
        self._held[key] = (generation, found)
        return found
