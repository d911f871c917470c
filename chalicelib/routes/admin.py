"""Project administration: modules and their leads, API keys."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import models
from chalicelib.domain.roles import Role
from chalicelib.routes.common import JSON_TYPES, container, json_body, principal_for, route

bp = Blueprint(__name__)


@route(bp, "/v1/projects/{project}", methods=["GET"])
def get_project(project: str) -> dict[str, Any]:
    principal_for(bp.current_request, project)
    return dict(container().access.describe_project(project))


@route(bp, "/v1/projects/{project}/modules/{module}", methods=["PUT"], content_types=JSON_TYPES)
def put_module(project: str, module: str) -> dict[str, Any]:
    request = bp.current_request
    principal_for(request, project)
    body = json_body(request, models.ModuleIn)
    return dict(container().access.put_module(project, module, body.lead, body.slack_user_id))


@route(bp, "/v1/projects/{project}/keys", methods=["POST"], content_types=JSON_TYPES)
def issue_key(project: str) -> Response:
    request = bp.current_request
    principal_for(request, project)
    body = json_body(request, models.KeyIn)
    key = container().access.issue_key(project, Role(body.role), body.name, body.user)
    return Response(key, status_code=201)


@route(bp, "/v1/projects/{project}/keys", methods=["GET"])
def list_keys(project: str) -> dict[str, Any]:
    principal_for(bp.current_request, project)
    return {"items": container().access.list_keys(project)}


@route(bp, "/v1/projects/{project}/keys/{keyId}", methods=["DELETE"])
def revoke_key(project: str, keyId: str) -> Response:
    principal_for(bp.current_request, project)
    container().access.revoke_key(project, keyId)
    return Response(body="", status_code=204)


@route(bp, "/v1/projects/{project}/jira", methods=["PUT"], content_types=JSON_TYPES)
def put_jira_mapping(project: str) -> dict[str, Any]:
    """Where and how approved drafts become Jira issues; checked against Jira when saved."""
    request = bp.current_request
    principal_for(request, project)
    mapping = json_body(request, models.JiraMappingIn)
    container().access.project(project)
    return dict(container().jira_mapping.configure(project, mapping))


@route(bp, "/v1/projects/{project}/jira", methods=["GET"])
def get_jira_mapping(project: str) -> dict[str, Any]:
    principal_for(bp.current_request, project)
    return dict((container().repos.projects.get(project) or {}).get("jira") or {})
