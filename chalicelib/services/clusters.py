"""Root causes across scenarios: listing clusters and deciding a cluster as one — through the
single-draft decision path (`DecisionService`), so the workflow, the approval record and Jira's
exactly-once creation are the same (placing drafts: `services.cluster_placing`).

- approve, mode `one` (the default): one draft (the cluster's primary, fixed at the first
  attempt) is approved; the others are merged into it, and the primary's Jira issue is linked
  to every affected test case (`clusterTestKeys`);
- approve, mode `per-scenario` (or the project's `clusterApproval: per-scenario`): each draft
  is approved, one Jira issue each;
- reject: every draft is rejected (an environment problem, unless a reason says otherwise);
- split: the named scenarios leave for a cluster of their own, and a label keeps them apart
  from this root cause in later runs.
A retry after a partial failure finishes the job: decided drafts are skipped."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from chalicelib.clock import now_iso
from chalicelib.domain.clusters import (
    Cluster,
    Label,
    Member,
)
from chalicelib.domain.roles import Actor, Role
from chalicelib.domain.signatures import Signature
from chalicelib.domain.statuses import ClusterStatus, TicketStatus
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_problem
from chalicelib.observability import logger
from chalicelib.services.cluster_placing import ClusterPlacing, Stores

__all__ = ["ClusterService", "Decider", "Stores"]

MODES = ("one", "per-scenario")
MAX_MERGED_READ = 1000  # tickets read to find every test case an approval-as-one links


class Decider(Protocol):
    """The single-draft decision path (DecisionService)."""

    def lead_of(self, ticket: Ticket) -> dict[str, Any]: ...

    def decide(
        self,
        ticket_id: str,
        decision: str,
        reason: str | None,
        merge_into: str | None,
        actor: Actor,
        project: str,
        jira_key: str | None = None,
    ) -> Ticket: ...


class ClusterService(ClusterPlacing):
    def __init__(
        self, stores: Stores, decider: Callable[[], Decider], clock: Callable[[], str] = now_iso
    ) -> None:
        super().__init__(stores, clock)
        self._decider = decider  # built lazily: it needs Slack and the approval keys

    # -- reading ---------------------------------------------------------------------------

    def listed(self, project: str, status: str | None) -> list[dict[str, Any]]:
        if status is not None and status not in set(ClusterStatus):
            raise ValidationFailed(
                "unknown cluster status",
                [field_problem("status", f"must be one of {', '.join(ClusterStatus)}")],
            )
        clusters, _ = self._clusters.of_project(project)
        chosen = [c for c in clusters if status is None or c.status == status]
        chosen.sort(key=lambda c: (-len(c.scenarios()), c.last_seen_at, c.id))
        return [c.view() for c in chosen]

    def get(self, project: str, cluster_id: str) -> dict[str, Any]:
        return self._clusters.get(project, cluster_id).view()

    # -- deciding --------------------------------------------------------------------------

    def decide(
        self,
        project: str,
        cluster_id: str,
        body: dict[str, Any],
        actor: Actor,
        before: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """`before` runs once the decision is known to be allowed and claimed, before any draft
        is decided (a link's nonce is consumed there)."""
        cluster = self._clusters.get(project, cluster_id)
        if cluster.status != ClusterStatus.OPEN:
            raise Conflict(f"cluster {cluster_id} was decided already")
        decision = body["decision"]
        drafts = self._drafts(cluster, actor)
        if decision == "split":
            return self._split(cluster, drafts, body.get("scenario_ids") or [], actor)
        if decision == "merge":
            return self._merge(cluster, body.get("into_cluster_id"), actor)
        if not drafts:
            raise Conflict(f"cluster {cluster_id} has no draft left to decide")
        mode = self.mode(project, body.get("mode"))
        claim = "reject" if decision == "reject" else f"approve:{mode}"
        claimed = self._clusters.claim_decision(project, cluster_id, claim)
        if claimed != claim:  # an approval and a rejection never mix; a retry finishes its own
            raise Conflict(f"cluster {cluster_id} is being decided otherwise ({claimed})")
        if before is not None:
            before()
        if decision == "reject":
            reason = body.get("reason") or f"environment problem: {cluster.summary}"
            outcome = {t.id: self._one(t, "reject", reason, None, actor) for t in drafts}
        elif mode == "per-scenario":
            outcome = {
                t.id: self._one(t, "approve", body.get("reason"), None, actor) for t in drafts
            }
        else:
            outcome, primary_id = self._approve_as_one(cluster, drafts, body.get("reason"), actor)
        record = {"decision": decision, "by": actor.who, "at": self._clock(), "tickets": outcome}
        if decision == "approve":
            record["mode"] = mode
        if decision == "approve" and mode == "one":
            record["primaryTicketId"] = primary_id  # later failures of it are its occurrences
        self._clusters.decided(project, cluster_id, record)
        return {**self._clusters.get(project, cluster_id).view(), "outcome": outcome}

    def mode(self, project: str, asked: str | None = None) -> str:
        """How an approval files a cluster: as asked, else as the project says (`one`)."""
        if asked:
            return asked
        settings = self._stores.projects.get(project) or {}
        return str(settings.get("clusterApproval") or "one")

    def check(self, project: str, cluster_id: str, actor: Actor) -> Cluster:
        """The cluster, if it is open and the actor may decide every draft in it."""
        cluster = self._clusters.get(project, cluster_id)
        if cluster.status != ClusterStatus.OPEN:
            raise Conflict(f"cluster {cluster_id} was decided already")
        self._drafts(cluster, actor)
        return cluster

    def _drafts(self, cluster: Cluster, actor: Actor) -> list[Ticket]:
        """The cluster's drafts still undecided; 403 unless the actor may decide every one."""
        decider = self._decider()
        drafts = []
        for member in cluster.member_list():
            try:
                ticket = self._stores.tickets.get(member.ticket_id)
            except NotFound:
                continue
            if not ticket.is_draft:
                continue
            if actor.role != Role.ADMIN and decider.lead_of(ticket).get("lead") != actor.who:
                raise Forbidden(
                    f"only an admin or the lead of every module in the cluster may decide it "
                    f"(not the lead of module {ticket.module})"
                )
            drafts.append(ticket)
        return drafts

    def _one(
        self, ticket: Ticket, decision: str, reason: str | None, into: str | None, actor: Actor
    ) -> str:
        try:
            return (
                self._decider()
                .decide(ticket.id, decision, reason, into, actor, ticket.project)
                .status
            )
        except Conflict as exc:  # decided meanwhile by someone else
            logger.info("cluster draft decided meanwhile", extra={"ticketId": ticket.id})
            return f"skipped: {exc}"

    def _approve_as_one(
        self, cluster: Cluster, drafts: list[Ticket], reason: str | None, actor: Actor
    ) -> tuple[dict[str, str], str]:
        primary_id = self._clusters.claim_primary(cluster.project, cluster.id, drafts[0].id)
        primary = next((t for t in drafts if t.id == primary_id), None)
        keys = self._test_keys(cluster, drafts)
        outcome: dict[str, str] = {}
        if primary is not None:
            self._stores.tickets.set_fields(
                primary.id,
                {
                    "clusterTestKeys": keys,
                    "clusterScenarios": cluster.scenarios(),
                    "title": f"{primary.title or cluster.summary} "
                    f"(1 root cause, {len(cluster.scenarios())} scenarios)"[:250],
                },
                only_status=TicketStatus.DRAFT.value,
            )
        for t in drafts:
            if t.id != primary_id:
                why = f"one root cause ({cluster.id}): merged into {primary_id}"
                outcome[t.id] = self._one(t, "merge", reason or why, primary_id, actor)
        if primary is not None:
            outcome[primary.id] = self._one(primary, "approve", reason, None, actor)
        return outcome, primary_id

    def _test_keys(self, cluster: Cluster, drafts: list[Ticket]) -> list[str]:
        """Every affected test case's Jira issue: each draft's, and each ticket's merged into
        one of them before (followed through their own merges); the report's key, else the
        registered test case's (an imported test case names its Jira issue)."""
        tickets, seen = list(drafts), {t.id for t in drafts}
        waiting = [m for t in drafts for m in t.merged_from or []]
        while waiting and len(seen) < MAX_MERGED_READ:
            ticket_id = waiting.pop()
            if ticket_id in seen:
                continue
            seen.add(ticket_id)
            try:
                merged = self._stores.tickets.get(ticket_id)
            except NotFound:
                continue
            tickets.append(merged)
            waiting.extend(merged.merged_from or [])
        keys = {t.jira_test_key for t in tickets if t.jira_test_key}
        keys |= {str(m.other["jiraTestKey"]) for m in cluster.member_list()
                 if m.other.get("jiraTestKey")}  # fmt: skip
        unkeyed = sorted(
            {t.test_case_id for t in tickets if t.test_case_id and not t.jira_test_key}
        )
        if unkeyed and self._stores.test_cases is not None:
            registered = self._stores.test_cases.get_many(cluster.project, unkeyed)
            keys |= {c.jira_test_key for c in registered.values() if c.jira_test_key}
        return sorted(keys)

    def _merge(self, cluster: Cluster, into: str | None, actor: Actor) -> dict[str, Any]:
        """The lead says two clusters are one root cause: this one's drafts join `into`, and
        its signatures follow `into`'s in later runs (a `together` label each)."""
        problem = "is required to merge" if not into else None
        target = None
        if into and into != cluster.id:
            try:
                target = self._clusters.get(cluster.project, into)
            except NotFound:
                problem = "is not a cluster of this project"
        if target is None or target.status != ClusterStatus.OPEN:
            problem = problem or "must be another open cluster of this project"
            raise ValidationFailed("cannot merge there", [field_problem("intoClusterId", problem)])
        at = self._clock()
        for key in cluster.signature_keys:
            label = Label("together", key, at, actor.who, with_key=target.founder.key)
            self._clusters.put_label(cluster.project, label)
        moved = {}
        for m in cluster.member_list():
            why = {"kind": "label", "label": "merged", "by": actor.who, "from": cluster.id}
            member = Member(m.ticket_id, m.scenario_id, m.signature_key, why, m.joined_at,
                            m.test_case_id)  # fmt: skip
            signature = Signature(0, "", "", (), m.signature_key)  # only its key is stored
            new_key = m.signature_key not in target.signature_keys
            if not self._clusters.join(
                cluster.project, target.id, member, signature, new_key=new_key, sample=False
            ):
                raise Conflict(f"cluster {target.id} was decided meanwhile")
            if new_key:
                target.signature_keys.append(m.signature_key)
            self._stores.tickets.set_fields(m.ticket_id, {"clusterId": target.id})
            moved[m.ticket_id] = target.id
        record = {"decision": "merge", "into": target.id, "by": actor.who, "at": at}
        self._clusters.decided(cluster.project, cluster.id, record)
        return {**self._clusters.get(cluster.project, cluster.id).view(), "outcome": moved}

    def _split(
        self, cluster: Cluster, drafts: list[Ticket], scenario_ids: list[str], actor: Actor
    ) -> dict[str, Any]:
        present = set(cluster.scenarios())
        unknown = [s for s in scenario_ids if s not in present]
        if not scenario_ids or unknown:
            raise ValidationFailed(
                "a split names scenarios of the cluster",
                [field_problem("scenarioIds", f"unknown here: {', '.join(unknown)}" if unknown
                               else "is required to split")],
            )  # fmt: skip
        if set(scenario_ids) == present:
            raise ValidationFailed(
                "a split leaves some scenarios behind",
                [field_problem("scenarioIds", "must not name every scenario of the cluster")],
            )
        at = self._clock()
        digest = hashlib.sha256("|".join(sorted(scenario_ids)).encode()).hexdigest()[:8]
        group = f"{cluster.id}~{digest}"
        leaving = [m for m in cluster.member_list() if m.scenario_id in scenario_ids]
        for m in leaving:
            label = Label("apart", m.signature_key, at, actor.who, m.scenario_id, group)
            self._clusters.put_label(cluster.project, label)
        self._clusters.remove_members(cluster.project, cluster.id, [m.ticket_id for m in leaving])
        live = {t.id: t for t in drafts}
        moved = {}
        for m in leaving:
            ticket = live.get(m.ticket_id) or self._stores.tickets.get(m.ticket_id)
            self._stores.tickets.set_fields(ticket.id, {"clusterId": None})
            ticket.cluster_id = None
            moved[ticket.id] = self.place(
                self._stores.projects.get(cluster.project) or {"key": cluster.project}, ticket
            )
        return {**self._clusters.get(cluster.project, cluster.id).view(), "outcome": moved}
