"""Slack's requests to us (button clicks) are signed with the app's signing secret: checked with
slack_sdk's verifier (imported on first check), which also refuses stale timestamps."""

from __future__ import annotations

from collections.abc import Callable


class SlackRequestVerifier:
    """`is_valid` is False without a secret, headers, or a fresh and correct signature."""

    def __init__(self, signing_secret: Callable[[], str]) -> None:
        self._secret = signing_secret

    def is_valid(self, body: bytes, timestamp: str | None, signature: str | None) -> bool:
        from slack_sdk.signature import SignatureVerifier

        secret = self._secret()
        if not secret:
            return False
        try:
            return bool(SignatureVerifier(secret).is_valid(body, timestamp, signature))
        except (ValueError, TypeError):
            return False
