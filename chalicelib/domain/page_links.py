"""Browser identity for the pages: signed, expiring, role-bound view links, and the signed session
a link is traded for on its first GET. Stateless: nothing is stored; the signature is the proof.

Link token:    `p1.<kid>.<payload b64url>.<signature b64url>`, payload
               `{"p": project, "r": role, "u": user, "e": expires, "s": path}`.
Session value: `s1.<kid>.<payload>.<signature>`, payload `{"p", "r", "u", "e", "c": csrf seed}`.

The MAC keys are derived from the approval keys (same rotation by key id) with a purpose label,
so a page token is never a valid approval token, a link never a valid session, and the reverse.
CSRF tokens are HMACs of the session's seed (or of an approval token): a form carries one, the
POST is refused without it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from chalicelib.errors import Forbidden, Gone, Unauthenticated

LINK = "p1"
SESSION = "s1"
SESSION_COOKIE = "fb_page"
MAX_LINK_SECONDS = 14 * 24 * 3600
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class PageClaims:
    project: str
    role: str
    user: str
    expires_at: int
    path: str = ""  # links: the page they open; sessions: ""
    csrf_seed: str = ""  # sessions only


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageSigner:
    def __init__(self, keys: dict[str, bytes], active_kid: str) -> None:
        if active_kid not in keys:
            raise ValueError("the active key id is not among the keys")
        self._keys = {
            kid: hmac.new(secret, b"failbridge pages", hashlib.sha256).digest()
            for kid, secret in keys.items()
        }
        self._active = active_kid

    @classmethod
    def from_spec(cls, spec: str) -> PageSigner:
        """The approval keys' spec, `kid1:secret1,kid2:secret2`; the first key signs."""
        pairs = [p.split(":", 1) for p in spec.split(",") if p.strip()]
        if not pairs or any(len(p) != 2 or not p[1] for p in pairs):
            raise ValueError("keys must look like kid:secret[,kid:secret]")
        return cls({k.strip(): v.strip().encode() for k, v in pairs}, pairs[0][0].strip())

    def _mac(self, kind: str, kid: str, payload: str) -> bytes:
        return hmac.new(
            self._keys[kid], f"{kind}.{kid}.{payload}".encode(), hashlib.sha256
        ).digest()

    def _sign(self, kind: str, body: dict[str, object]) -> str:
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{kind}.{self._active}.{payload}.{_b64(self._mac(kind, self._active, payload))}"

    def _open(self, kind: str, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != kind or parts[1] not in self._keys:
            raise Forbidden("this link is not valid")
        _, kid, payload, signature = parts
        try:
            given = _unb64(signature)
            if not hmac.compare_digest(given, self._mac(kind, kid, payload)):
                raise Forbidden("this link is not valid")
            body = json.loads(_unb64(payload))
        except (ValueError, TypeError) as exc:
            raise Forbidden("this link is not valid") from exc
        if not isinstance(body, dict):
            raise Forbidden("this link is not valid")
        return body

    # -- links ---------------------------------------------------------------------------------

    def link(self, project: str, role: str, user: str, path: str, expires_at: int) -> str:
        return self._sign(LINK, {"p": project, "r": role, "u": user, "e": expires_at, "s": path})

    def open_link(self, token: str, path: str, now: float) -> PageClaims:
        """The claims of a genuine, unexpired link made for this page."""
        body = self._open(LINK, token)
        try:
            claims = PageClaims(
                str(body["p"]),
                str(body["r"]),
                str(body["u"]),
                int(body["e"]),
                str(body["s"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Forbidden("this link is not valid") from exc
        if claims.path != path:
            raise Forbidden("this link was made for another page")
        if claims.expires_at < now:
            raise Gone("this link has expired")
        return claims

    # -- sessions ------------------------------------------------------------------------------

    def session(self, link: PageClaims, now: float) -> tuple[str, PageClaims]:
        """The session a link is traded for: same project, role and user; at most
        SESSION_SECONDS, never longer than the link itself would have lasted."""
        expires = int(min(link.expires_at, now + SESSION_SECONDS))
        claims = PageClaims(
            link.project, link.role, link.user, expires, csrf_seed=secrets.token_urlsafe(12)
        )
        body = {"p": claims.project, "r": claims.role, "u": claims.user, "e": expires}
        return self._sign(SESSION, {**body, "c": claims.csrf_seed}), claims

    def open_session(self, value: str | None, now: float) -> PageClaims:
        if not value:
            raise Unauthenticated("this page needs a view link")
        try:
            body = self._open(SESSION, value)
            claims = PageClaims(
                str(body["p"]),
                str(body["r"]),
                str(body["u"]),
                int(body["e"]),
                csrf_seed=str(body["c"]),
            )
        except (Forbidden, KeyError, TypeError, ValueError) as exc:
            raise Unauthenticated("this browser's session is not valid") from exc
        if claims.expires_at < now:
            raise Unauthenticated("this browser's session has expired")
        return claims

    # -- CSRF ----------------------------------------------------------------------------------

    def csrf(self, seed: str) -> str:
        """The token a form carries: bound to a session's seed or an approval token."""
        return _b64(self._mac("csrf", self._active, seed)[:18])

    def csrf_ok(self, seed: str, given: str | None) -> bool:
        if not given:
            return False
        return any(
            hmac.compare_digest(_b64(self._mac("csrf", kid, seed)[:18]), given)
            for kid in self._keys
        )


def page_path(page: str, project: str, ident: str | None) -> str:
    """The clean address of a page (what a link is signed for)."""
    if page == "dashboard":
        return f"/dashboard/{quote(project, safe='')}"
    if page == "ticket":
        return f"/pages/tickets/{quote(ident or '', safe='')}"
    if page == "report":
        return f"/pages/reports/{quote(ident or '', safe='')}"
    if page == "drafts":
        return f"/pages/projects/{quote(project, safe='')}/drafts"
    return f"/pages/runs/{quote(ident or '', safe='')}"


def link_url(
    signer: PageSigner,
    public_url: str,
    *,
    project: str,
    role: str,
    user: str,
    page: str,
    ident: str | None,
    expires_at: int,
) -> str:
    """A signed view link to a page: the clean address with `t=` (and `project=` for a run)."""
    path = page_path(page, project, ident)
    token = signer.link(project, role, user, path, expires_at)
    query = {"project": project} if page in ("run", "report") else {}
    return f"{public_url}{path}?{urlencode({**query, 't': token})}"
