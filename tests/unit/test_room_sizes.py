"""Rooms stay small enough to read in one sitting (issue 8): no file under chalicelib/ or
devstack/ passes 400 lines, no function there passes 60. A file or function that grows past
them is split into named steps or modules, not exempted here."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chalicelib", "devstack")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_walk_finds_the_packages() -> None:
    names = {str(p.relative_to(ROOT)) for p in _sources()}
    assert "chalicelib/bootstrap/__init__.py" in names
    assert "devstack/stack.py" in names


def test_no_file_passes_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _sources()
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert long == {}, f"split these by area (at most {MAX_FILE_LINES} lines each): {long}"


def test_no_function_passes_60_lines() -> None:
    long = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                lines = (node.end_lineno or node.lineno) - first + 1
                if lines > MAX_FUNCTION_LINES:
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                    long[where] = lines
    assert long == {}, f"make these a few named steps (at most {MAX_FUNCTION_LINES}): {long}"
