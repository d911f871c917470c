"""Environments (configuration, status, snapshots) and their reservations."""

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
BASE = "/v1/projects/{project}/environments"


def _service() -> Any:
    return container().environments


@route(bp, BASE, methods=["GET"])
def list_environments(project: str) -> dict[str, Any]:
    request = bp.current_request
    principal_for(request, project)
    return dict(_service().of_project(project, *page_params(request, 100)))


@route(bp, BASE, methods=["POST"], content_types=JSON_TYPES)
def create_environment(project: str) -> Response:
    from chalicelib.models_environments import EnvironmentIn

    principal, body = authorized_body(bp.current_request, project, EnvironmentIn)
    return created(_service().create(project, body.model_dump(by_alias=True), principal.user))


@route(bp, BASE + "/{envId}", methods=["GET"])
def get_environment(project: str, envId: str) -> dict[str, Any]:
    principal_for(bp.current_request, project)
    return dict(_service().get(project, envId))


@route(bp, BASE + "/{envId}", methods=["PUT"], content_types=JSON_TYPES)
def change_environment(project: str, envId: str) -> dict[str, Any]:
    from chalicelib.models_environments import EnvironmentChange

    principal, body = authorized_body(bp.current_request, project, EnvironmentChange)
    fields = body.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)
    return dict(_service().update(project, envId, fields, principal.user))


@route(bp, BASE + "/{envId}/snapshots", methods=["GET"])
def environment_snapshots(project: str, envId: str) -> dict[str, Any]:
    request = bp.current_request
    principal_for(request, project)
    return dict(_service().snapshots(project, envId, *page_params(request, 50)))


@route(bp, BASE + "/{envId}/reservations", methods=["GET"])
def list_reservations(project: str, envId: str) -> dict[str, Any]:
    request = bp.current_request
    principal_for(request, project)
    return dict(
        _service().reservations(
            project, envId, query_param(request, "from"), query_param(request, "to")
        )
    )


@route(bp, BASE + "/{envId}/reservations", methods=["POST"], content_types=JSON_TYPES)
def reserve_environment(project: str, envId: str) -> Response:
    """Book [from, to): 201, or 409 naming the reservation it overlaps."""
    from chalicelib.models_environments import ReservationIn

    principal, body = authorized_body(bp.current_request, project, ReservationIn)
    booking = body.model_dump(by_alias=True, exclude_none=True)
    return created(_service().reserve(project, envId, booking, principal.user))


@route(bp, BASE + "/{envId}/reservations/{reservationId}", methods=["DELETE"])
def cancel_reservation(project: str, envId: str, reservationId: str) -> Response:
    principal_for(bp.current_request, project)
    _service().cancel(project, envId, reservationId)
    return Response(body="", status_code=204)
