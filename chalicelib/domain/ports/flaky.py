"""The port of flaky detection's storage: test cases' recent outcomes and quarantines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class FlakyStore(Protocol):
    def load(
        self, project: str, cases: Sequence[tuple[str, str]], scenarios: Sequence[str]
    ) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
        """Histories by (scenario, test case) and quarantines by scenario, of those asked."""
        ...

    def save_history(
        self,
        project: str,
        scenario_id: str,
        test_case_id: str,
        fields: dict[str, Any],
        *,
        version: int | None,
        listed: bool,
    ) -> None:
        """TransactionConflict when the item's version is no longer `version`."""
        ...

    def put_quarantine(
        self, project: str, scenario_id: str, quarantine: dict[str, Any], expires_at: int
    ) -> None: ...

    def delete_quarantine(self, project: str, scenario_id: str) -> dict[str, Any] | None: ...

    def listed(self, project: str) -> list[dict[str, Any]]: ...
