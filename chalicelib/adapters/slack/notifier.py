"""Slack adapter: sends by incoming webhook or chat.postMessage through slack_sdk (imported on
first send). 429 becomes SlackThrottled with Slack's Retry-After; 5xx, timeouts and connection
errors SlackUnavailable, so the caller waits and sends again."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.outside import (
    SlackThrottled,
    SlackUnavailable,
)


def _retry_after(headers: Any) -> float:
    from chalicelib.adapters.jira.client import retry_after_seconds

    value = None
    if headers:
        value = headers.get("Retry-After") or headers.get("retry-after")
        if isinstance(value, list):
            value = value[0] if value else None
    wait = retry_after_seconds(value)
    return 1.0 if wait is None else wait


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
            if response.status_code != 200:
                raise SlackUnavailable(f"Slack answered {response.status_code}")
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise SlackThrottled(_retry_after(exc.response.headers)) from exc
            raise SlackUnavailable(str(exc.response.get("error"))) from exc
        except OSError as exc:
            raise SlackUnavailable(str(exc)) from exc
