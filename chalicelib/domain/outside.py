"""What can go wrong outside, in the domain's words. Adapters raise these (translating their
system's errors with `raise ... from`); services catch them without knowing the adapter."""

from __future__ import annotations


class JiraError(Exception):
    pass


class JiraThrottled(JiraError):
    """429: Jira asked us to wait (Retry-After)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Jira asked us to wait {retry_after:.0f} s")
        self.retry_after = retry_after


class JiraUnavailable(JiraError):
    """5xx, timeouts, connection errors; `unknown` when a create may have happened."""

    def __init__(
        self, message: str, *, unknown: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.unknown = unknown
        self.retry_after = retry_after


class JiraRejected(JiraError):
    """4xx: the request itself is wrong; trying again will not help."""


class TokenRejected(Exception):
    """Step Functions no longer waits on this task token (answered, timed out, or re-entered)."""


class SlackError(Exception):
    pass


class SlackThrottled(SlackError):
    """429: Slack asked us to wait (Retry-After)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Slack asked us to wait {retry_after:.0f} s")
        self.retry_after = retry_after


class SlackUnavailable(SlackError):
    """5xx, timeouts, connection errors: Slack may take the message later."""


class SlackRejected(SlackError):
    """A 4xx other than 429, or an API error that is not an outage (a revoked webhook or token,
    an unknown channel, a malformed message): sending again will not help."""
