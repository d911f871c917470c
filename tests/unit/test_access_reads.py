"""Authentication's reads: a request naming its project reads the key and that project together
(one round trip on a cold start), and the project is then cached for the route; a key of
another project, an unknown key and a revoked key still answer as before."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.roles import Role
from chalicelib.errors import Forbidden, Unauthenticated
from chalicelib.services.access import AccessService
from tests.unit.fakes import FakeApiKeys, FakeDb, FakeProjects


class CountingKeys(FakeApiKeys):
    def __init__(self, db: FakeDb, reads: list[str]) -> None:
        super().__init__(db)
        self.reads = reads

    def get(self, key_hash: str) -> dict[str, Any] | None:
        self.reads.append("key")
        return super().get(key_hash)

    def get_with_project(
        self, key_hash: str, project: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        self.reads.append(f"key+{project}")  # one read of both
        found = self.db.projects.get(project)
        return FakeApiKeys.get(self, key_hash), (dict(found) if found is not None else None)


class CountingProjects(FakeProjects):
    def __init__(self, db: FakeDb, reads: list[str]) -> None:
        super().__init__(db)
        self.reads = reads

    def get(self, project: str) -> dict[str, Any] | None:
        self.reads.append(project)
        return super().get(project)


def _service() -> tuple[AccessService, list[str], dict[str, str]]:
    db, reads = FakeDb(), []
    access = AccessService(CountingProjects(db, reads), CountingKeys(db, reads))
    access.create_project("DEMO", "Demo", False, default_lead="lead@example.com")
    access.create_project("OTHER", "Other", False, default_lead="other@example.com")
    keys = {
        "demo": access.issue_key("DEMO", Role.CI, None, None)["key"],
        "other": access.issue_key("OTHER", Role.CI, None, None)["key"],
    }
    fresh = AccessService(CountingProjects(db, reads), CountingKeys(db, reads))  # cold caches
    reads.clear()
    return fresh, reads, keys


def test_a_cold_request_reads_its_key_and_project_once() -> None:
    access, reads, keys = _service()

    principal = access.authenticate(f"Bearer {keys['demo']}", "DEMO")
    assert access.project("DEMO")["key"] == "DEMO"
    access.authenticate(f"Bearer {keys['demo']}", "DEMO")

    assert principal.project == "DEMO" and principal.role is Role.CI
    assert reads == ["key+DEMO"]


def test_a_key_of_another_project_reads_its_own_project_and_is_refused() -> None:
    access, reads, keys = _service()

    principal = access.authenticate(f"Bearer {keys['other']}", "DEMO")

    assert reads == ["key+DEMO", "OTHER"]  # the key's generation is its own project's
    with pytest.raises(Forbidden):
        principal.require("DEMO", {Role.CI})


def test_an_unknown_key_is_refused_and_a_cached_project_is_not_read_again() -> None:
    access, reads, keys = _service()
    access.project("DEMO")
    reads.clear()

    with pytest.raises(Unauthenticated):
        access.authenticate("Bearer fbk_not-a-key", "DEMO")
    access.authenticate(f"Bearer {keys['demo']}", "DEMO")

    assert reads == ["key", "key"]  # the project was cached: each key read alone


def test_a_revoked_key_stops_working() -> None:
    access, _, keys = _service()
    access.authenticate(f"Bearer {keys['demo']}", "DEMO")
    key_id = next(k["keyId"] for _, k in access._api_keys.of_project("DEMO"))

    access.revoke_key("DEMO", key_id)

    with pytest.raises(Unauthenticated):
        access.authenticate(f"Bearer {keys['demo']}", "DEMO")
