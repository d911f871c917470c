"""Operations: is the API up, and which version answers. No key, no AWS call, nothing else."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import __version__

bp = Blueprint(__name__)


@bp.route("/v1/health", methods=["GET"], content_types=["*/*"])  # a GET takes any Content-Type
def health() -> dict[str, str]:
    """200 while the API answers. Reveals nothing but its version: no stage, no table, no
    dependency checks (a load balancer or uptime probe calls it often and anonymously)."""
    return {"status": "ok", "version": __version__}
