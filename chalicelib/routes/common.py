"""What every route shares: authentication, body decoding, and the one error shape."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic import BaseModel

from chalicelib import audit_context
from chalicelib.domain.roles import Proof, Role, allowed
from chalicelib.errors import (
    FailbridgeError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    field_problem,
)
from chalicelib.ids import new_id
from chalicelib.models import parse_json, parse_model
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ["application/json"]
ANY_TYPE = ["*/*"]  # for views without a body: a GET's Content-Type says nothing
BODYLESS_METHODS = {"GET", "DELETE", "HEAD"}
XML_TYPES = ["application/xml", "text/xml"]


def error_response(error: FailbridgeError) -> Response:
    return Response(
        body=error.to_body(), status_code=error.status, headers={"Content-Type": "application/json"}
    )


def decoded_path_params(params: dict[str, Any]) -> dict[str, Any]:
    """Path parameters percent-decoded, exactly once. API Gateway (REST API, Lambda proxy) hands
    `pathParameters` over as the client encoded them, and Chalice passes them on as they are;
    Chalice's local server (and its test client) split the raw path the same way. So the app
    decodes, here and nowhere else: `%20` is a space, `%2F` a slash inside one id, `%25` a
    literal percent sign (decoding twice would turn `%2541` into `A`). `unquote`, not
    `unquote_plus`: in a path, `+` is a plus sign."""
    return {
        name: unquote(value) if isinstance(value, str) else value for name, value in params.items()
    }


def route(bp: Blueprint, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a view whose domain errors become the contract's error responses. A view that
    takes no body takes any Content-Type (Chalice would answer a GET carrying one 415)."""
    if set(kwargs.get("methods", ["GET"])) <= BODYLESS_METHODS:
        kwargs.setdefault("content_types", ANY_TYPE)

    def register(view: Callable[..., Any]) -> Any:
        @functools.wraps(view)
        def wrapped(**params: Any) -> Any:
            context = bp.current_request.context or {}
            # API Gateway names each request; Chalice's local server does not: we name it then
            with audit_context.serving(context.get("requestId") or new_id("req")):
                try:
                    return view(**decoded_path_params(params))
                except FailbridgeError as exc:
                    if exc.status >= 500:
                        logger.exception("request failed")
                    return error_response(exc)

        return bp.route(path, **kwargs)(wrapped)

    return register


def container() -> Container:
    from chalicelib.bootstrap import container as build

    return build()


def roles_for(request: Request, fallback: Iterable[Role] | None = None) -> frozenset[Role]:
    """The roles `domain.roles.PERMISSIONS` allows on this endpoint (method and route path).
    `fallback` only serves a route the table does not know yet; the roles test fails on those."""
    found = allowed(request.method, request.path)
    if isinstance(found, Proof):
        raise TypeError(f"{request.method} {request.path} takes no API key ({found})")
    if found is None:
        return frozenset(fallback or ())
    return found


def principal_for(
    request: Request, project: str | None, roles: Iterable[Role] | None = None
) -> Any:
    """Authenticate the request's API key and require a role the permissions table allows on
    this endpoint; when `project` is given, the key must be of it. The key then is the actor of
    whatever the request writes (the audit)."""
    needed = roles_for(request, roles)
    principal = container().access.authenticate(request.headers.get("authorization"), project)
    principal.require(principal.project if project is None else project, needed)
    audit_context.act_as(
        audit_context.key_actor(principal.key_id, principal.role.value, principal.user)
    )
    return principal


def require_content_type(request: Request, allowed: list[str]) -> None:
    given = request.headers.get("content-type")
    media = (given or "").split(";")[0].strip().lower()
    if media not in allowed:
        raise UnsupportedMediaType(
            f"Content-Type must be {' or '.join(allowed)}",
            [field_problem("Content-Type", f"is {given!r}; must be {' or '.join(allowed)}")],
        )


def raw_body(request: Request, max_bytes: int) -> bytes:
    body = request.raw_body or b""
    if isinstance(body, str):
        body = body.encode()
    if len(body) > max_bytes:
        raise PayloadTooLarge(
            "the body is too large",
            [
                field_problem(
                    "body",
                    f"must be at most {max_bytes} bytes; larger reports go "
                    "through POST /v1/projects/{project}/uploads",
                )
            ],
        )
    return body


def json_body(request: Request, model: type[M], max_bytes: int = 64 * 1024) -> M:
    require_content_type(request, JSON_TYPES)
    return parse_model(model, parse_json(raw_body(request, max_bytes)))


def query_param(request: Request, name: str) -> str | None:
    params = request.query_params
    return str(params[name]) if params and name in params else None


def int_param(request: Request, name: str, default: int, low: int = 1, high: int = 1000) -> int:
    """An integer query parameter within [low, high]; 422 naming it otherwise (`?limit=` too:
    an empty value is not a number)."""
    raw = query_param(request, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationFailed(
            f"{name} is not a whole number from {low} to {high}",
            [field_problem(name, f"must be a whole number from {low} to {high}")],
        )
    return value


def authorized_body(
    request: Request, project: str, model: type[M], max_bytes: int = 64 * 1024
) -> tuple[Any, M]:
    """A write's two checks, in this order: the caller (401/403, `principal_for`), then its
    JSON body (415, 413, 400/422, `json_body`)."""
    principal = principal_for(request, project)
    return principal, json_body(request, model, max_bytes)


def page_params(request: Request, default_limit: int) -> tuple[int, str | None]:
    """`?limit=` (1..1000, `default_limit` when absent) and `?cursor=` of a paged list."""
    return int_param(request, "limit", default_limit), query_param(request, "cursor")


def created(body: Any) -> Response:
    """201 Created with the new resource."""
    return Response(body, status_code=201)
