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
