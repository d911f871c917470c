"""Roles of API keys and what each may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    TESTER = "tester"
    CI = "ci"
    VIEWER = "viewer"


READ = frozenset(Role)
REPORT = frozenset({Role.ADMIN, Role.CI, Role.TESTER})
EDIT_DRAFT = frozenset({Role.ADMIN, Role.TESTER, Role.LEAD})
DECIDE = frozenset({Role.ADMIN, Role.LEAD})
ADMINISTER = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Actor:
    """Who decides: a lead's or admin's API key, an approval link, or a Slack user."""

    who: str
    role: Role
    via: str
