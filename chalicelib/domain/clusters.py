"""Root causes across scenarios: a cluster groups the live drafts of one project, within a time
window, whose failures share a root cause. Drafts keep their own identity (one per scenario);
the cluster is its own aggregate that a lead decides as one.

How a new draft finds its cluster (`choose`), first match wins:
1. a lead's label: a scenario split off goes only to its split's clusters; a signature merged
   by a lead goes to the cluster holding the signature it was merged with;
2. the same signature (`key`) as a cluster's member;
3. the most similar cluster in the same exception bucket, if its `similarity` reaches
   `THRESHOLD` (docs/decisions.md explains the measure).
Only open clusters are joined; a decided one within its window still answers for its root cause
(`services.clusters`: an occurrence of the issue it was approved as, or a new cluster marked
"new since decision").
Every member says why it is there (`why`): shared signature, similarity score, shared frames."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.record import Record
from chalicelib.domain.signatures import Signature
from chalicelib.domain.statuses import ClusterStatus

THRESHOLD = 0.8
MESSAGE_WEIGHT = 0.6
FRAME_WEIGHT = 0.4
SAMPLES = 5  # distinct signatures a cluster keeps to compare new ones against
DEFAULT_WINDOW_HOURS = 24


_TOKEN = re.compile(r"<[a-z ]+>|[A-Za-z]+|[^\sA-Za-z]")


def _tokens(message: str) -> set[str]:
    return set(_TOKEN.findall(message.lower()))


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def similarity(a: Signature, b: Signature) -> float:
    """0..1 within one exception bucket (0 across buckets): MESSAGE_WEIGHT x the Jaccard index of
    the normalised messages' tokens + FRAME_WEIGHT x the frames' agreement (1 when the innermost
    in-app frames are the same function or neither has frames, else the Jaccard index of the
    top frames)."""
    if a.exception != b.exception:
        return 0.0
    message = _jaccard(_tokens(a.message), _tokens(b.message))
    same_top = a.frames[:1] == b.frames[:1]
    frames = 1.0 if same_top else _jaccard(set(a.frames), set(b.frames))
    return round(MESSAGE_WEIGHT * message + FRAME_WEIGHT * frames, 4)


@dataclass
class Member(Record):
    """A draft in a cluster: its scenario, its signature's key and why it is there."""

    ticket_id: str
    scenario_id: str
    signature_key: str
    why: dict[str, Any]
    joined_at: str
    test_case_id: str | None = None
    other: dict[str, Any] = field(default_factory=dict)


@dataclass
class Label(Record):
    """A lead's word on grouping, kept and respected later: `apart` (the scenario's failures
    with this signature stay in the split's clusters, `group`) or `together` (this signature
    joins the cluster holding `with_key`)."""

    kind: str
    signature_key: str
    at: str
    by: str
    scenario_id: str | None = None
    group: str | None = None
    with_key: str | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.kind}#{self.signature_key}#{self.scenario_id or '*'}"


@dataclass
class Cluster(Record):
    id: str
    project: str
    status: str
    created_at: str
    last_seen_at: str
    signature: dict[str, Any]  # the founding draft's
    signature_keys: list[str] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # ticket id -> Member
    group: str | None = None  # a split's clusters: only labelled drafts join them
    decision: dict[str, Any] | None = None
    primary_ticket_id: str | None = None
    # founded by a failure of a root cause decided before (rejected, approved one per
    # scenario, or approved as one whose issue ended): that decision, for the lead to see
    since_decision: dict[str, Any] | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @property
    def founder(self) -> Signature:
        return Signature.from_dict(self.signature)

    @property
    def summary(self) -> str:
        return self.founder.summary

    def member_list(self) -> list[Member]:
        return sorted(
            (Member.from_dict(m) for m in self.members.values()),
            key=lambda m: (m.joined_at, m.ticket_id),
        )

    def scenarios(self) -> list[str]:
        return sorted({m["scenarioId"] for m in self.members.values()})

    def view(self) -> dict[str, Any]:
        members = [m.to_dict() for m in self.member_list()]
        for m in members:
            m.pop("other", None)
        return {
            "clusterId": self.id,
            "project": self.project,
            "status": self.status,
            "summary": f"1 root cause, {len(self.scenarios())} scenarios: {self.summary}",
            "signature": self.signature,
            "scenarios": len(self.scenarios()),
            "drafts": len(self.members),
            "members": members,
            "group": self.group,
            "decision": self.decision,
            "sinceDecision": self.since_decision,
            "state": "new since decision"
            if self.since_decision and self.status == ClusterStatus.OPEN
            else self.status,
            "createdAt": self.created_at,
            "lastSeenAt": self.last_seen_at,
        }


