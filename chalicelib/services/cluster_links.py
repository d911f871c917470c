"""Deciding a whole root cause from Slack: the digest's cluster line carries signed links (the
approval-token mechanism: bound to one cluster and one lead, expiring, single use) to the
cluster's page. The page (GET) shows the cluster and decides nothing; its forms (POST, with a
CSRF token bound to the link) decide through `ClusterService.decide`, so the workflow, the
approval records and Jira's exactly-once creation are a single draft's.

- approve as one issue / one per scenario, reject all: the link's nonce is consumed (a
  conditional write) once the decision is allowed and claimed, before any draft is decided;
- split: scenarios leave for a cluster of their own; the cluster stays undecided, so the link
  stays usable for deciding the rest (it still expires, and only its lead can use it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.domain.approval_tokens import ApprovalClaims, ApprovalSigner
from chalicelib.domain.clusters import Cluster
from chalicelib.domain.ports import NonceRepository
from chalicelib.domain.roles import Actor, Role
from chalicelib.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_problem
from chalicelib.services.clusters import ClusterService

CHOICES = {
    "approve-one": {"decision": "approve", "mode": "one"},
    "approve-per-scenario": {"decision": "approve", "mode": "per-scenario"},
    "reject": {"decision": "reject"},
    "split": {"decision": "split"},
}


def choice_of(mode: str) -> str:
    """The approval a project's setting (`clusterApproval`) asks for."""
    return "approve-per-scenario" if mode == "per-scenario" else "approve-one"


class ClusterLinks:
    def __init__(
        self,
        clusters: ClusterService,
        signer: ApprovalSigner,
        nonces: NonceRepository,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clusters = clusters
        self._signer = signer
        self._nonces = nonces
        self._clock = clock

    @staticmethod
    def actor(claims: ApprovalClaims) -> Actor:
        return Actor(claims.lead, Role.LEAD, "approval link")

    def check(self, token: str) -> tuple[ApprovalClaims, Cluster]:
        """A link's claims and its open cluster, if the link may still decide it; raises why
        not (403 forged, another kind or not the lead of every draft; 409 used or decided; 410
        expired)."""
        claims = self._signer.verify(token, self._clock())
        if claims.kind != "cluster" or not claims.project:
            raise Forbidden("this approval link is not valid")
        if self._nonces.used(claims.nonce):
            raise Conflict("this approval link was used already")
        try:
            cluster = self._clusters.check(claims.project, claims.ticket_id, self.actor(claims))
        except NotFound as exc:
            raise Forbidden("this approval link is not valid") from exc
        return claims, cluster

    def page(self, cluster: Cluster) -> dict[str, Any]:
        """What the page shows: the cluster, why each member is in it, the project's approval."""
        return {
            **cluster.view(),
            "approval": choice_of(self._clusters.mode(cluster.project)),
        }

    def decide(
        self, token: str, choice: str | None, reason: str | None, scenario_ids: list[str]
    ) -> dict[str, Any]:
        claims, cluster = self.check(token)
        if choice not in CHOICES:
            raise ValidationFailed(
                "unknown decision",
                [field_problem("decision", f"must be one of {', '.join(CHOICES)}")],
            )
        body: dict[str, Any] = {
            **CHOICES[choice],
            "reason": (reason or "").strip() or None,
            "scenario_ids": scenario_ids,
        }
        actor = self.actor(claims)
        project = str(claims.project)
        if choice == "split":  # the cluster stays open: the link decides the rest later
            return self._clusters.decide(project, cluster.id, body, actor)

        def consume() -> None:
            if not self._nonces.consume(
                claims.nonce, f"cluster:{cluster.id}", now_iso(), claims.expires_at + 86400
            ):
                raise Conflict("this approval link was used already")

        return self._clusters.decide(project, cluster.id, body, actor, before=consume)
