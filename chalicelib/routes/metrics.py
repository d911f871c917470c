"""Metrics and quality gates (stakeholders, CI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import models
from chalicelib.routes.common import JSON_TYPES, container, json_body, principal_for, query_param
from chalicelib.routes.common import route as api_route

if TYPE_CHECKING:
    from chalicelib.domain.gates import Gate

bp = Blueprint(__name__)


def _gates(gates: list[models.GateIn]) -> list[Gate]:
    from chalicelib.domain.gates import Gate

    return [Gate(g.metric, g.operator, g.threshold, g.module, g.severity) for g in gates]


@api_route(bp, "/v1/projects/{project}/metrics", methods=["GET"])
def get_metrics(project: str) -> dict[str, Any]:
    request = bp.current_request
    principal_for(request, project)
    return container().metrics.metrics(
        project,
        query_param(request, "from"),
        query_param(request, "to"),
        query_param(request, "module"),
    )


@api_route(
    bp, "/v1/projects/{project}/quality-gates/validate", methods=["POST"], content_types=JSON_TYPES
)
def validate_gates(project: str) -> dict[str, Any]:
    request = bp.current_request
    principal_for(request, project)
    body = json_body(request, models.GateCheckIn)
    return container().metrics.validate(
        project,
        gates=_gates(body.gates) if body.gates is not None else None,
        saved=body.gate,
        run_id=body.run_id,
        module=body.module,
        start=body.from_,
        end=body.to,
    )


@api_route(
    bp, "/v1/projects/{project}/quality-gates/{name}", methods=["PUT"], content_types=JSON_TYPES
)
def save_gate(project: str, name: str) -> dict[str, Any]:
    request = bp.current_request
    principal_for(request, project)
    body = json_body(request, models.GateSetIn)
    return container().metrics.save_gate(project, name, _gates(body.gates), body.description)
