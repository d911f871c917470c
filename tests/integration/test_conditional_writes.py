"""`Table.update_if` / `Table.put_if`: the conditional writes every repository shares. None
(False) when the condition failed, and nothing written; any other error raised."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.adapters.dynamo.table import Table

KEY = {"pk": "UPLOAD#u1", "sk": "UPLOAD"}


@pytest.fixture
def table() -> Iterator[Table]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Table(client, "t")


def test_update_if_returns_the_attributes_when_the_condition_holds(table: Table) -> None:
    table.put({**KEY, "status": "processing"})
    item = table.update_if(
        KEY,
        "SET #s = :done",
        ConditionExpression="#s = :processing",
        ExpressionAttributeNames={"#s": "status"},
        values={":done": "completed", ":processing": "processing"},
        ReturnValues="ALL_NEW",
    )
    assert item is not None and item["status"] == "completed"
    # without ReturnValues: an empty dict, which is not None (callers test `is None`)
    assert (
        table.update_if(
            KEY, "SET n = :n", ConditionExpression="attribute_exists(pk)", values={":n": 1}
        )
        == {}
    )


def test_update_if_is_none_and_writes_nothing_when_the_condition_fails(table: Table) -> None:
    table.put({**KEY, "status": "completed"})
    assert (
        table.update_if(
            KEY,
            "SET #s = :done, n = :n",
            ConditionExpression="#s = :processing",
            ExpressionAttributeNames={"#s": "status"},
            values={":done": "failed", ":processing": "processing", ":n": 1},
        )
        is None
    )
    item = table.get(KEY, consistent=True)
    assert item is not None and item["status"] == "completed" and "n" not in item


def test_update_if_raises_what_is_not_a_failed_condition(table: Table) -> None:
    missing = Table(table.client, "no-such-table")
    with pytest.raises(ClientError) as raised:
        missing.update_if(
            KEY, "SET n = :n", ConditionExpression="attribute_exists(pk)", values={":n": 1}
        )
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(TypeError):
        table.update_if(KEY, "SET n = :n", values={":n": 1})  # no condition: not update_if


def test_put_if(table: Table) -> None:
    assert table.put_if({**KEY, "v": 1}, "attribute_not_exists(pk)") is True
    assert table.put_if({**KEY, "v": 2}, "attribute_not_exists(pk)") is False
    item = table.get(KEY, consistent=True)
    assert item is not None and item["v"] == 1
