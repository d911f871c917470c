"""Where moto 5.2 costs what DynamoDB does not, the local stack and the benchmarks work around it
(same outcomes, measured: see docs/decisions.md)."""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def lean_transactions() -> Iterator[None]:
    """moto 5.2's TransactWriteItems backs up the *whole table* with copy.deepcopy once per item of
    the transaction (moto/dynamodb/models/__init__.py, transact_write_items), so each transaction
    costs O(table size x items): with 10,000 executions in the table one transaction takes
    seconds, which DynamoDB's do not. Inside this block the backup holds only the items the
    transaction touches (deep copies), and those are put back if moto cancels the transaction:
    the same outcome, without the table-sized copies."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    real_copy = models.copy
    original = DynamoDBBackend.transact_write_items

    class _CopyButNotTables:
        @staticmethod
        def deepcopy(obj: Any, memo: Any = None) -> Any:
            return obj if isinstance(obj, Table) else real_copy.deepcopy(obj, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op["Item"] if op_type == "Put" else op.get("Key", {})
            if table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in key:
                    continue
                range_value = DynamoType(key[table.range_key_attr])
            old = table.get_item(hash_value, range_value)
            undo.append((table, hash_value, range_value, real_copy.deepcopy(old)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, old in reversed(undo):
                if old is None:
                    table.delete_item(hash_value, range_value)
                elif range_value is not None:
                    table.items[hash_value][range_value] = old
                else:
                    table.items[hash_value] = old
            raise

    # for the whole block, not per call: swapping it per call raced between concurrent
    # transactions (one restoring the real module while another was inside), and that one
    # then copied the whole table, holding the interpreter for seconds
    models.copy = _CopyButNotTables  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        models.copy = real_copy


_query_scope = threading.local()


@contextlib.contextmanager
def partition_queries() -> Iterator[None]:
    """moto 5.2's Query gathers its candidates from `Table.all_items()`, which lists and *sorts
    the whole table* on every call (moto/dynamodb/models/table.py, Table.query), so a Query of a
    20-item partition costs O(n log n) in the table's size, which DynamoDB's does not. Inside this
    block a Query on the table's own key reads just its partition (moto keeps items by hash key:
    `Table.items`), and of it only the items its sort key condition matches (as DynamoDB reads a
    range of its sorted keys; moto would sort and size the whole partition, then compare each
    item: a 20-link Query in a 105,000-item partition cost seconds); a Query on an index skips
    the table-wide sort (it filters every item and sorts the matches itself). moto's own
    filtering, sorting, paging and limits still run on the candidates: the same outcome."""
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)

    def all_items(self: Any) -> list[Any]:
        scope = getattr(_query_scope, "scope", None)
        if scope is None or scope[0] is not self:
            return original_all_items(self)
        _, index_name, hash_key, comparison, range_objs = scope
        if index_name or hash_key is None:
            parts = list(self.items.values())
        else:
            part = self.items.get(hash_key)
            parts = [] if part is None else [part]
        if not self.range_key_attr:
            return parts
        if comparison and not index_name and hash_key is not None:
            return [
                item
                for part in parts
                for item in part.values()
                if item.range_key.compare(comparison, range_objs)
            ]
        return [item for part in parts for item in part.values()]

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs).arguments
        previous = getattr(_query_scope, "scope", None)
        _query_scope.scope = (
            self,
            bound.get("index_name"),
            bound.get("hash_key"),
            bound.get("range_comparison"),
            bound.get("range_objs"),
        )
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _query_scope.scope = previous

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = original_query  # type: ignore[method-assign]
        Table.all_items = original_all_items  # type: ignore[method-assign]


def install() -> None:
    """Lean transactions and partition queries for the rest of the process (the local stack's
    moto server)."""
    lean_transactions().__enter__()
    partition_queries().__enter__()
