"""Services and the domain never import an adapter or the AWS SDK: they depend on the ports
(`chalicelib.domain.ports`), and the adapters are wired in `chalicelib.bootstrap` only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chalicelib/services", "chalicelib/domain")
FORBIDDEN = ("boto3", "botocore", "chalicelib.adapters")

# None: the Slack message builders and Jira issue formatting reach services through ports
# (`MessageFormat`, `IssueFormat`), wired in bootstrap.
KNOWN_OFFENDERS: set[str] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imported(module: str, path: Path) -> set[str]:
    """Every module an import statement anywhere in the file names (module level, inside
    functions, under TYPE_CHECKING), relative imports resolved."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def offenders() -> dict[str, set[str]]:
    out = {}
    for module, path in _modules().items():
        bad = {n for n in _imported(module, path) if _forbidden(n)}
        if bad:
            out[module] = bad
    return out


def test_the_walk_sees_every_module_and_every_kind_of_import(tmp_path: Path) -> None:
    modules = _modules()
    assert "chalicelib.services.ingest" in modules and "chalicelib.domain.ports" in modules
    source = tmp_path / "example.py"
    source.write_text(
        "import boto3.session\n"
        "def f():\n"
        "    from chalicelib.adapters.slack_messages import draft_message\n"
        "class C:\n"
        "    def g(self):\n"
        "        from ..adapters import queue\n"
    )
    found = _imported("chalicelib.services.example", source)
    assert {
        "boto3.session",
        "chalicelib.adapters.slack_messages",
        "chalicelib.adapters.queue",
    } <= found
    assert all(_forbidden(n) for n in ("boto3.session", "botocore", "chalicelib.adapters.s3"))
    assert not _forbidden("chalicelib.adaptersx") and not _forbidden("boto3x")


def test_no_service_or_domain_module_imports_an_adapter_or_boto() -> None:
    assert set(offenders()) == KNOWN_OFFENDERS, offenders()
