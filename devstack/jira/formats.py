"""Jira's wire formats: timestamps and Atlassian Document Format (the v3 API's rich text)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_JIRA_TIME = "%Y-%m-%dT%H:%M:%S"


def now() -> datetime:
    return datetime.now(UTC)


def jtime(dt: datetime | None) -> str | None:
    """``2025-01-31T12:00:00.000+0000``, as Jira writes times."""
    if dt is None:
        return None
    return dt.strftime(_JIRA_TIME) + f".{dt.microsecond // 1000:03d}+0000"


def adf_from_text(text: str) -> dict[str, Any]:
    paragraphs = []
    for line in text.split("\n"):
        content = [{"type": "text", "text": line}] if line else []
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def text_from_adf(node: Any) -> str:
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    parts = [text_from_adf(child) for child in node.get("content", []) or []]
    sep = "\n" if node.get("type") in ("doc", "bulletList", "orderedList") else ""
    return sep.join(parts)


def render_rich(value: Any, version: str) -> Any:
    """Rich text as API ``version`` shows it: ADF on v3, plain text on v2."""
    if value is None:
        return None
    if version == "3":
        return value if isinstance(value, dict) else adf_from_text(str(value))
    return value if isinstance(value, str) else text_from_adf(value)
