"""Who may do what: every role against every registered endpoint, as `domain.roles.PERMISSIONS`
says. The endpoints come from the app itself, so a new route without an entry fails here.

The container is a stub: authentication answers with a key of the role under test, and anything
past it (a service) answers 418 `reached`, which means the request got through authorization."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.domain.roles import PERMISSIONS, Proof, Role
from chalicelib.errors import FailbridgeError
from chalicelib.services.access import Principal


class Reached(FailbridgeError):
    status, code = 418, "reached"


class StubAccess:
    def __init__(self) -> None:
        self.role = Role.VIEWER
        self.calls = 0

    def authenticate(self, authorization: str | None, project: str | None = None) -> Principal:
        self.calls += 1
        return Principal("P", self.role, "key_1", "someone@example.com")


class StubContainer:
    def __init__(self, access: StubAccess) -> None:
        self.access = access

    def __getattr__(self, name: str) -> Any:
        raise Reached(f"reached the {name} service")


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubAccess]:
    access = StubAccess()
    monkeypatch.setattr(bootstrap, "container", lambda: StubContainer(access))
    yield access


def _endpoints() -> list[tuple[str, str, list[str]]]:
    import app

    return sorted(
        (method, path, list(entry.content_types))
        for path, methods in app.app.routes.items()
        for method, entry in methods.items()
    )


def _url(path: str) -> str:
    return re.sub(r"\{project\}", "P", re.sub(r"\{(?!project\})[^}]+\}", "x1", path))


def _call(client: Any, method: str, path: str, content_types: list[str]) -> Any:
    headers = {"Authorization": "Bearer fbk_stub", "Content-Type": content_types[0]}
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    return client.http.request(method, _url(path), headers=headers, body=body)


def test_every_registered_endpoint_has_exactly_one_entry_and_every_entry_an_endpoint() -> None:
    registered = {(m, p) for m, p, _ in _endpoints()}
    assert registered - set(PERMISSIONS) == set(), "endpoints missing from PERMISSIONS"
    assert set(PERMISSIONS) - registered == set(), "PERMISSIONS names endpoints that do not exist"
    for entry in PERMISSIONS.values():
        assert isinstance(entry, Proof) or (entry and entry <= frozenset(Role))


@pytest.mark.parametrize("role", list(Role))
def test_every_role_against_every_endpoint(stub: StubAccess, role: Role) -> None:
    import app

    stub.role = role
    with Client(app.app) as client:
        for method, path, content_types in _endpoints():
            allowed = PERMISSIONS[(method, path)]
            if isinstance(allowed, Proof):
                continue
            response = _call(client, method, path, content_types)
            where = f"{role} {method} {path}: {response.status_code} {response.body[:200]!r}"
            if role in allowed:
                assert response.status_code not in (401, 403), where
            else:
                assert response.status_code == 403, where
                error = response.json_body["error"]
                needed = sorted(r.value for r in allowed)
                assert f"needs one of {', '.join(needed)}" in error["message"], where
                assert error["details"][0]["field"] == "Authorization", where


def test_endpoints_that_take_no_key_never_authenticate_one(stub: StubAccess) -> None:
    import app

    with Client(app.app) as client:
        for method, path, content_types in _endpoints():
            if isinstance(PERMISSIONS[(method, path)], Proof):
                _call(client, method, path, content_types)
    assert stub.calls == 0
