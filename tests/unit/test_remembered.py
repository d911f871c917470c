"""Test-case versions a container remembers: read once per project and catalogue generation,
read again when the generation moves or the container forgets the project, bounded."""

from __future__ import annotations

from chalicelib.services.remembered import TestCaseVersions, catalog_generation


class Heads:
    """The test-case heads as the catalog would answer, counting the reads."""

    def __init__(self, versions: dict[str, int]) -> None:
        self.versions = versions
        self.asked: list[set[str]] = []

    def register(self, missing: set[str]) -> dict[str, int]:
        self.asked.append(set(missing))
        return {tc: self.versions.get(tc, 1) for tc in missing}


def test_known_test_cases_are_read_once_per_generation() -> None:
    cache, heads = TestCaseVersions(), Heads({"TC-1": 3})
    assert cache.resolve("P", 0, ["TC-1", "TC-2"], heads.register) == {"TC-1": 3, "TC-2": 1}
    assert cache.resolve("P", 0, ["TC-1"], heads.register) == {"TC-1": 3}
    assert cache.resolve("P", 0, ["TC-1", "TC-3"], heads.register) == {"TC-1": 3, "TC-3": 1}
    assert heads.asked == [{"TC-1", "TC-2"}, {"TC-3"}]  # only what was not remembered

    heads.versions["TC-1"] = 4  # edited elsewhere: the project's generation moved
    assert cache.resolve("P", 1, ["TC-1"], heads.register) == {"TC-1": 4}
    assert heads.asked[-1] == {"TC-1"}
    assert cache.resolve("Q", 0, ["TC-1"], heads.register) == {"TC-1": 4}  # per project
    assert heads.asked[-1] == {"TC-1"} and len(heads.asked) == 4


def test_a_container_forgets_the_project_it_changed() -> None:
    cache, heads = TestCaseVersions(), Heads({"TC-1": 1})
    cache.resolve("P", 0, ["TC-1"], heads.register)
    heads.versions["TC-1"] = 2
    cache.forget("P")
    assert cache.resolve("P", 0, ["TC-1"], heads.register) == {"TC-1": 2}


def test_what_is_remembered_is_bounded() -> None:
    cache, heads = TestCaseVersions(limit=3), Heads({})
    cache.resolve("P", 0, ["a", "b"], heads.register)
    cache.resolve("Q", 0, ["c", "d"], heads.register)  # over the limit: the rest is dropped
    cache.resolve("P", 0, ["a"], heads.register)
    assert heads.asked[-1] == {"a"}
    assert cache.resolve("Q", 0, ["c"], heads.register) == {"c": 1}
    assert len(heads.asked) == 3


def test_the_generation_is_read_from_the_project_item() -> None:
    assert catalog_generation({}) == 0
    assert catalog_generation({"catalogGeneration": 7}) == 7
