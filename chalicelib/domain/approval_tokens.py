"""Signed approval links: HMAC-SHA256 tokens bound to one ticket (or one root cause: `kind`
`cluster`, its id and project), one lead, an expiry and a nonce.

Format: `v1.<kid>.<payload b64url>.<signature b64url>`; the key id lets keys rotate (sign with the
newest, verify with any still listed). Checked in constant time. Single use is not decided here:
the nonce is consumed by a conditional write in the same transaction as the decision."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from chalicelib.errors import Forbidden, Gone


@dataclass(frozen=True)
class ApprovalClaims:
    ticket_id: str
    lead: str
    expires_at: int
    nonce: str
    kind: str = "ticket"  # or "cluster": `ticket_id` is then the cluster's id
    project: str | None = None  # a cluster's (cluster ids are per project)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ApprovalSigner:
    def __init__(self, keys: dict[str, bytes], active_kid: str) -> None:
        if active_kid not in keys:
            raise ValueError("the active approval key id is not among the keys")
        self._keys = keys
        self._active = active_kid

    @classmethod
    def from_spec(cls, spec: str) -> ApprovalSigner:
        """`kid1:secret1,kid2:secret2`; the first key signs, all verify."""
        pairs = [p.split(":", 1) for p in spec.split(",") if p.strip()]
        if not pairs or any(len(p) != 2 or not p[1] for p in pairs):
            raise ValueError("approval keys must look like kid:secret[,kid:secret]")
        return cls({k.strip(): v.strip().encode() for k, v in pairs}, pairs[0][0].strip())

    def _mac(self, kid: str, payload: str) -> bytes:
        return hmac.new(self._keys[kid], f"v1.{kid}.{payload}".encode(), hashlib.sha256).digest()

    def issue(
        self, ticket_id: str, lead: str, expires_at: int, *, cluster_of: str | None = None
    ) -> tuple[str, ApprovalClaims]:
        """A ticket's link; with `cluster_of` (a project), the link of that project's cluster
        `ticket_id` (a link of one kind never passes for the other)."""
        nonce = secrets.token_urlsafe(16)
        kind = "ticket" if cluster_of is None else "cluster"
        claims = ApprovalClaims(ticket_id, lead, int(expires_at), nonce, kind, cluster_of)
        body: dict[str, object] = {
            "t": claims.ticket_id, "l": claims.lead, "e": claims.expires_at, "n": claims.nonce
        }  # fmt: skip
        if cluster_of is not None:
            body.update({"k": kind, "p": cluster_of})
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        token = f"v1.{self._active}.{payload}.{_b64(self._mac(self._active, payload))}"
        return token, claims

    def verify(self, token: str, now: float) -> ApprovalClaims:
        """The claims of a genuine token; Forbidden if forged or malformed, Gone if expired."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v1" or parts[1] not in self._keys:
            raise Forbidden("this approval link is not valid")
        _, kid, payload, signature = parts
        try:
            given = _unb64(signature)
        except ValueError as exc:
            raise Forbidden("this approval link is not valid") from exc
        if not hmac.compare_digest(given, self._mac(kid, payload)):
            raise Forbidden("this approval link is not valid")
        try:
            body = json.loads(_unb64(payload))
            kind = str(body.get("k", "ticket"))
            project = str(body["p"]) if kind == "cluster" else None
            claims = ApprovalClaims(
                str(body["t"]), str(body["l"]), int(body["e"]), str(body["n"]), kind, project
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise Forbidden("this approval link is not valid") from exc
        if claims.expires_at < now:
            raise Gone("this approval link has expired")
        return claims
