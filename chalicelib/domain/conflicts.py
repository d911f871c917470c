"""Races the storage reports in the domain's words. Services catch these, never a storage
library's errors."""

from __future__ import annotations


class DraftAlreadyOpen(Exception):
    """The scenario got a live ticket between our read and our write."""


class TicketNotLive(Exception):
    """The ticket we meant to merge into ended meanwhile."""


class AlsoFailed(Exception):
    """One of the extra conditions of a transition failed; `index` says which."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class TransactionConflict(Exception):
    """Another transaction was writing the same item: try again after a pause."""


class DuplicateExecutions(Exception):
    """Some executions were recorded before (a retried report)."""

    def __init__(self, execution_ids: list[str]) -> None:
        super().__init__(execution_ids)
        self.execution_ids = execution_ids
