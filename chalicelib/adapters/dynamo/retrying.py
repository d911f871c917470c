"""A transaction that also moves a shared counter item (the project's catalogue generation, its
open runs) can meet another doing the same at the same moment: DynamoDB cancels one of them with
TransactionConflict, and it is safe to run again (every item is conditional or commutes)."""

from __future__ import annotations

import random
import time

from chalicelib.adapters.dynamo.table import Table, TransactItem
from chalicelib.domain.conflicts import TransactionConflict

ATTEMPTS = 6


def transact_retrying(table: Table, items: list[TransactItem]) -> None:
    """`table.transact(items)`, again after a short random pause when another transaction held
    one of the items; TransactionConflict after ATTEMPTS tries."""
    for attempt in range(ATTEMPTS):
        try:
            table.transact(items)
            return
        except TransactionConflict:
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
