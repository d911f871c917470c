"""The stub failbridge's recorded state (see conftest.py)."""

from __future__ import annotations

from typing import Any


class Stub:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, list[tuple[int, Any, dict[str, str]]]] = {}
        self.url = ""

    def answer(self, method: str, path: str, *answers: Any) -> None:
        self.answers[f"{method} {path}"] = [a if len(a) == 3 else (*a, {}) for a in answers]

    def calls(self, method: str, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]
