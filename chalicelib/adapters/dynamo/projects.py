"""Projects and their settings, modules and leads, API keys, and the knowledge base."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import Table, set_clause, strip_keys
from chalicelib.errors import Conflict


class ProjectRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def get(self, project: str) -> dict[str, Any] | None:
        item = self._t.get(keys.project(project))
        return strip_keys(item) if item else None

    def create(self, project: dict[str, Any]) -> None:
        item = {
            **keys.project(project["key"]),
            "gsi1pk": keys.PROJECTS_INDEX,
            "gsi1sk": project["key"],
            **project,
        }
        if not self._t.put_if(item, "attribute_not_exists(pk)"):
            raise Conflict(f"project {project['key']} exists")

    def set_fields(self, project: str, fields: dict[str, Any]) -> None:
        clause, names, values = set_clause(fields)
        self._t.update(
            keys.project(project),
            "SET " + clause,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            values=values,
        )

    def all(self) -> list[dict[str, Any]]:
        return [strip_keys(i) for i in self._t.query_all(keys.PROJECTS_INDEX, index="gsi1")]

    def bump_keys_generation(self, project: str) -> int:
        """A key of the project was revoked: every container's cached keys of it are stale."""
        item = self._t.update(
            keys.project(project),
            "ADD keysGeneration :one",
            ConditionExpression="attribute_exists(pk)",
            values={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(item["keysGeneration"])

    # modules and their leads

    def put_module(self, project: str, module: dict[str, Any]) -> None:
        self._t.put({**keys.module(project, module["name"]), **module})

    def get_module(self, project: str, module: str) -> dict[str, Any] | None:
        item = self._t.get(keys.module(project, module))
        return strip_keys(item) if item else None

    def modules(self, project: str) -> list[dict[str, Any]]:
        items = self._t.query_all(keys.project_partition(project), sk_prefix=keys.MODULE_PREFIX)
        return [strip_keys(i) for i in items]

    # knowledge: how recurring tickets were caused and fixed

    def put_knowledge(self, project: str, entry: dict[str, Any]) -> None:
        self._t.put({**keys.knowledge(project, entry["scenarioId"], entry["ticketId"]), **entry})

    def knowledge(self, project: str, scenario_id: str) -> list[dict[str, Any]]:
        items = self._t.query_all(
            keys.project_partition(project), sk_prefix=keys.knowledge_prefix(scenario_id)
        )
        return [strip_keys(i) for i in items]


def _plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return strip_keys(item) if item else None


class ApiKeyRepository:
    def __init__(self, table: Table) -> None:
        self._t = table

    def put(self, key_hash: str, key: dict[str, Any]) -> None:
        item = {
            **keys.api_key(key_hash),
            "gsi1pk": keys.api_keys_index(key["project"]),
            "gsi1sk": key["keyId"],
            **key,
        }
        self._t.put(item, "attribute_not_exists(pk)")

    def get(self, key_hash: str) -> dict[str, Any] | None:
        item = self._t.get(keys.api_key(key_hash))
        return strip_keys(item) if item else None

    def get_with_project(
        self, key_hash: str, project: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The key and a project in one BatchGetItem: a request naming its project
        authenticates in one round trip when nothing is cached."""
        wanted = (keys.api_key(key_hash), keys.project(project))
        found = {(i["pk"], i["sk"]): i for i in self._t.batch_get(wanted)}
        key, project_item = (found.get((k["pk"], k["sk"])) for k in wanted)
        return _plain(key), _plain(project_item)

    def of_project(self, project: str) -> list[tuple[str, dict[str, Any]]]:
        """The project's keys, each with the hash it is stored under."""
        items = self._t.query_all(keys.api_keys_index(project), index="gsi1")
        return [(i["pk"].removeprefix("APIKEY#"), strip_keys(i)) for i in items]

    def delete(self, key_hash: str) -> None:
        self._t.delete(keys.api_key(key_hash))
