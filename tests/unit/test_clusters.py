"""Clusters (`domain/clusters.py`): exact signature first, then similarity within an exception
bucket, leads' labels respected; a root cause's drafts share one digest line; and the grouping's
precision floor on the labelled real failures (`bench.grouping`, deterministic)."""

from __future__ import annotations

from chalicelib.domain.clusters import (
    THRESHOLD,
    Cluster,
    Grouper,
    Label,
    choose,
    similarity,
)
from chalicelib.domain.signatures import Signature, signature_of
from chalicelib.domain.statuses import ClusterStatus
from chalicelib.domain.tickets import HistoryEntry, Ticket
from tests.unit.test_digests import LEAD, World


def sig(message: str, frames: tuple[str, ...] = ("shop.db:connect",), kind: str = "E") -> Signature:
    return signature_of(
        {"type": kind, "message": message, "trace": _trace(frames)}
        if frames
        else {"type": kind, "message": message}
    )


def _trace(frames: tuple[str, ...]) -> str:
    lines = ["Traceback (most recent call last):"]
    for frame in reversed(frames):
        module, function = frame.split(":")
        lines.append(f'  File "/app/{module.replace(".", "/")}.py", line 1, in {function}')
    return "\n".join(lines)


def cluster(cid: str, s: Signature, *, group: str | None = None, status: str = "open") -> Cluster:
    return Cluster(
        id=cid,
        project="P",
        status=status,
        created_at="2026-12-02T00:00:00Z",
        last_seen_at="2026-12-02T00:00:00Z",
        signature=s.to_dict(),
        signature_keys=[s.key],
        samples=[s.to_dict()],
        group=group,
    )


OUTAGE = sig("could not reach db at 10.0.0.1:5432 after 30 s", ("shop.db:connect", "t.a:test_a"))


def test_the_same_signature_joins_with_why() -> None:
    again = sig("could not reach db at 10.9.9.9:5433 after 12 s", ("shop.db:connect", "t.a:test_a"))
    placed = choose(again, "s2", [cluster("c1", OUTAGE)])
    assert placed.cluster_id == "c1"
    assert placed.why == {"kind": "signature", "score": 1.0, "sharedFrames": list(again.frames)}


def test_a_similar_signature_in_the_bucket_joins_with_its_score_and_shared_frames() -> None:
    other_test = sig(
        "could not reach db at 10.0.0.2:5432 after 9 s", ("shop.db:connect", "t.b:test_b")
    )
    assert other_test.key != OUTAGE.key
    placed = choose(other_test, "s2", [cluster("c1", OUTAGE)])
    assert placed.cluster_id == "c1" and placed.why["kind"] == "similar"
    assert placed.why["score"] >= THRESHOLD and placed.why["sharedFrames"] == ["shop.db:connect"]


def test_other_buckets_other_messages_and_decided_clusters_are_not_joined() -> None:
    open_ = [cluster("c1", OUTAGE), cluster("c0", OUTAGE, status=ClusterStatus.DECIDED)]
    other_type = sig("could not reach db at 10.0.0.1:5432 after 30 s", OUTAGE.frames, kind="F")
    assert similarity(other_type, OUTAGE) == 0.0
    assert choose(other_type, "s", open_).cluster_id is None
    unrelated = sig("disk full on /var/lib/x", ("shop.files:write",))
    assert similarity(unrelated, OUTAGE) < THRESHOLD
    placed = choose(unrelated, "s", open_)
    assert placed.cluster_id is None and placed.why["kind"] == "founder"
    assert choose(OUTAGE, "s", [open_[1]]).cluster_id is None


def test_a_split_is_respected_later() -> None:
    label = Label("apart", OUTAGE.key, "t", "lead@example.com", scenario_id="s1", group="g1")
    main, split = cluster("c1", OUTAGE), cluster("c2", OUTAGE, group="g1")
    assert choose(OUTAGE, "s1", [main, split], [label]).cluster_id == "c2"
    assert choose(OUTAGE, "s9", [main, split], [label]).cluster_id == "c1"  # not split off
    fresh = choose(OUTAGE, "s1", [main], [label])  # the split's cluster was decided: a new one
    assert fresh.cluster_id is None and fresh.group == "g1"


def test_a_merge_label_sends_its_signature_to_the_cluster_it_was_merged_with() -> None:
    other = sig("quota exceeded", ("shop.quota:check",), kind="Q")
    label = Label("together", other.key, "t", "lead@example.com", with_key=OUTAGE.key)
    placed = choose(other, "s", [cluster("c1", OUTAGE)], [label])
    assert placed.cluster_id == "c1" and placed.why["label"] == "merged"


def test_the_grouper_is_deterministic() -> None:
    messages = [f"could not reach db at 10.0.0.{n}:5432 after {n} s" for n in range(5)]
    first, second = Grouper(), Grouper()
    a = [first.add(str(n), f"s{n}", sig(m)) for n, m in enumerate(messages)]
    b = [second.add(str(n), f"s{n}", sig(m)) for n, m in enumerate(messages)]
    assert a == b == [0] * 5


def test_a_root_causes_drafts_share_one_digest_line() -> None:
    w = World(0)
    for i in range(5):
        w.s.tickets.seed(
            Ticket(
                id=f"tk_{i}",
                project="P",
                status="draft",
                scenario_id=f"checkout.s{i}",
                module="checkout",
                created_at=w.clock(),
                title=f"Scenario {i} fails",
                history=[HistoryEntry(at=w.clock(), status="draft")],
                signature=OUTAGE.to_dict() if i < 4 else None,
                cluster_id="cl-1" if i < 4 else "cl-2",
            )
        )
        w.service.awaiting(f"tk_{i}", f"token-{i}", 0, int(w.clock.time()) + 999)
    assert w.service.flush(LEAD) == 5
    [(message, _)] = w.notifier.sent
    text = str(message["blocks"])
    assert message["text"].startswith("5 new draft defects")
    assert "*1 root cause, 4 scenarios*: E: could not reach db at &lt;ip&gt;:&lt;port&gt;" in text
    assert "/v1/cluster-approvals/" in text and "/v1/projects/P/clusters/cl-1" not in text
    assert "Scenario 4 fails" in text and "Scenario 0 fails" not in text
    # grouped, and still each draft decidable on its own from the message
    decide = {
        b["block_id"]: b
        for b in message["blocks"]
        if str(b.get("block_id", "")).startswith("decide:")
    }
    assert set(decide) == {f"decide:tk_{i}" for i in range(5)}
    assert {e["action_id"] for e in decide["decide:tk_0"]["elements"]} == {
        "open_approve",
        "open_reject",
        "approve",
    }


def test_grouping_precision_on_the_labelled_real_failures() -> None:
    from bench.grouping import GROUPINGS, load, scores

    failures = load()
    assert len(failures) >= 300 and len({f.fault for f in failures}) >= 10
    figures = scores(failures)
    ours = figures["failbridge (signature + similarity)"]
    assert ours[0] >= 0.95  # precision
    assert all(ours[2] > f[2] for name, f in figures.items() if name != next(iter(GROUPINGS)))
