"""Root causes across scenarios: placing a new draft in its cluster (an open one, or a new one
marked "new since decision" when its root cause was decided before), the decided cluster a new
failure's root cause was approved as, and the regrouping migration (`services.clusters`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain.clusters import (
    DEFAULT_WINDOW_HOURS,
    SAMPLES,
    Cluster,
    Member,
    choose,
    with_member,
)
from chalicelib.domain.ports import (
    ClusterRepository,
    ProjectRepository,
    TestCaseRepository,
    TicketRepository,
)
from chalicelib.domain.signatures import VERSION, Signature, signature_of
from chalicelib.domain.statuses import ClusterStatus, TicketStatus
from chalicelib.domain.tickets import Ticket
from chalicelib.errors import Conflict


@dataclass(frozen=True)
class Stores:
    clusters: ClusterRepository
    tickets: TicketRepository
    projects: ProjectRepository
    test_cases: TestCaseRepository | None = None  # registered test cases' Jira issues


def _since(at: str, hours: float) -> str:
    moment = datetime.fromisoformat(at.replace("Z", "+00:00")) - timedelta(hours=hours)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _since_decision(cluster: Cluster) -> dict[str, Any]:
    decision = cluster.decision or {}
    return {
        "clusterId": cluster.id,
        "decision": decision.get("decision"),
        "mode": decision.get("mode"),
        "by": decision.get("by"),
        "at": decision.get("at"),
    }


class ClusterPlacing:
    def __init__(self, stores: Stores, clock: Callable[[], str] = now_iso) -> None:
        self._stores = stores
        self._clusters = stores.clusters
        self._clock = clock

    def reserve(self, project: dict[str, Any], ticket: Ticket, seen: dict[str, Any]) -> None:
        """Before a new draft is stored: its cluster (founded if new) goes on the ticket, so
        the draft's own transaction writes `clusterId` (and `sinceDecision`); `place` then
        joins it (one UpdateItem, no write to the draft unless the cluster was decided
        meanwhile)."""
        if ticket.cluster_id:
            return
        signature, since = self._signed(project, ticket)
        cluster, member = self._target(ticket, signature, since, seen, set())
        ticket.cluster_id = cluster.id
        if cluster.since_decision:
            ticket.other["sinceDecision"] = cluster.since_decision
        seen.setdefault("reserved", {})[ticket.id] = member

    def place(
        self, project: dict[str, Any], ticket: Ticket, seen: dict[str, Any] | None = None
    ) -> str:
        """Put a draft in its cluster (the one `reserve` chose, an existing one or a new one);
        returns its id, stored on the draft (`clusterId`). A draft placed already stays where
        it is; one stored with a cluster it never joined (its writer died between the two)
        is placed now. `seen` keeps the project's clusters for the rest of one report (one
        Query per report)."""
        seen = {} if seen is None else seen
        signature, since = self._signed(project, ticket)
        reserved: Member | None = seen.get("reserved", {}).pop(ticket.id, None)
        target = None
        if ticket.cluster_id:
            if "clusters" not in seen:
                seen["clusters"], seen["labels"] = self._clusters.of_project(ticket.project)
            target = next((c for c in seen["clusters"] if c.id == ticket.cluster_id), None)
            if reserved is None and (target is None or ticket.id in target.members):
                return ticket.cluster_id  # placed already (or its cluster is gone)
        excluded: set[str] = set()
        for _ in range(5):
            if reserved is not None and target is not None:
                cluster, member, written = target, reserved, True  # the draft carries its id
            else:
                cluster, member = self._target(ticket, signature, since, seen, excluded)
                written = False
            reserved = target = None
            new_key = signature.key not in cluster.signature_keys
            sample = new_key and len(cluster.samples) < SAMPLES
            if self._clusters.join(
                ticket.project, cluster.id, member, signature, new_key=new_key, sample=sample
            ):
                with_member(cluster, member, signature)
                if not written:
                    self._record(ticket, cluster, signature)
                return cluster.id
            excluded.add(cluster.id)  # decided meanwhile
            seen.pop("clusters", None)
        raise Conflict(f"could not place draft {ticket.id} in a cluster")

    def _record(self, ticket: Ticket, cluster: Cluster, signature: Signature) -> None:
        """The draft's cluster (and the decision it is new since, if any), on the draft."""
        fields: dict[str, Any] = {"clusterId": cluster.id, "signature": signature.to_dict()}
        if cluster.since_decision:
            fields["sinceDecision"] = cluster.since_decision
            ticket.other["sinceDecision"] = cluster.since_decision
        self._stores.tickets.set_fields(ticket.id, fields)
        ticket.cluster_id = cluster.id

    @staticmethod
    def _signed(project: dict[str, Any], ticket: Ticket) -> tuple[Signature, str]:
        stored = ticket.signature or {}
        if stored.get("version") == VERSION:  # computed at ingest from the whole trace
            signature = Signature.from_dict(stored)
        else:
            signature = signature_of(ticket.error, ticket.actual)
        hours = float(project.get("clusterWindowHours", DEFAULT_WINDOW_HOURS))
        return signature, _since(ticket.created_at, hours)

    def _target(
        self,
        ticket: Ticket,
        signature: Signature,
        since: str,
        seen: dict[str, Any],
        excluded: set[str],
    ) -> tuple[Cluster, Member]:
        """The open cluster a draft joins, or a new one it founds, and its member entry."""
        if "clusters" not in seen:
            seen["clusters"], seen["labels"] = self._clusters.of_project(ticket.project)
        clusters: list[Cluster] = seen["clusters"]
        recent = [c for c in clusters if c.last_seen_at >= since and c.id not in excluded]
        placement = choose(signature, ticket.scenario_id, recent, seen["labels"])
        member = Member(
            ticket.id, ticket.scenario_id, signature.key, placement.why, ticket.created_at,
            ticket.test_case_id,
        )  # fmt: skip
        if placement.cluster_id:
            return next(c for c in recent if c.id == placement.cluster_id), member
        # a new root cause, or one decided before: the lead sees that decision
        prior = self.decided_match(signature, ticket.scenario_id, since, seen)
        since_decision = _since_decision(prior) if prior else None
        cluster = self._found(ticket, signature, placement.group, since_decision)
        if cluster not in clusters:
            clusters.append(cluster)
        return cluster, member

    def decided_match(
        self, signature: Signature, scenario_id: str, since: str, seen: dict[str, Any]
    ) -> Cluster | None:
        """The decided cluster (decided or last joined within the window) a failure with this
        signature would have joined, had it been open; a merged-away cluster never answers (its
        labels send its signatures on)."""

        def latest(c: Cluster) -> str:
            return max(c.last_seen_at, str((c.decision or {}).get("at") or ""))

        decided = sorted(  # the latest decision answers (a root cause decided twice)
            (
                c
                for c in seen["clusters"]
                if c.status == ClusterStatus.DECIDED
                and (c.decision or {}).get("decision") in ("approve", "reject")
                and latest(c) >= since
            ),
            key=latest,
            reverse=True,
        )
        for cluster in decided:  # the latest decision that would have taken it answers
            placement = choose(
                signature, scenario_id, [cluster], seen["labels"], status=ClusterStatus.DECIDED
            )
            if placement.cluster_id == cluster.id:
                return cluster
        return None

    def approved_as(
        self,
        project: dict[str, Any],
        signature: dict[str, Any] | None,
        scenario_id: str,
        at: str,
        seen: dict[str, Any],
    ) -> str | None:
        """The ticket a new failure is an occurrence of, if its root cause was approved as one
        issue within the window: the approved draft (`seen`: as `place`'s)."""
        if not signature or signature.get("version") != VERSION:
            return None
        hours = float(project.get("clusterWindowHours", DEFAULT_WINDOW_HOURS))
        if "clusters" not in seen:
            seen["clusters"], seen["labels"] = self._clusters.of_project(project["key"])
        prior = self.decided_match(
            Signature.from_dict(signature), scenario_id, _since(at, hours), seen
        )
        decision = (prior.decision or {}) if prior else {}
        if decision.get("decision") == "approve" and decision.get("mode") == "one":
            return decision.get("primaryTicketId") or None
        return None

    def _found(
        self,
        ticket: Ticket,
        signature: Signature,
        group: str | None,
        since_decision: dict[str, Any] | None = None,
    ) -> Cluster:
        """A new cluster, its id derived from the signature and the day (drafts of one new
        root cause racing each other found it once); a decided one of the same id: the next."""
        base = f"{ticket.project}|{signature.key}|{group or ''}|{ticket.created_at[:10]}"
        digest = hashlib.sha256(base.encode()).hexdigest()[:12]
        for n in range(50):
            cluster_id = f"cl-{digest}" + (f"-{n}" if n else "")
            cluster = Cluster(
                id=cluster_id,
                project=ticket.project,
                status=ClusterStatus.OPEN,
                created_at=ticket.created_at,
                last_seen_at=ticket.created_at,
                signature=signature.to_dict(),
                signature_keys=[signature.key],
                samples=[signature.to_dict()],
                group=group,
                since_decision=since_decision,
            )
            if self._clusters.found(cluster):
                return cluster
            existing = self._clusters.get(ticket.project, cluster_id)
            if existing.status == ClusterStatus.OPEN:
                return existing
        raise Conflict(f"too many clusters of signature {signature.key} today")

    def regroup(self, project: str, *, apply: bool) -> dict[str, Any]:
        """The migration after the signature rules changed (`VERSION`): every draft whose
        signature is not today's is signed again and, with `apply`, leaves its cluster and is
        placed again. A dry run only counts. A trace kept in S3 is signed from its preview."""
        settings = self._stores.projects.get(project) or {"key": project}
        drafts, cursor = [], None
        while True:
            page, cursor = self._stores.tickets.page(
                project, status=TicketStatus.DRAFT.value, module=None, limit=100, cursor=cursor
            )
            drafts.extend(page)
            if not cursor:
                break
        stale = [t for t in drafts if (t.signature or {}).get("version") != VERSION]
        moved: dict[str, str] = {}
        for ticket in stale if apply else []:
            if ticket.cluster_id:
                self._clusters.remove_members(project, ticket.cluster_id, [ticket.id])
            fresh = signature_of(ticket.error, ticket.actual).to_dict()
            ticket.signature, ticket.cluster_id = fresh, None
            moved[ticket.id] = self.place(settings, ticket)
        return {
            "project": project,
            "version": VERSION,
            "drafts": len(drafts),
            "stale": len(stale),
            "applied": apply,
            "placed": moved,
        }
