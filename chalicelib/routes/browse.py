"""Pages for people in a browser: the dashboard, a ticket, a run, the drafts waiting for a
decision; and the signed view links that let a browser in. The first GET with a link's token
trades it for a signed session cookie and redirects to the clean address; later GETs show the
cookie. GETs change nothing of ours."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import models
from chalicelib.clock import iso_of
from chalicelib.domain.page_links import (
    MAX_LINK_SECONDS,
    SESSION_COOKIE,
    PageClaims,
    link_url,
    page_path,
)
from chalicelib.domain.roles import Role
from chalicelib.errors import FailbridgeError, Unauthenticated, ValidationFailed
from chalicelib.routes.common import (
    ANY_TYPE,
    JSON_TYPES,
    container,
    decoded_path_params,
    json_body,
    principal_for,
    query_param,
)
from chalicelib.routes.common import route as api_route

bp = Blueprint(__name__)
DEFAULT_LINK_SECONDS = 7 * 24 * 3600
PAGE_TITLES = {
    401: "Sign in with a view link",
    403: "Not for this link",
    404: "Not found",
    410: "This link has expired",
}


def _cookie(request: Request) -> str | None:
    raw = request.headers.get("cookie")
    if not raw:
        return None
    from http.cookies import CookieError, SimpleCookie  # a page's request only: not at import

    try:
        jar: SimpleCookie = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel else None


def _html(body: str, status: int = 200, images: list[str] | None = None) -> Response:
    from chalicelib.web.render import headers

    return Response(body=body, status_code=status, headers=headers(images or []))


def _refusal(exc: FailbridgeError, page_kind: str, page_id: str | None) -> Response:
    from chalicelib.web.render import render

    title = PAGE_TITLES.get(exc.status, "This page cannot be shown")
    template = "signin.html" if exc.status == 401 else "refusal.html"
    body = render(template, title=title, message=exc.message, page_kind=page_kind, page_id=page_id)
    response = _html(body, exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Cookie realm="failbridge pages"'
    return response


def browser_page(kind: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """A page view: trades a link for a session (303 to the clean URL), else wants a session;
    errors become HTML pages (401 says how to get a link)."""

    def register(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapped(**params: Any) -> Response:
            params = decoded_path_params(params)
            request = bp.current_request
            ident = params.get("ticketId") or params.get("runId") or params.get("reportId")
            project = params.get("project") or query_param(request, "project") or ""
            try:
                path = page_path(kind, project, ident)
                token = query_param(request, "t")
                signer, now = container().page_signer, time.time()
                if token:
                    link = signer.open_link(token, path, now)
                    value, session = signer.session(link, now)
                    rest = {k: v for k, v in (request.query_params or {}).items() if k != "t"}
                    location = path + (f"?{urlencode(rest)}" if rest else "")
                    max_age = max(0, int(session.expires_at - now))
                    return Response(
                        body="",
                        status_code=303,
                        headers={
                            "Location": location,
                            "Set-Cookie": f"{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; "
                            "HttpOnly; Secure; SameSite=Lax",
                            "Cache-Control": "no-store",
                            "Referrer-Policy": "no-referrer",
                        },
                    )
                viewer = signer.open_session(_cookie(request), now)
                if kind != "ticket" and viewer.project != project:
                    raise Unauthenticated(
                        f"this browser's view link is for project {viewer.project}, not {project}"
                    )
                return view(viewer=viewer, **params)
            except FailbridgeError as exc:
                return _refusal(exc, kind, ident)

        return bp.route(path_for[kind], methods=["GET"], content_types=ANY_TYPE)(wrapped)

    return register


path_for = {
    "dashboard": "/dashboard/{project}",
    "ticket": "/pages/tickets/{ticketId}",
    "run": "/pages/runs/{runId}",
    "report": "/pages/reports/{reportId}",
    "drafts": "/pages/projects/{project}/drafts",
}


@browser_page("dashboard")
def dashboard(viewer: PageClaims, project: str) -> Response:
    from chalicelib.web.render import render

    request = bp.current_request
    data = container().pages.dashboard(
        project,
        query_param(request, "from") or None,
        query_param(request, "to") or None,
        query_param(request, "module") or None,
    )
    return _html(
        render("dashboard.html", title=f"{project} quality dashboard", viewer=viewer, **data)
    )


@browser_page("ticket")
def ticket_page(viewer: PageClaims, ticketId: str) -> Response:
    from chalicelib.web.render import render

    request = bp.current_request
    try:
        page = int(query_param(request, "page") or 1)
    except ValueError:
        page = 1
    data = container().pages.ticket(ticketId, viewer.project, page)
    title = f"Ticket {ticketId}"
    body = render(
        "ticket.html",
        title=title,
        viewer=viewer,
        project=viewer.project,
        d=data,
        page_url=page_path("ticket", viewer.project, ticketId),
    )
    return _html(body, images=[i["url"] for i in data["evidence"]["images"]])


@browser_page("run")
def run_page(viewer: PageClaims, runId: str) -> Response:
    from chalicelib.web.render import render

    data = container().pages.run(viewer.project, runId)
    return _html(
        render("run.html", title=f"Run {runId}", viewer=viewer, project=viewer.project, r=data)
    )


@browser_page("drafts")
def drafts_page(viewer: PageClaims, project: str) -> Response:
    """The project's drafts waiting for a decision, a page at a time (`cursor`): what the Slack
    digest's "…and N more" link opens. The viewer's own carry the approval page's link."""
    from chalicelib.web.render import render

    # only a lead's (or an admin's) link is offered the approval pages of its own drafts
    deciding = viewer.user if viewer.role in (Role.LEAD, Role.ADMIN) else ""
    rows, more = container().waiting.page(
        project, deciding, query_param(bp.current_request, "cursor")
    )
    body = render(
        "drafts.html",
        title=f"Drafts waiting for a decision in {project}",
        viewer=viewer,
        project=project,
        rows=rows,
        more=more,
    )
    return _html(body)


@api_route(bp, "/v1/projects/{project}/page-links", methods=["POST"], content_types=JSON_TYPES)
def create_page_link(project: str) -> Response:
    """A signed view link for the caller's role: `{"url", "expiresAt"}`."""
    request = bp.current_request
    principal = principal_for(request, project)
    body = json_body(request, models.PageLinkIn)
    if body.page in ("ticket", "run") and not body.id:
        raise ValidationFailed(
            "which ticket or run?",
            [{"field": "id", "problem": f"is required for a {body.page} page"}],
        )
    if body.page == "ticket":
        container().pages.ticket_project(body.id or "", project)
    seconds = min(body.expires_in_seconds or DEFAULT_LINK_SECONDS, MAX_LINK_SECONDS)
    expires = int(time.time()) + seconds
    url = link_url(
        container().page_signer,
        container().settings.public_url,
        project=project,
        role=str(principal.role),
        user=str(principal.user),
        page=body.page,
        ident=body.id,
        expires_at=expires,
    )
    return Response({"url": url, "expiresAt": iso_of(expires)}, status_code=201)


@browser_page("report")
def report_page(viewer: PageClaims, reportId: str) -> Response:
    """A report's file: a fresh presigned URL (Slack's link outlives any presigned one)."""
    url = container().reports.download_url(viewer.project, reportId)
    return Response(
        body="",
        status_code=303,
        headers={"Location": url, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