@dataclass(frozen=True)
class Placement:
    """Where a draft goes: an existing cluster (`cluster_id`) or a new one, and why."""

    cluster_id: str | None
    why: dict[str, Any]
    group: str | None = None  # a new cluster's group (a split's)


def label_for(labels: Iterable[Label], scenario_id: str, key: str) -> Label | None:
    apart = together = None
    for label in labels:
        if label.signature_key != key:
            continue
        if label.kind == "apart" and label.scenario_id == scenario_id:
            apart = label
        elif label.kind == "together":
            together = label
    return apart or together


def choose(
    signature: Signature,
    scenario_id: str,
    clusters: Iterable[Cluster],
    labels: Iterable[Label] = (),
    status: str = ClusterStatus.OPEN,
) -> Placement:
    """The cluster a new draft with this signature joins (see the module's docstring); with
    `status` decided, the decided cluster it would have joined (`services.clusters`)."""
    open_ = [c for c in clusters if c.status == status]
    label = label_for(labels, scenario_id, signature.key)
    if label is not None and label.kind == "apart":
        for c in open_:
            if c.group == label.group:
                return Placement(c.id, {"kind": "label", "label": "split", "by": label.by})
        return Placement(None, {"kind": "label", "label": "split", "by": label.by}, label.group)
    if label is not None and label.with_key:
        for c in open_:
            if c.group is None and label.with_key in c.signature_keys:
                return Placement(c.id, {"kind": "label", "label": "merged", "by": label.by})
    candidates = [c for c in open_ if c.group is None]
    for c in candidates:
        if signature.key in c.signature_keys:
            return Placement(
                c.id,
                {"kind": "signature", "score": 1.0, "sharedFrames": list(signature.frames)},
            )
    best: tuple[float, Cluster, Signature] | None = None
    for c in candidates:
        for sample in c.samples or [c.signature]:
            other = Signature.from_dict(sample)
            score = similarity(signature, other)
            if score >= THRESHOLD and (best is None or score > best[0]):
                best = (score, c, other)
    if best is not None:
        score, c, other = best
        shared = [f for f in signature.frames if f in other.frames]
        return Placement(c.id, {"kind": "similar", "score": score, "sharedFrames": shared})
    return Placement(None, {"kind": "founder", "score": 1.0, "sharedFrames": []})


def with_member(cluster: Cluster, member: Member, signature: Signature) -> Cluster:
    """The cluster after a draft joined it (in memory: the repository stores the same)."""
    cluster.members[member.ticket_id] = member.to_dict()
    if signature.key not in cluster.signature_keys:
        cluster.signature_keys.append(signature.key)
        if len(cluster.samples) < SAMPLES:
            cluster.samples.append(signature.to_dict())
    cluster.last_seen_at = max(cluster.last_seen_at, member.joined_at)
    return cluster


class Grouper:
    """Grouping in memory, with the same `choose` the service uses: what `bench.grouping`
    measures, and what a regrouping replays."""

    def __init__(self) -> None:
        self.clusters: list[Cluster] = []

    def add(self, item_id: str, scenario_id: str, signature: Signature) -> int:
        placement = choose(signature, scenario_id, self.clusters)
        member = Member(item_id, scenario_id, signature.key, placement.why, "0")
        if placement.cluster_id is None:
            cluster = Cluster(
                id=str(len(self.clusters)),
                project="bench",
                status=ClusterStatus.OPEN,
                created_at="0",
                last_seen_at="0",
                signature=signature.to_dict(),
            )
            self.clusters.append(cluster)
        else:
            cluster = self.clusters[int(placement.cluster_id)]
        with_member(cluster, member, signature)
        return int(cluster.id)
