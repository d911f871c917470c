"""Roles of API keys and what each may do."""

from __future__ import annotations

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
