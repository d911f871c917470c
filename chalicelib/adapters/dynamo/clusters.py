"""Clusters (root causes across scenarios) and the leads' grouping labels: one partition per
project, `CLUSTERS#{p}`, read with one Query when a draft opens. A decided cluster expires
(TTL) after DECIDED_KEPT_DAYS; its drafts keep their cluster id."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import Table, strip_keys
from chalicelib.domain.clusters import Cluster, Label, Member
from chalicelib.domain.signatures import Signature
from chalicelib.domain.statuses import ClusterStatus
from chalicelib.errors import Conflict, NotFound

DECIDED_KEPT_DAYS = 90
SAMPLES = 5


class ClusterRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def get(self, project: str, cluster_id: str) -> Cluster:
        item = self._t.get(keys.cluster(project, cluster_id), consistent=True)
        if item is None:
            raise NotFound(f"cluster {cluster_id} does not exist")
        return _cluster(item)

    def of_project(self, project: str) -> tuple[list[Cluster], list[Label]]:
        """Every cluster (open and recently decided) and every label of the project."""
        items = self._t.query_all(keys.clusters_partition(project))
        clusters = [_cluster(i) for i in items if i["sk"].startswith(keys.CLUSTER_PREFIX)]
        labels = [
            Label.from_dict(strip_keys(i))
            for i in items
            if i["sk"].startswith(keys.CLUSTER_LABEL_PREFIX)
        ]
        return clusters, labels

    def found(self, cluster: Cluster) -> bool:
        """Store a new cluster; False if one with its id exists already (a racing draft)."""
        item = {**keys.cluster(cluster.project, cluster.id), **_item(cluster)}
        return self._t.put_if(item, "attribute_not_exists(pk)")

    def join(
        self,
        project: str,
        cluster_id: str,
        member: Member,
        signature: Signature,
        *,
        new_key: bool,
        sample: bool,
    ) -> bool:
        """Add a member in one UpdateItem (a repeated join rewrites the same member), with its
        signature's key and a sample when the cluster did not have them (a racing duplicate is
        dropped on read); False if the cluster was decided meanwhile."""
        names = {"#m": member.ticket_id, "#status": "status"}
        values: dict[str, Any] = {
            ":m": _decimals(member.to_dict()),
            ":at": member.joined_at,
            ":open": ClusterStatus.OPEN,
        }
        update = "SET members.#m = :m, lastSeenAt = :at"
        if new_key:
            update += ", signatureKeys = list_append(if_not_exists(signatureKeys, :empty), :k)"
            values.update({":k": [signature.key], ":empty": []})
        if sample:
            update += ", samples = list_append(samples, :s)"
            values[":s"] = [signature.to_dict()]
        return (
            self._t.update_if(
                keys.cluster(project, cluster_id),
                update,
                ConditionExpression="#status = :open",
                ExpressionAttributeNames=names,
                values=values,
            )
            is not None
        )

    def remove_members(self, project: str, cluster_id: str, ticket_ids: list[str]) -> None:
        if not ticket_ids:
            return
        names = {f"#m{i}": t for i, t in enumerate(ticket_ids)}
        self._t.update(
            keys.cluster(project, cluster_id),
            "REMOVE " + ", ".join(f"members.{n}" for n in names),
            ExpressionAttributeNames=names,
        )

    def claim_primary(self, project: str, cluster_id: str, ticket_id: str) -> str:
        """The draft an approval-as-one keeps (the first asked wins; a retry gets the same)."""
        item = self._t.update(
            keys.cluster(project, cluster_id),
            "SET primaryTicketId = if_not_exists(primaryTicketId, :t)",
            values={":t": ticket_id},
            ReturnValues="ALL_NEW",
        )
        return str(item["primaryTicketId"])

    def claim_decision(self, project: str, cluster_id: str, decision: str) -> str:
        """The decision under way on an open cluster (the first asked wins; the same decision
        asked again, a retry, gets it back): an approval and a rejection never mix."""
        item = self._t.update_if(
            keys.cluster(project, cluster_id),
            "SET deciding = if_not_exists(deciding, :d)",
            ConditionExpression="#status = :open",
            ExpressionAttributeNames={"#status": "status"},
            values={":d": decision, ":open": ClusterStatus.OPEN},
            ReturnValues="ALL_NEW",
        )
        if item is None:
            raise Conflict(f"cluster {cluster_id} was decided already")
        return str(item["deciding"])

    def decided(self, project: str, cluster_id: str, decision: dict[str, Any]) -> None:
        self._t.update(
            keys.cluster(project, cluster_id),
            "SET #status = :d, decision = :decision, expiresAt = :ttl",
            ExpressionAttributeNames={"#status": "status"},
            values={
                ":d": ClusterStatus.DECIDED,
                ":decision": _decimals(decision),
                ":ttl": int(time.time()) + DECIDED_KEPT_DAYS * 86400,
            },
        )

    def put_label(self, project: str, label: Label) -> None:
        data = {k: v for k, v in label.to_dict().items() if v is not None}
        self._t.put({**keys.cluster_label(project, label.id), **data})


def _decimals(value: Any) -> Any:
    """Similarity scores are floats; DynamoDB takes numbers as Decimal."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def _item(cluster: Cluster) -> dict[str, Any]:
    return {k: _decimals(v) for k, v in cluster.to_dict().items() if v is not None}


def _cluster(item: dict[str, Any]) -> Cluster:
    data = strip_keys(item)
    data.pop("expiresAt", None)
    cluster = Cluster.from_dict(data)
    cluster.signature_keys = list(dict.fromkeys(cluster.signature_keys))  # racing joins
    cluster.samples = cluster.samples[:SAMPLES]
    return cluster
