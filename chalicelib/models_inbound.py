"""What outside systems send us (Slack interactions, Jira webhooks), validated before use.

A signed payload is trusted to come from Slack or Jira, not to have the shape we expect: every
field we read is declared here, everything else is ignored. A wrong shape is a 400 naming the
field, never a 500 (Jira retries 5xx deliveries; a retry of a malformed one cannot succeed).
Models accept what the sender may omit or send as null; types are checked where we read them."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.domain.tasks import TaskType
from chalicelib.errors import MalformedRequest, field_problem
from chalicelib.models import EdgeModel, _field_path, _problem

M = TypeVar("M", bound=BaseModel)


class _Inbound(BaseModel):
    """Field names as the sender spells them (Slack: snake_case)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class _CamelInbound(EdgeModel):
    """Field names as Jira spells them (camelCase): the edge models' own configuration."""


# -- Slack: the `payload` form field of a block_actions interaction ------------------------------


class SlackUserIn(_Inbound):
    id: str = ""


class SlackActionIn(_Inbound):
    action_id: str = ""
    value: str = ""


class SlackInteractionIn(_Inbound):
    type: str = ""
    user: SlackUserIn = Field(default_factory=SlackUserIn)
    actions: list[SlackActionIn] = Field(default_factory=list)


# -- Jira: a jira:issue_updated delivery ---------------------------------------------------------


class JiraStatusCategoryIn(_CamelInbound):
    key: str = ""


class JiraStatusIn(_CamelInbound):
    name: str = ""
    status_category: JiraStatusCategoryIn | None = None


class JiraResolutionIn(_CamelInbound):
    name: str | None = None


class JiraFieldsIn(_CamelInbound):
    status: JiraStatusIn | None = None
    resolution: JiraResolutionIn | None = None
    updated: str | None = None


class JiraIssueIn(_CamelInbound):
    key: str | None = None
    fields: JiraFieldsIn | None = None


class JiraWebhookIn(_CamelInbound):
    webhook_event: str = ""
    # Epoch milliseconds in Jira Cloud's documented example, but "2019-1-30 15:51:34,870" in a
    # real status-change delivery: not checked here; domain.feedback.updated_at_ms uses it only
    # when it is a number (and prefers the issue's `updated`).
    timestamp: Any = None
    issue: JiraIssueIn | None = None


# -- what the webhook queues for the Jira queue's consumer ---------------------------------------


class JiraChange(_CamelInbound):
    """A `jira_event` message on the Jira queue (FeedbackService.accept writes it). Checked again
    by the consumer: a message from an older version, or written by hand, must not crash it."""

    type: str = TaskType.JIRA_EVENT.value
    delivery: str = ""
    key: str = Field(min_length=1)
    status: str = ""
    category: str = ""
    resolution: str | None = None
    updated_at: int = 0
    event: str = ""


def parse_inbound(model: type[M], data: Any, where: str) -> M:
    """Validate a signed payload: a wrong shape is the contract's 400, naming the field under
    `where` (the form field or "body")."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = []
        for error in exc.errors():
            path = _field_path(error["loc"])
            field = where if path == "body" else f"{where}.{path}" if where != "body" else path
            details.append(field_problem(field, _problem(error)))
        raise MalformedRequest(f"the {where} does not have the expected shape", details) from exc
