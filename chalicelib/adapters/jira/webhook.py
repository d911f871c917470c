"""Jira's webhooks are signed: `X-Hub-Signature: <method>=<hex>` (WebSub), an HMAC of the body
with the webhook's secret."""

from __future__ import annotations

import hashlib
import hmac


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """The method is parsed, not assumed; only sha256 (what Jira sends today) and sha1/sha512
    are known. Constant-time compare."""
    if not secret or not header or "=" not in header:
        return False
    method, _, given = header.partition("=")
    algorithm = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "sha512": hashlib.sha512}.get(
        method.strip().lower()
    )
    if algorithm is None:
        return False
    expected = hmac.new(secret.encode(), body, algorithm).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())
