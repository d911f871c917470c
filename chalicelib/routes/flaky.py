"""Flaky test cases across runs and quarantined scenarios: the flaky list, quarantines (a lead's
or admin's), and the project's detection settings (admin)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import models
from chalicelib.routes.common import JSON_TYPES, container, json_body, principal_for, route

bp = Blueprint(__name__)


@route(bp, "/v1/projects/{project}/flaky", methods=["GET"])
def list_flaky(project: str) -> dict[str, Any]:
    """Flaky test cases (flip rate over their last executions, outages left out; pass on
    retry), their last runs and quarantine; the quarantines in force; the settings."""
    principal_for(bp.current_request, project)
    return dict(container().flaky.flaky(project))


@route(
    bp,
    "/v1/projects/{project}/scenarios/{scenarioId}/quarantine",
    methods=["PUT"],
    content_types=JSON_TYPES,
)
def put_quarantine(project: str, scenarioId: str) -> dict[str, Any]:
    """Quarantine the scenario: its failures are recorded and open nothing until `until`."""
    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, models.QuarantineIn)
    return dict(
        container().flaky.quarantine(
            project, scenarioId, body.model_dump(), principal.user or principal.key_id
        )
    )


@route(bp, "/v1/projects/{project}/scenarios/{scenarioId}/quarantine", methods=["DELETE"])
def end_quarantine(project: str, scenarioId: str) -> dict[str, Any]:
    """End the scenario's quarantine now (404 if none is in force)."""
    principal_for(bp.current_request, project)
    return dict(container().flaky.end_quarantine(project, scenarioId))


@route(bp, "/v1/projects/{project}/flaky/settings", methods=["PUT"], content_types=JSON_TYPES)
def put_flaky_settings(project: str) -> dict[str, Any]:
    """Set flaky detection's window, threshold, minimum executions and outage share."""
    request = bp.current_request
    principal_for(request, project)
    body = json_body(request, models.FlakySettingsIn)
    return dict(
        container().flaky.save_settings(project, body.model_dump(by_alias=True, exclude_none=True))
    )
