"""GET /v1/health: no key, 200, the version and nothing else."""

from __future__ import annotations

import tomllib
from pathlib import Path

from chalice.test import Client


def test_health_answers_without_a_key_and_says_nothing_but_the_version() -> None:
    import app
    from chalicelib import __version__

    with Client(app.app) as client:
        response = client.http.get("/v1/health")
        with_bad_key = client.http.get("/v1/health", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 200
    assert response.json_body == {"status": "ok", "version": __version__}
    assert with_bad_key.json_body == response.json_body


def test_the_version_is_the_packages() -> None:
    from chalicelib import __version__

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    assert tomllib.loads(pyproject.read_text())["project"]["version"] == __version__
