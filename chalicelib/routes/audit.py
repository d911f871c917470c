"""The audit log: who did what, read by admins. Read only: nothing edits an entry."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.routes.common import container, int_param, principal_for, query_param, route

bp = Blueprint(__name__)


@route(bp, "/v1/projects/{project}/audit", methods=["GET"])
def read_audit(project: str) -> dict[str, Any]:
    """Entries oldest first: `from`, `to` (dates or date-times), `actor` (key id, lead, `jira`,
    `system`, or a key's user), `cursor`, `limit`."""
    request = bp.current_request
    principal_for(request, project)
    return dict(
        container().audit.read(
            project,
            query_param(request, "from"),
            query_param(request, "to"),
            query_param(request, "actor"),
            int_param(request, "limit", 100),
            query_param(request, "cursor"),
        )
    )
