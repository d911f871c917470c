"""`rekey`: move a project's items from the keys that made hot partitions to today's keys.

- scenarios: `PROJECT#{p}` / `SCENARIO#{s}` -> `SCENARIO#{p}#{s}` / `SCENARIO`;
- tickets' gsi1: `PROJECT#{p}#TICKETS` / `status#createdAt#id` ->
  `PROJECT#{p}#TICKETS#{status}` / `createdAt#id`.

Safe to run again and alongside traffic: a scenario already written under its new key keeps
every attribute it has (the old item only fills what is missing), and a ticket's index is
rewritten only while it still holds the old one (a status change since sets the new one).
Run it right after deploying the code that reads the new keys (see docs/scale.md)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import keys
from chalicelib.adapters.dynamo.table import KEY_ATTRS, Table, set_clause

PER_UPDATE = 40  # attributes per UpdateItem: well inside the 4 KB expression limit


class Rekey:
    def __init__(self, table: Table) -> None:
        self._t = table

    def run(self, project: str, *, apply: bool) -> dict[str, Any]:
        scenarios = self._t.query_all(
            keys.project_partition(project), sk_prefix=keys.legacy_scenario_prefix()
        )
        tickets = self._t.query_all(keys.legacy_tickets_index(project), index="gsi1")
        if apply:
            for item in scenarios:
                self._move_scenario(project, item)
            for item in tickets:
                self._reindex_ticket(item)
        return {
            "project": project,
            "applied": apply,
            "scenarios": len(scenarios),
            "tickets": len(tickets),
        }

    def _move_scenario(self, project: str, old: dict[str, Any]) -> None:
        scenario_id = str(old.get("scenarioId") or old["sk"][len(keys.legacy_scenario_prefix()) :])
        new_key = keys.scenario(project, scenario_id)
        data = {k: v for k, v in old.items() if k not in KEY_ATTRS}
        if not self._t.put_if({**new_key, **data}, "attribute_not_exists(pk)"):
            self._fill_missing(new_key, data)
        self._t.delete({"pk": old["pk"], "sk": old["sk"]})

    def _fill_missing(self, key: keys.Key, data: dict[str, Any]) -> None:
        """The scenario was written under its new key already: what it holds is newer."""
        fields = list(data.items())
        for start in range(0, len(fields), PER_UPDATE):
            chunk = dict(fields[start : start + PER_UPDATE])
            _, names, values = set_clause(chunk)
            clause = ", ".join(f"#n{i} = if_not_exists(#n{i}, :n{i})" for i in range(len(chunk)))
            self._t.update(key, "SET " + clause, ExpressionAttributeNames=names, values=values)

    def _reindex_ticket(self, item: dict[str, Any]) -> None:
        new = keys.ticket_status_index(
            item["project"], item["status"], item["createdAt"], item["id"]
        )
        self._t.update_if(
            keys.ticket(item["id"]),
            "SET gsi1pk = :pk, gsi1sk = :sk",
            ConditionExpression="gsi1pk = :old",
            values={":pk": new["gsi1pk"], ":sk": new["gsi1sk"], ":old": item["gsi1pk"]},
        )
