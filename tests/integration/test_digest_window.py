"""The lead's digest window and flush lease on DynamoDB (moto): one item holds both, so opening
a window must not drop a running flush's lease, and a flush's claim ends the window."""

from __future__ import annotations

from typing import Any

from chalicelib import bootstrap

LEAD = "lead@example.com"


def test_a_claim_ends_the_window_and_a_new_window_keeps_the_lease(aws: dict[str, Any]) -> None:
    outbox = bootstrap.container().repos.outbox
    assert outbox.digest_window(LEAD, 1000, 60) == (1060, True)  # opened: schedule its flush
    outbox.flush_scheduled(LEAD, 1060)
    assert outbox.digest_window(LEAD, 1030, 60) == (1060, False)  # joined: scheduled already
    assert outbox.claim_flush(LEAD, 1060, 120)  # the window's flush: the window ends
    assert outbox.digest_window(LEAD, 1060, 60) == (1120, True)  # the next window opens
    assert not outbox.claim_flush(LEAD, 1061, 120)  # the running flush still holds the lease
    assert outbox.release_flush(LEAD)  # ...and, letting go, hears a flush was turned away
    assert outbox.claim_flush(LEAD, 1062, 120)
    assert not outbox.release_flush(LEAD)  # none was this time
