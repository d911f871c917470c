"""Slack adapter: sends by incoming webhook or chat.postMessage through slack_sdk (imported on
first send). 429 becomes SlackThrottled with Slack's Retry-After; 5xx, timeouts and connection
errors SlackUnavailable, so the caller waits and sends again; any other refusal (a revoked
webhook or token, an unknown channel, a malformed message) SlackRejected, which no retry mends."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.outside import (
    SlackRejected,
    SlackThrottled,
    SlackUnavailable,
)

# chat.postMessage errors (HTTP 200, ok: false) that are Slack's own trouble, not ours
TRANSIENT_API_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)


class SlackNotifier:
    """Sends to an incoming webhook, or with a bot token to chat.postMessage."""

    def __init__(self, webhook_url: str = "", bot_token: str = "", base_url: str = "") -> None:
        self._webhook_url = webhook_url
        self._bot_token = bot_token
        self._base_url = base_url

    def send(self, message: dict[str, Any], channel: str | None = None) -> None:
        from slack_sdk.errors import SlackApiError

        try:
            if self._bot_token:
                from slack_sdk import WebClient

                kwargs: dict[str, Any] = {"token": self._bot_token, "timeout": 10}
                if self._base_url:
                    kwargs["base_url"] = self._base_url
                WebClient(**kwargs).chat_postMessage(channel=channel or "", **message)
                return
            from slack_sdk.webhook import WebhookClient

            response = WebhookClient(self._webhook_url, timeout=10).send_dict(message)
            if response.status_code == 429:
                raise SlackThrottled(_retry_after(response.headers))
            if response.status_code >= 500:
                raise SlackUnavailable(f"Slack answered {response.status_code}")
            if response.status_code != 200:
                raise SlackRejected(
                    f"Slack refused the message: {response.status_code} {response.body!s:.200}"
                )
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise SlackThrottled(_retry_after(exc.response.headers)) from exc
            error = str(exc.response.get("error"))
            if exc.response.status_code >= 500 or error in TRANSIENT_API_ERRORS:
                raise SlackUnavailable(error) from exc
            raise SlackRejected(f"Slack refused the message: {error}") from exc
        except OSError as exc:
            raise SlackUnavailable(str(exc)) from exc


def _retry_after(headers: Any) -> float:
    """Slack's Retry-After (seconds); a missing or odd one is read as one second."""
    found = {str(k).lower(): v for k, v in dict(headers or {}).items()}.get("retry-after")
    if isinstance(found, list):
        found = found[0] if found else None
    try:
        return max(1.0, float(found)) if found is not None else 1.0
    except (TypeError, ValueError):
        return 1.0
