"""Requirements and stories, coverage, and the release and sprint views."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import models
from chalicelib.domain.requirements import REQUIREMENT_ID
from chalicelib.errors import ValidationFailed, field_problem
from chalicelib.routes.common import (
    JSON_TYPES,
    container,
    json_body,
    page_params,
    principal_for,
    route,
)

bp = Blueprint(__name__)

BASE = "/v1/projects/{project}"


def _service() -> Any:
    return container().requirements


@route(bp, BASE + "/requirements", methods=["GET"])
def list_requirements(project: str) -> dict[str, Any]:
    """The project's requirements and stories with their test cases (`cursor` pages)."""
    request = bp.current_request
    principal_for(request, project)
    limit, cursor = page_params(request, 500)
    return dict(_service().page(project, limit=limit, cursor=cursor))


@route(bp, BASE + "/requirements/sync", methods=["POST"])
def sync_requirements(project: str) -> dict[str, Any]:
    """Read the stories the project's `requirementsJql` finds in Jira (updated since last time)."""
    principal_for(bp.current_request, project)
    container().access.project(project)
    return dict(_service().sync(project))


@route(bp, BASE + "/requirements/{requirementId}", methods=["GET"])
def get_requirement(project: str, requirementId: str) -> dict[str, Any]:
    """A requirement with its test cases and their last results."""
    principal_for(bp.current_request, project)
    return dict(_service().get(project, requirementId))


@route(bp, BASE + "/requirements/{requirementId}", methods=["PUT"], content_types=JSON_TYPES)
def put_requirement(project: str, requirementId: str) -> dict[str, Any]:
    """Set a requirement of the project's own (any id), or local facts on a Jira story."""
    request = bp.current_request
    principal_for(request, project)
    if not REQUIREMENT_ID.fullmatch(requirementId):  # "$" would let "x\n" through
        raise ValidationFailed(
            "not a requirement id",
            [field_problem("requirementId", 'must be 1-200 characters without spaces , ; # ! "')],
        )
    body = json_body(request, models.RequirementIn)
    container().access.project(project)
    return dict(_service().put(project, requirementId, body))


@route(bp, BASE + "/coverage", methods=["GET"])
def coverage(project: str) -> dict[str, Any]:
    """Requirements with their test cases and coverage; modules with coverage and pass rate."""
    request = bp.current_request
    principal_for(request, project)
    limit, cursor = page_params(request, 1000)
    return dict(_service().coverage(project, limit=limit, cursor=cursor))


@route(bp, BASE + "/releases/{version}", methods=["GET"])
def release(project: str, version: str) -> dict[str, Any]:
    """A release (Jira fixVersion): its stories fully tested, with open defects, failing, not
    run in this release, untested; and the gate verdict."""
    principal_for(bp.current_request, project)
    return dict(_service().scope_view(project, "release", version))


@route(bp, BASE + "/sprints/{sprint}", methods=["GET"])
def sprint(project: str, sprint: str) -> dict[str, Any]:
    """A sprint, read as a release is."""
    principal_for(bp.current_request, project)
    return dict(_service().scope_view(project, "sprint", sprint))
