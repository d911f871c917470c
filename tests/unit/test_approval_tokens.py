"""Approval links: bound, expiring, rotatable, unforgeable."""

from __future__ import annotations

import pytest

from chalicelib.domain.approval_tokens import ApprovalSigner
from chalicelib.errors import Forbidden, Gone

signer = ApprovalSigner.from_spec("k2:new-secret,k1:old-secret")


def test_a_token_carries_its_ticket_lead_expiry_and_a_fresh_nonce() -> None:
    token, claims = signer.issue("tk_1", "lead@example.com", 2_000)
    again, other = signer.issue("tk_1", "lead@example.com", 2_000)
    assert signer.verify(token, now=1_000) == claims
    assert claims.ticket_id == "tk_1" and claims.lead == "lead@example.com"
    assert token != again and claims.nonce != other.nonce


def test_an_expired_token_is_gone() -> None:
    token, _ = signer.issue("tk_1", "lead@example.com", 1_000)
    with pytest.raises(Gone):
        signer.verify(token, now=1_001)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.replace(t.split(".")[2], t.split(".")[2][::-1]),
        lambda t: "v1.k9." + ".".join(t.split(".")[2:]),
        lambda t: "v2." + t[3:],
        lambda t: "garbage",
        lambda t: t + ".extra",
    ],
)
def test_a_tampered_token_is_forbidden(mangle) -> None:
    token, _ = signer.issue("tk_1", "lead@example.com", 2_000)
    with pytest.raises(Forbidden):
        signer.verify(mangle(token), now=1_000)


def test_keys_rotate_old_tokens_verify_until_the_old_key_is_dropped() -> None:
    old = ApprovalSigner.from_spec("k1:old-secret")
    token, claims = old.issue("tk_1", "lead@example.com", 2_000)
    assert signer.verify(token, now=1_000) == claims
    with pytest.raises(Forbidden):
        ApprovalSigner.from_spec("k2:new-secret").verify(token, now=1_000)


def test_a_token_signed_with_another_secret_is_forged() -> None:
    forger = ApprovalSigner.from_spec("k2:guessed")
    token, _ = forger.issue("tk_1", "lead@example.com", 2_000)
    with pytest.raises(Forbidden):
        signer.verify(token, now=1_000)
