"""Projects, modules and API keys: who may do what. Keys are random, shown once, stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain.ports import ApiKeyRepository, ProjectRepository
from chalicelib.domain.roles import Role
from chalicelib.errors import (
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
    field_problem,
)
from chalicelib.ids import new_id

KEY_PREFIX = "fbk_"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def hash_key(key: str) -> str:
    """Keys carry 256 random bits, so a plain SHA-256 is a safe verifier (no salt or KDF needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    project: str
    role: Role
    key_id: str
    user: str

    def require(self, project: str, roles: Iterable[Role]) -> None:
        if not hmac.compare_digest(self.project.encode(), project.encode()):
            raise Forbidden(f"this key is not valid for project {project}")
        if self.role not in set(roles):
            allowed = ", ".join(sorted(r.value for r in roles)) or "a role no key has"
            raise Forbidden(
                f"role {self.role.value} may not do this (needs one of {allowed})",
                [
                    field_problem(
                        "Authorization", f"must be a key of role {allowed.replace(', ', ' or ')}"
                    )
                ],
            )


class _TtlCache:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        now = self._clock()
        with self._lock:
            hit = self._items.get(key)
        if hit and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (now + self._ttl, value)
        return value

    def has(self, key: str) -> bool:
        with self._lock:
            hit = self._items.get(key)
        return bool(hit and hit[0] > self._clock())

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = (self._clock() + self._ttl, value)

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class AccessService:
    def __init__(
        self,
        projects: ProjectRepository,
        api_keys: ApiKeyRepository,
        *,
        cache_seconds: float = 60.0,
        revocation_seconds: float = 5.0,
    ) -> None:
        self._projects_repo = projects
        self._api_keys = api_keys
        # A key is cached for `cache_seconds` with the project's key generation it was read at;
        # the project (and so its generation, bumped by every revocation) for only
        # `revocation_seconds`: a key revoked anywhere stops working everywhere that soon.
        self._keys = _TtlCache(cache_seconds)
        self._projects = _TtlCache(min(cache_seconds, revocation_seconds))

    # -- authentication ------------------------------------------------------------------------

    def authenticate(self, authorization: str | None, project: str | None = None) -> Principal:
        """The key's principal. `project`: the project the request names, if any: a key not
        cached is read with it (unless cached) in one round trip, as a cold start's first
        request does (`bench.first_request`)."""
        if not authorization:
            raise Unauthenticated("an Authorization: Bearer <api key> header is required")
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key.startswith(KEY_PREFIX):
            raise Unauthenticated("the Authorization header must be Bearer <api key>")
        digest = hash_key(key)
        item, generation = self._keys.get(digest, lambda: self._load_key(digest, project))
        if item is not None and self._generation(item["project"]) != generation:
            self._keys.drop(digest)  # a key of its project was revoked since: read it again
            item, generation = self._keys.get(digest, lambda: self._load_key(digest))
        if item is None or item.get("revoked"):
            raise Unauthenticated("the API key is not valid")
        return Principal(
            project=item["project"],
            role=Role(item["role"]),
            key_id=item["keyId"],
            user=item.get("user") or f"{item['role']}:{item['keyId']}",
        )

    def _load_key(
        self, digest: str, project: str | None = None
    ) -> tuple[dict[str, Any] | None, int]:
        """The key and its project's key generation. With `project` (the one the request names)
        not cached, the key and that project are read together and the project cached."""
        if project is not None and not self._projects.has(project):
            item, found = self._api_keys.get_with_project(digest, project)
            self._projects.put(project, found)
        else:
            item = self._api_keys.get(digest)
        return item, (self._generation(item["project"]) if item else 0)

    def _generation(self, project: str) -> int:
        found = self._projects.get(project, lambda: self._projects_repo.get(project))
        return int((found or {}).get("keysGeneration", 0))

    # -- projects and modules ------------------------------------------------------------------

    def project(self, key: str) -> dict[str, Any]:
        item = self._projects.get(key, lambda: self._projects_repo.get(key))
        if item is None:
            raise NotFound(f"project {key} does not exist")
        return dict(item)

    def create_project(
        self,
        key: str,
        name: str | None,
        flaky_opens_draft: bool,
        decision_reminder_seconds: int | None = None,
        decision_rounds: int | None = None,
        *,
        default_lead: str,
        default_module: str | None = None,
    ) -> dict:
        """A project; `default_lead` decides drafts of every module that has no lead of its own."""
        project = {
            "key": key,
            "name": name or key,
            "flakyOpensDraft": flaky_opens_draft,
            "decisionReminderSeconds": decision_reminder_seconds,
            "decisionRounds": decision_rounds,
            **_defaults(default_lead, default_module),
            "createdAt": now_iso(),
        }
        project = {k: v for k, v in project.items() if v is not None}
        self._projects_repo.create(project)
        self._projects.drop(key)
        return project

    def set_defaults(
        self, key: str, default_lead: str | None, default_module: str | None
    ) -> dict[str, Any]:
        """Change a project's default lead or default module (projects created before they
        existed have neither: their lead-less modules' drafts ask nobody)."""
        self.project(key)
        fields = _defaults(default_lead, default_module)
        if fields:
            self._projects_repo.set_fields(key, fields)
            self.forget_project(key)
        return self.describe_project(key)

    def forget_project(self, key: str) -> None:
        """Drop this container's cached copy of the project (others expire with the cache)."""
        self._projects.drop(key)

    def describe_project(self, key: str) -> dict[str, Any]:
        from chalicelib.domain.audit import PROJECT_BOOKKEEPING  # not on a report's cold path

        project = self.project(key)
        shown = {k: v for k, v in project.items() if k not in PROJECT_BOOKKEEPING}
        return {**shown, "modules": self._projects_repo.modules(key)}

    def put_module(self, project: str, name: str, lead: str, slack_user_id: str | None) -> dict:
        self.project(project)
        module = {"name": name, "project": project, "lead": lead, "slackUserId": slack_user_id}
        self._projects_repo.put_module(project, module)
        return {k: v for k, v in module.items() if v is not None}

    # -- keys ----------------------------------------------------------------------------------

    def issue_key(self, project: str, role: Role, name: str | None, user: str | None) -> dict:
        self.project(project)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = {
            "keyId": new_id("key"),
            "project": project,
            "role": role.value,
            "name": name or role.value,
            "user": user,
            "createdAt": now_iso(),
        }
        self._api_keys.put(hash_key(key), record)
        return {**{k: v for k, v in record.items() if v is not None}, "key": key}

    def list_keys(self, project: str) -> list[dict[str, Any]]:
        return [key for _, key in self._api_keys.of_project(project)]

    def revoke_key(self, project: str, key_id: str) -> None:
        for key_hash, key in self._api_keys.of_project(project):
            if key["keyId"] == key_id:
                self._api_keys.delete(key_hash)
                self._projects_repo.bump_keys_generation(project)
                self._keys.drop(key_hash)
                self._projects.drop(project)
                return
        raise NotFound(f"key {key_id} does not exist")


def _defaults(default_lead: str | None, default_module: str | None) -> dict[str, str]:
    fields = {}
    if default_lead is not None:
        if not EMAIL.match(default_lead.strip()):
            raise ValidationFailed(
                "the default lead must be an e-mail address",
                [field_problem("defaultLead", "must be an e-mail address")],
            )
        fields["defaultLead"] = default_lead.strip()
    if default_module is not None:
        if not default_module.strip() or len(default_module) > 200:
            raise ValidationFailed(
                "the default module must be a name",
                [field_problem("defaultModule", "must be 1 to 200 characters")],
            )
        fields["defaultModule"] = default_module.strip()
    return fields
