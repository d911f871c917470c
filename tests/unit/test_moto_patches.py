"""The local stack's moto patches change moto's cost, never its answers: every Query below is
asked with and without `partition_queries` and must return the same pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.moto_patches import partition_queries

TABLE = "patched"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g1pk", "g1sk")
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "g1pk", "KeyType": "HASH"},
                        {"AttributeName": "g1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        for p in range(5):
            for n in range(30):
                item = {"pk": {"S": f"P#{p}"}, "sk": {"S": f"S#{n:03d}"}, "n": {"N": str(n)}}
                if n % 3:  # a third of the items are not in the index (no g1pk)
                    item["g1pk"] = {"S": f"G#{n % 4}"}
                    item["g1sk"] = {"S": f"{29 - n:03d}#{p}"}
                client.put_item(TableName=TABLE, Item=item)
        yield client


def _pages(client: Any, **query: Any) -> list[list[dict[str, Any]]]:
    pages, start = [], None
    while True:
        kwargs = dict(query, TableName=TABLE, Limit=7)
        if start:
            kwargs["ExclusiveStartKey"] = start
        answer = client.query(**kwargs)
        pages.append(answer["Items"])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return pages


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#2"}}},
    {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {":p": {"S": "P#1"}, ":s": {"S": "S#01"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {":p": {"S": "P#3"}, ":s": {"S": "S#0"}},
    },
    {
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {
            ":p": {"S": "P#0"},
            ":a": {"S": "S#004"},
            ":b": {"S": "S#021"},
        },
    },
    {
        "KeyConditionExpression": "pk = :p AND sk > :a",
        "FilterExpression": "n < :n",
        "ExpressionAttributeValues": {":p": {"S": "P#2"}, ":a": {"S": "S#009"}, ":n": {"N": "25"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "pk = :p",
        "FilterExpression": "n > :n",
        "ExpressionAttributeValues": {":p": {"S": "P#4"}, ":n": {"N": "20"}},
    },
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
    {
        "IndexName": "gsi1",
        "KeyConditionExpression": "g1pk = :g",
        "ExpressionAttributeValues": {":g": {"S": "G#1"}},
    },
    {
        "IndexName": "gsi1",
        "KeyConditionExpression": "g1pk = :g AND g1sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":g": {"S": "G#2"}, ":a": {"S": "005"}, ":b": {"S": "020"}},
        "ScanIndexForward": False,
    },
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q["KeyConditionExpression"])
def test_a_query_answers_the_same_with_partition_queries(dynamodb: Any, query: Any) -> None:
    plain = _pages(dynamodb, **query)
    with partition_queries():
        patched = _pages(dynamodb, **query)
    assert patched == plain
    assert sum(map(len, plain)) > 0 or query["ExpressionAttributeValues"][":p"]["S"] == "none"


def test_a_scan_keeps_the_whole_table_in_order(dynamodb: Any) -> None:
    plain = dynamodb.scan(TableName=TABLE)["Items"]
    with partition_queries():
        patched = dynamodb.scan(TableName=TABLE)["Items"]
    assert patched == plain and len(plain) == 150


def test_lean_transactions_never_copy_the_table(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from moto.dynamodb.models.table import Table

    from devstack.moto_patches import lean_transactions

    copied: list[str] = []
    monkeypatch.setattr(
        Table, "__deepcopy__", lambda self, memo: copied.append(self.name) or self, raising=False
    )

    def transact(n: int) -> None:
        for i in range(20):
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": TABLE,
                            "Item": {"pk": {"S": f"T#{n}"}, "sk": {"S": f"{i}"}},
                        }
                    }
                ]
            )

    with lean_transactions():
        threads = [threading.Thread(target=transact, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # a cancelled transaction leaves the table as it was
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "T#x"}, "sk": {"S": "1"}}}},
                    {
                        "Put": {
                            "TableName": TABLE,
                            "Item": {"pk": {"S": "P#0"}, "sk": {"S": "S#000"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
    assert copied == []
    assert (
        dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "T#x"}, "sk": {"S": "1"}}).get("Item")
        is None
    )
    counted = dynamodb.scan(
        TableName=TABLE,
        FilterExpression="begins_with(pk, :t)",
        ExpressionAttributeValues={":t": {"S": "T#"}},
    )["Count"]
    assert counted == 120


def test_install_keeps_the_patches_for_the_rest_of_the_process() -> None:
    """The local stack calls `install` once and drops nothing it could hold: the patches must
    outlive the garbage collector (a dropped generator context manager undoes its block)."""
    import gc

    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    from devstack import moto_patches

    before = moto_patches.installed()  # a local stack started earlier in this process
    moto_patches.uninstall()
    real_query, real_copy = Table.query, models.copy
    moto_patches.install()
    try:
        moto_patches.install()  # a second call changes nothing
        gc.collect()
        assert Table.query is not real_query
        assert models.copy is not real_copy
    finally:
        moto_patches.uninstall()
        assert Table.query is real_query and models.copy is real_copy
        if before:
            moto_patches.install()


EVERY_TYPE = {
    "pk": {"S": "TYPES"},
    "sk": {"S": "1"},
    "s": {"S": ""},
    "n": {"N": "-12.5"},
    "b": {"B": b"\x00\x01binary"},
    "yes": {"BOOL": True},
    "none": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"x", b"y"]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"L": []}, {"M": {"b": {"B": b"\x02"}}}]},
    "m": {"M": {"deep": {"M": {"x": {"SS": ["q"]}, "e": {"M": {}}}}, "n": {"NULL": True}}},
}


def _answers(client: Any) -> list[Any]:
    """Every read shape that returns AttributeValues, and an update returning the item."""
    key = {"pk": {"S": "TYPES"}, "sk": {"S": "1"}}
    updated = client.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET #c = :one",  # the same every time: both runs read the same
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    return [
        updated["Attributes"],
        client.get_item(TableName=TABLE, Key=key)["Item"],
        client.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "P#3"}},
        )["Items"],
        client.scan(TableName=TABLE)["Items"],
        client.batch_get_item(RequestItems={TABLE: {"Keys": [key]}})["Responses"],
        client.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": key}}])[
            "Responses"
        ],
    ]


def test_plain_attribute_values_answer_the_same(dynamodb: Any) -> None:
    from devstack.moto_patches import plain_attribute_values

    dynamodb.put_item(TableName=TABLE, Item=EVERY_TYPE)
    plain = _answers(dynamodb)
    with plain_attribute_values():
        patched = _answers(dynamodb)
    assert patched == plain
    assert plain[1]["b"] == {"B": b"\x00\x01binary"} and plain[1]["l"]["L"][3]
    # a write parsed with the patch stores what one parsed without it stores
    with plain_attribute_values():
        dynamodb.put_item(TableName=TABLE, Item={**EVERY_TYPE, "sk": {"S": "2"}})
    again = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "TYPES"}, "sk": {"S": "2"}})
    first = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "TYPES"}, "sk": {"S": "1"}})
    first["Item"].pop("count")
    assert {**again["Item"], "sk": {"S": "1"}} == first["Item"] == EVERY_TYPE


def _writes_near_the_limit(client: Any) -> list[Any]:
    """Items built and changed by puts and updates of many clauses, up to and past 400 KB:
    each answer (the item, or the error's message)."""
    key = {"pk": {"S": "BIG"}, "sk": {"S": "1"}}
    blob = "x" * 9_000
    out: list[Any] = []

    def attempt(**update: Any) -> None:
        try:
            client.update_item(TableName=TABLE, Key=key, **update)
            out.append(client.get_item(TableName=TABLE, Key=key)["Item"])
        except client.exceptions.ClientError as error:
            out.append(error.response["Error"]["Message"])

    client.put_item(TableName=TABLE, Item={**key, **{f"a{i}": {"S": blob} for i in range(20)}})
    for start in (20, 40):  # 20 clauses a call: 40 attributes of 9 KB, then past the limit
        values = {f":v{i}": {"S": blob} for i in range(20)}
        sets = ", ".join(f"a{start + i} = :v{i}" for i in range(20))
        attempt(UpdateExpression=f"SET {sets}", ExpressionAttributeValues=values)
    # removing makes room again, within the same request: the size kept must see it
    removed = ", ".join(f"a{i}" for i in range(10))
    sets = ", ".join(f"b{i} = :v{i}" for i in range(8))
    values = {f":v{i}": {"S": blob} for i in range(8)}
    attempt(UpdateExpression=f"REMOVE {removed} SET {sets}", ExpressionAttributeValues=values)
    attempt(UpdateExpression="SET a39 = :v", ExpressionAttributeValues={":v": {"S": blob * 3}})
    return out


def test_item_size_once_answers_the_same(dynamodb: Any) -> None:
    from devstack.moto_patches import item_size_once

    plain = _writes_near_the_limit(dynamodb)
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "BIG"}, "sk": {"S": "1"}})
    with item_size_once():
        patched = _writes_near_the_limit(dynamodb)
    assert patched == plain
    assert [type(a) for a in plain] == [dict, str, dict, str]
    assert "exceeded the maximum allowed size" in plain[1]
    assert {f"b{i}" for i in range(8)} <= set(plain[2]) and "a0" not in plain[2]
