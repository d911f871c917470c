"""A key revoked in one container (the API, or the CLI's own process) stops working in every
warm container within FAILBRIDGE_REVOCATION_SECONDS, though keys are cached for a minute."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.adapters.aws import Clients
from chalicelib.bootstrap import Container
from chalicelib.domain.roles import Role
from chalicelib.errors import Unauthenticated
from chalicelib.settings import Settings


def test_a_revoked_key_stops_working_in_every_warm_container(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAILBRIDGE_REVOCATION_SECONDS", "0.5")
    warm, revoking = Container(Settings.from_env()), Container(Settings.from_env(), Clients())
    revoking.access.create_project("REV", "Revocation", False, default_lead="lead@example.com")
    issued = revoking.access.issue_key("REV", Role.CI, None, None)
    bearer = f"Bearer {issued['key']}"
    assert warm.access.authenticate(bearer).project == "REV"  # cached in the warm container

    revoking.access.revoke_key("REV", issued["keyId"])
    time.sleep(0.6)
    with pytest.raises(Unauthenticated):
        warm.access.authenticate(bearer)
