"""The kinds of work that travel on our SQS queues. One enum, shared by the handlers, the
services that send them and the state machine (whose task payloads name them)."""

from __future__ import annotations

from enum import StrEnum


class TaskType(StrEnum):
    # the workflow queue: sent by the state machine or by us
    AWAIT_DECISION = "await_decision"
    AWAIT_FEEDBACK = "await_feedback"
    FLUSH_NOTIFICATIONS = "flush_notifications"
    EXPIRE_DRAFT = "expire_draft"
    TELL_LEAD = "tell_lead"  # a notice to a lead, sent once (Slack down: later, not lost)
    # a new draft's execution, named and with its input fixed when the draft was filed
    START_WORKFLOW = "start_workflow"
    # the Jira queue
    CREATE_DEFECT = "create_defect"
    JIRA_EVENT = "jira_event"
    RETEST_PASSED = "retest_passed"
    RETEST_FAILED = "retest_failed"
    REGRESSION_REOPENED = "regression_reopened"
    RECORD_KNOWLEDGE = "record_knowledge"
