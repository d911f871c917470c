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
    from moto.dynamodb.models.table import Table

    real_copy = models.copy
    original = DynamoDBBackend.transact_write_items

    class _CopyButNotTables:
        @staticmethod
        def deepcopy(obj: Any, memo: Any = None) -> Any:
            return obj if isinstance(obj, Table) else real_copy.deepcopy(obj, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo = _touched(self, transact_items, real_copy)
        try:
            original(self, transact_items)
        except Exception:
            _put_back(undo)
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


def _touched(backend: Any, transact_items: list[dict[str, Any]], copy: Any) -> list[Any]:
    """(table, hash, range, a deep copy of the item or None) of each item a transaction writes."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    undo = []
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
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
        undo.append((table, hash_value, range_value, copy.deepcopy(old)))
    return undo


def _put_back(undo: list[Any]) -> None:
    """The items a cancelled transaction touched, as they were."""
    for table, hash_value, range_value, old in reversed(undo):
        if old is None:
            table.delete_item(hash_value, range_value)
        elif range_value is not None:
            table.items[hash_value][range_value] = old
        else:
            table.items[hash_value] = old


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


_PLAIN_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}


def _plain(value: Any) -> bool:
    """An AttributeValue already in DynamoDB's wire JSON, with nothing the serializer would
    change: strings, numbers (as strings), booleans, nulls, and lists, maps and string or number
    sets of them. Binary (B, BS) is left to moto's serializer (it base64-encodes)."""
    if type(value) is not dict or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    scalar = _PLAIN_SCALARS.get(kind)
    if scalar is not None:
        return type(inner) is scalar
    if kind in ("SS", "NS"):
        return type(inner) is list and all(type(v) is str for v in inner)
    if kind == "L":
        return type(inner) is list and all(_plain(v) for v in inner)
    if kind == "M":
        return type(inner) is dict and all(type(k) is str and _plain(v) for k, v in inner.items())
    return False


@contextlib.contextmanager
def plain_attribute_values() -> Iterator[None]:
    """moto 5.2 serializes every response through its generic, shape-walking serializer
    (moto/core/serialize.py): each attribute of each item returned costs a walk of botocore's
    AttributeValue shape with attribute lookups, about 0.8 ms per attribute, so an UpdateItem
    returning a 100-attribute item (ReturnValues=ALL_NEW: a scenario with its test cases' latest
    results) took 75 ms, a Query of such items seconds. Items are held in the wire JSON already
    (DynamoType.to_json), so inside this block an AttributeValue of plain JSON (`_plain`) is
    written as it is; anything else (binary) goes through moto's walk: the same bytes out. The
    request parser walks each incoming AttributeValue the same way (a BatchWriteItem of 25 items
    paid it per attribute) and would rebuild the same dict: a plain one is taken as it is."""
    from moto.core.parse import BaseJSONParser
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize
    original_parse = BaseJSONParser._parse_shape

    def _serialize(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name == "AttributeValue" and _plain(value):
            serialized[self.get_serialized_name(shape, key)] = value
            return
        original(self, serialized, value, shape, key)

    def _parse_shape(self: Any, shape: Any, node: Any) -> Any:
        if shape.name == "AttributeValue" and _plain(node):
            return node  # the parser would rebuild the same dict
        return original_parse(self, shape, node)

    with _class_attributes(
        (BaseJSONSerializer, "_serialize", _serialize),
        (BaseJSONParser, "_parse_shape", _parse_shape),
    ):
        yield


_WRITES = ("put_item", "update_item", "transact_write_items", "batch_write_item")


@contextlib.contextmanager
def item_size_once() -> Iterator[None]:
    """moto 5.2 enforces DynamoDB's 400 KB item limit in `LimitedSizeDict.__setitem__` by summing
    the size of every attribute of the item, on every attribute set: putting an item of n
    attributes, or an UpdateItem of n SET clauses, costs n walks of the whole item. A scenario
    holding 1,000 test cases' latest results took 2.7 s an UpdateItem of 40 of them (55 ms a
    clause). Inside this block an item's size is summed once per write request and then kept
    up to date as top-level attributes are set or removed: the same limit (405,000 bytes, as
    moto counts them) and the same `ItemSizeTooLarge`. What it can miss: a nested attribute
    changed in place (`SET m.x = :v`) is counted from the next write request on, not within the
    request that changes it."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict, bytesize

    request = [0]  # bumped by every write request: sizes are trusted within one request only

    def _size_of(key: str, value: Any) -> int:
        return bytesize(key) + (value.size() if type(value) is DynamoType else bytesize(str(value)))

    def _current(d: Any) -> int:
        if d.__dict__.get("_request") == request[0]:
            return int(d.__dict__["_size"])
        return sum(_size_of(k, v) for k, v in dict.items(d))

    def _setitem(self: Any, key: str, value: Any) -> None:
        current = _current(self)
        if current + _size_of(key, value) > 405000:  # moto's own bound and test
            raise ItemSizeTooLarge
        old = dict.get(self, key) if key in self else None
        dict.__setitem__(self, key, value)
        after = current + _size_of(key, value) - (_size_of(key, old) if old is not None else 0)
        self.__dict__.update(_request=request[0], _size=after)

    def _forgetting(name: str) -> Any:
        original = getattr(dict, name)

        def method(self: Any, *args: Any) -> Any:
            self.__dict__.pop("_request", None)
            return original(self, *args)

        return method

    def _counted(name: str) -> Any:
        original = getattr(DynamoDBBackend, name)

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            request[0] += 1
            return original(self, *args, **kwargs)

        return method

    with _class_attributes(
        (LimitedSizeDict, "__setitem__", _setitem),
        (LimitedSizeDict, "__delitem__", _forgetting("__delitem__")),
        (LimitedSizeDict, "pop", _forgetting("pop")),
        *((DynamoDBBackend, name, _counted(name)) for name in _WRITES),
    ):
        yield


@contextlib.contextmanager
def _class_attributes(*patches: tuple[type, str, Any]) -> Iterator[None]:
    """Set class attributes for the block; each is put back as it was (inherited or own)."""
    saved = [(cls, name, cls.__dict__.get(name)) for cls, name, _ in patches]
    for cls, name, value in patches:
        setattr(cls, name, value)
    try:
        yield
    finally:
        for cls, name, own in saved:
            if own is None:
                delattr(cls, name)
            else:
                setattr(cls, name, own)


_installed = contextlib.ExitStack()
_installed_blocks: list[contextlib.ExitStack] = []


def install() -> None:
    """Lean transactions, partition queries, plain attribute values and item sizes summed once
    per request, for the rest of the process (the local stack's moto server); a second call
    changes nothing. The blocks are held open by a module-level ExitStack: a generator's context
    manager entered and dropped is closed when it is collected, which undid the patches at once
    (the local stack ran unpatched until this was found)."""
    if _installed_blocks:
        return
    _installed_blocks.append(_installed)
    _installed.enter_context(lean_transactions())
    _installed.enter_context(partition_queries())
    _installed.enter_context(plain_attribute_values())
    _installed.enter_context(item_size_once())


def installed() -> bool:
    return bool(_installed_blocks)


def uninstall() -> None:
    """Undo `install` (for tests)."""
    if _installed_blocks:
        _installed_blocks.pop().close()
