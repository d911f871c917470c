"""The key table (`adapters/dynamo/keys/__init__.py`'s docstring) names every partition and sort
key prefix the key builders write, and services build no keys of their own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from chalicelib.adapters.dynamo import keys

ROOT = Path(__file__).resolve().parents[2]
PREFIX = re.compile(r"\b([A-Z][A-Z0-9]+)#")


def _literal_prefixes(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(PREFIX.findall(node.value))
    return found


def test_the_table_names_every_prefix_the_builders_write() -> None:
    table = re.sub(r"\n\s+#", "#", keys.__doc__ or "")  # a GSI key continued on the next line
    named = set(PREFIX.findall(table))
    written: set[str] = set()
    for path in sorted((ROOT / "chalicelib/adapters/dynamo/keys").glob("*.py")):
        if path.name != "__init__.py":
            written |= _literal_prefixes(path)
    assert written, "the walk found no key literals"
    assert written - named == set()


def test_services_build_no_keys() -> None:
    """`RUN#...`, `EXEC#...` and the like are built in the key modules only."""
    table_prefixes = set(PREFIX.findall(keys.__doc__ or ""))
    offenders = {}
    for path in sorted((ROOT / "chalicelib/services").rglob("*.py")):
        found = _literal_prefixes(path) & table_prefixes
        if found:
            offenders[str(path.relative_to(ROOT))] = sorted(found)
    assert offenders == {}
