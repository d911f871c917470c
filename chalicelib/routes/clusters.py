"""Root causes across scenarios: the project's clusters, and a lead deciding one as a whole."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.domain.roles import Actor
from chalicelib.models import ClusterDecisionIn
from chalicelib.routes.common import JSON_TYPES, container, json_body, principal_for, query_param
from chalicelib.routes.common import route as api_route

bp = Blueprint(__name__)


@api_route(bp, "/v1/projects/{project}/clusters", methods=["GET"])
def list_clusters(project: str) -> dict[str, Any]:
    """Groups of drafts that share a root cause, most scenarios first; each member says why."""
    request = bp.current_request
    principal_for(request, project)
    status = query_param(request, "status")
    return {"clusters": container().clusters.listed(project, status)}


@api_route(bp, "/v1/projects/{project}/clusters/{clusterId}", methods=["GET"])
def get_cluster(project: str, clusterId: str) -> dict[str, Any]:
    principal_for(bp.current_request, project)
    return container().clusters.get(project, clusterId)


@api_route(
    bp,
    "/v1/projects/{project}/clusters/{clusterId}/decision",
    methods=["POST"],
    content_types=JSON_TYPES,
)
def decide_cluster(project: str, clusterId: str) -> dict[str, Any]:
    """Approve (as one Jira issue, or one per scenario), reject all, or split off scenarios."""
    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, ClusterDecisionIn)
    actor = Actor(principal.user, principal.role, "api")
    return container().clusters.decide(project, clusterId, body.model_dump(), actor)
