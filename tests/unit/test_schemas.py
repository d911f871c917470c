"""schemas/ must say what the code says."""

from __future__ import annotations

from schemas.generate import API_DOC, SCHEMAS_DIR, api_doc, build, render


def test_committed_schemas_match_the_code() -> None:
    for name, content in render().items():
        committed = (SCHEMAS_DIR / name).read_text()
        assert committed == content, f"schemas/{name} drifted: run `make schemas`"


def test_every_route_is_in_the_openapi_document() -> None:
    import app

    document = build()
    for path, methods in app.app.routes.items():
        for method in methods:
            assert method.lower() in document["paths"][path]


def test_committed_api_doc_matches_the_code() -> None:
    assert API_DOC.read_text() == api_doc(), "docs/api.md drifted: run `make schemas`"


def test_the_readme_links_the_api_doc_and_nothing_points_outside_the_repository() -> None:
    """Users have the repository only: docs/api.md is linked from the README and the client's,
    and no tracked file sends a reader to the notes this project was built from."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert "(docs/api.md)" in (root / "README.md").read_text()
    assert "docs/api.md" in (root / "client" / "README.md").read_text()
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.split(b"\0")
    shared = "shared"  # spelled apart so this file does not match itself
    outside = [f"../{shared}", f"/work/{shared}", f"{shared}/CONTRACT", f"{shared}/STYLE"]
    found = []
    for name in filter(None, tracked):
        path = root / name.decode()
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        found += [f"{name.decode()}: {o}" for o in outside if o in text]
    assert found == []


def test_no_body_or_parameter_pattern_leans_on_backslash_s() -> None:
    """`\\s` is not the same set in JSON Schema's regexes (ECMA), pydantic's (Rust) and
    Python's (U+0085, U+FEFF, U+001C-U+001F), so a pattern using it documents what the server
    refuses, or the reverse (the fuzz run found a lead's address with U+0085). Whitespace is
    spelled out instead (`domain.text.WHITESPACE`). The If-Match header's is HTTP's, parsed by
    hand."""
    import re

    from chalicelib.models.base import EMAIL_PATTERN, NAME_PATTERN

    found: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if node.get("name") == "If-Match":
                return
            pattern = node.get("pattern")
            if isinstance(pattern, str) and "\\s" in pattern:
                found.append(f"{where}: {pattern}")
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(build(), "#")
    assert found == []
    for odd in ("\x85", "\ufeff", "\u3000", "\x1c"):  # whitespace to one engine or another
        assert not re.match(NAME_PATTERN, odd) and not re.match(EMAIL_PATTERN, f"a{odd}@b")
