"""The Jira side of filing a defect: create the issue once (search first after a lost answer),
then its links, remote links and attachments as recorded steps (`services/defects.py`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from chalicelib.domain.lifecycle import Cause
from chalicelib.domain.outside import JiraRejected, JiraThrottled, JiraUnavailable
from chalicelib.domain.statuses import TicketStatus
from chalicelib.domain.tickets import Ticket
from chalicelib.observability import logger
from chalicelib.services.defect_delivery import DefectDelivery, RetryLater, Step


class JiraSteps(DefectDelivery):
    """Creating the issue and the steps after it."""

    def _create_and_link(self, ticket: Ticket) -> str:
        key = (ticket.jira or {}).get("key") or ticket.link_to
        if not key:
            key = self._create(ticket)
        steps = set(ticket.jira_steps or [])
        for step, action in self._steps(ticket, key):
            if step not in steps:
                try:
                    action()
                except JiraRejected as exc:  # e.g. a test case key that is not in Jira
                    logger.warning(
                        "Jira step skipped",
                        extra={"ticketId": ticket.id, "step": step, "reason": str(exc)},
                    )
                    self._tickets.add_warning(ticket.id, f"{step}: {exc}")
                self._tickets.add_steps(ticket.id, {step})
        jira = {"key": key, "url": self.tracker.issue_url(key)}
        opened = self._move(
            ticket,
            Cause.JIRA_CREATED,
            TicketStatus.OPEN,
            f"Jira issue {key}",
            {"jira": jira},
            also=[self._tickets.jira_index_put(key, ticket.id)],
        )
        if ticket.jira_task_token:
            self._answer(ticket.jira_task_token, opened)
        self._through(ticket, key)
        return TicketStatus.OPEN.value

    def _create(self, ticket: Ticket) -> str:
        label = self._issues.unique_label(ticket.id)
        attempts = int(ticket.jira_create_attempts or 0)
        if attempts:
            found = self.tracker.find_by_label(label)
            if found:
                self._tickets.set_fields(
                    ticket.id, {"jira": {"key": found, "url": self.tracker.issue_url(found)}}
                )
                return str(found)
            since = self._clock() - float(ticket.jira_last_attempt_at or 0)
            if ticket.jira_uncertain_at and since < self._lag:
                raise RetryLater(
                    self._lag - since + 1,
                    "a create may have happened; waiting "
                    "for Jira's search to catch up before creating again",
                )
        mapping = self._mapping(ticket)
        text = self._issues.description(
            ticket.to_dict(),
            [e.to_dict() for e in self._stores.executions.occurrences(ticket.id)],
            f"{self._public_url}/pages/tickets/{ticket.id}",  # asks the browser for a link
        )
        fields = self._issues.issue_fields(mapping, ticket.to_dict(), text)
        # The claim: one worker per attempt number (SQS may hand the message to two at once).
        if not self._tickets.claim_create_attempt(ticket.id, attempts, int(self._clock())):
            raise RetryLater(float(self._lag), "another worker is creating this issue")
        try:
            key = self.tracker.create_issue(fields)
        except (JiraRejected, JiraThrottled, JiraUnavailable) as exc:
            if not getattr(exc, "unknown", False):  # Jira answered: it created nothing
                self._tickets.set_fields(ticket.id, {"jiraUncertainAt": 0})
            raise
        self._tickets.set_fields(
            ticket.id, {"jira": {"key": key, "url": self.tracker.issue_url(key)}}
        )
        return key

    def _mapping(self, ticket: Ticket) -> dict[str, Any]:
        project = self._stores.projects.get(ticket.project) or {}
        mapping = project.get("jira")
        if not mapping:
            raise JiraRejected(
                f"project {ticket.project} has no Jira mapping; an admin sets "
                "it with PUT /v1/projects/{project}/jira"
            )
        return dict(mapping)

    def _steps(self, ticket: Ticket, key: str) -> list[Step]:
        """What the issue gets after creation, each a named step done once: native links,
        remote links to the run, report, script and ticket, and the stored evidence."""
        return [
            *self._link_steps(ticket, key),
            *self._remote_steps(ticket, key),
            *self._attachment_steps(ticket, key),
        ]

    def _link_steps(self, ticket: Ticket, key: str) -> list[Step]:
        """requirement -> test case -> defect, execution -> defect, defect -> requirement, with
        the project's link types. The test case's Jira issue and requirements are the report's,
        else the registered test case's (an imported test case names its Jira issue)."""
        mapping = (self._stores.projects.get(ticket.project) or {}).get("jira") or {}
        types = mapping.get("linkTypes") or {}
        is_key = self._issues.JIRA_KEY.match
        registered = (
            self._test_case(ticket.project, ticket.test_case_id) if ticket.test_case_id else None
        )
        test_key = ticket.jira_test_key or (registered.jira_test_key if registered else None)
        test_key = test_key if is_key(test_key or "") else None
        requirements = [
            r
            for r in dict.fromkeys(
                [*(ticket.requirements or []), *(registered.requirements if registered else [])]
            )
            if is_key(r)
        ]
        execution_key = ticket.jira_execution_key
        # a root cause approved as one issue: every affected test case (`services.clusters`)
        cluster_keys = [k for k in ticket.other.get("clusterTestKeys") or [] if is_key(k)]
        wanted: list[tuple[str, str | None, str, str | None]] = [
            (f"link:test:{test_key}", types.get("defectToTestCase"), key, test_key),
            *(
                (f"link:test:{k}", types.get("defectToTestCase"), key, k)
                for k in cluster_keys
                if k != test_key
            ),
            (
                f"link:execution:{execution_key}",
                types.get("defectToExecution"),
                key,
                execution_key if is_key(execution_key or "") else None,
            ),
            *(
                (f"link:requirement:{r}", types.get("requirementToTestCase"), r, test_key)
                for r in requirements
            ),
            *(
                (f"link:defect-requirement:{r}", types.get("defectToRequirement"), key, r)
                for r in requirements
            ),
        ]
        return [
            (step, partial(self._link, link_type, inward, outward))
            for step, link_type, inward, outward in wanted
            if link_type and outward
        ]

    def _remote_steps(self, ticket: Ticket, key: str) -> list[Step]:
        run = ticket.run or {}
        remote = [
            ("run", run.get("ciUrl"), f"CI run {run.get('name') or run.get('id', '')}"),
            ("report", ticket.report_url, "Test report"),
            ("script", ticket.script_url, "Failed test script"),
            (
                "ticket",
                f"{self._public_url}/pages/tickets/{ticket.id}",  # asks the browser for a link
                f"failbridge ticket {ticket.id}",
            ),
        ]
        return [
            (
                f"remote:{name}",
                partial(
                    self._remote_link, key, f"failbridge:{ticket.id}:{name}", url, title.strip()
                ),
            )
            for name, url, title in remote
            if url
        ]

    def _attachment_steps(self, ticket: Ticket, key: str) -> list[Step]:
        return [
            (f"attach:{a['attachmentId']}", partial(self._attach, key, a))
            for a in self._stores.attachments.of_ticket(ticket.id)
            if a.get("status") == "stored"
        ]

    def _link(self, link_type: str, inward: str, outward: str) -> None:
        self.tracker.link(link_type, inward, outward)

    def _remote_link(self, key: str, global_id: str, url: str, title: str) -> None:
        self.tracker.remote_link(key, global_id, url, title)

    def _attach(self, key: str, attachment: dict[str, Any]) -> None:
        import io

        # The client rewinds what it uploads, so it needs a seekable file; evidence is small.
        body = self._blobs.stream(attachment["key"])
        try:
            self.tracker.attach(key, attachment["fileName"], io.BytesIO(body.read()))
        finally:
            body.close()
