"""Test plans: write, read (criteria evaluated), edit (revisions), delete, and the lifecycle
(`POST .../status` with an action: submit, request_changes, approve, activate, close)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.routes.common import (
    JSON_TYPES,
    authorized_body,
    container,
    created,
    page_params,
    principal_for,
    query_param,
    route,
)

bp = Blueprint(__name__)

BASE = "/v1/projects/{project}/test-plans"
MAX_PLAN_BYTES = 512 * 1024


def _service() -> Any:
    return container().plans


@route(bp, BASE, methods=["GET"])
def list_plans(project: str) -> dict[str, Any]:
    """The project's test plans (`status` filters; `cursor` pages)."""
    request = bp.current_request
    principal_for(request, project)
    limit, cursor = page_params(request, 100)
    status = query_param(request, "status")
    return dict(_service().page(project, limit=limit, cursor=cursor, status=status))


@route(bp, BASE, methods=["POST"], content_types=JSON_TYPES)
def create_plan(project: str) -> Response:
    """Write a plan: revision 1, a draft."""
    from chalicelib.models_planning import PlanIn

    principal, body = authorized_body(bp.current_request, project, PlanIn, MAX_PLAN_BYTES)
    container().access.project(project)
    return created(_service().create(project, body, principal.user))


@route(bp, BASE + "/{planId}", methods=["GET"])
def get_plan(project: str, planId: str) -> dict[str, Any]:
    """The plan's current revision; its entry and exit criteria evaluated now."""
    principal_for(bp.current_request, project)
    return dict(_service().get(project, planId))


@route(bp, BASE + "/{planId}", methods=["PUT"], content_types=JSON_TYPES)
def update_plan(project: str, planId: str) -> dict[str, Any]:
    """Edit: in place while draft; an approved or active plan gets its next revision, a draft."""
    from chalicelib.models_planning import PlanIn

    principal, body = authorized_body(bp.current_request, project, PlanIn, MAX_PLAN_BYTES)
    return dict(_service().update(project, planId, body, principal.user))


@route(bp, BASE + "/{planId}", methods=["DELETE"])
def delete_plan(project: str, planId: str) -> dict[str, Any]:
    """Delete a plan never approved (an approved one is closed instead)."""
    principal_for(bp.current_request, project)
    return dict(_service().delete(project, planId))


@route(bp, BASE + "/{planId}/status", methods=["POST"], content_types=JSON_TYPES)
def move_plan(project: str, planId: str) -> dict[str, Any]:
    """One lifecycle step; approve and request_changes: a lead of the plan's modules or admin."""
    from chalicelib.models_planning import PlanMoveIn
    from chalicelib.services.plans import Author

    principal, body = authorized_body(bp.current_request, project, PlanMoveIn)
    author = Author(principal.user, principal.role)
    return dict(_service().move(project, planId, body.action, body.reason, author))


@route(bp, BASE + "/{planId}/revisions", methods=["GET"])
def plan_revisions(project: str, planId: str) -> dict[str, Any]:
    """Every revision of the plan, oldest first."""
    principal_for(bp.current_request, project)
    return dict(_service().revisions(project, planId))
