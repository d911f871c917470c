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
