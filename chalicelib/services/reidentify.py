"""Re-deriving past executions' identity under a project's current mapping, only when asked
(`python -m chalicelib.cli reidentify PROJECT [--run RUN ...] [--apply]`).

What it can do:
- Executions recorded with `source` facts (classname, name, file: every JUnit execution since the
  mapping existed) are re-derived exactly, except for properties, which are not kept: an
  execution whose old ids came from an explicit property keeps them (its ids are not the default
  and no rule result matches them, so it shows up as "would change"; check before --apply).
- Older executions have no source facts. When their test case id has the old JUnit shape
  `classname.name` with the scenario as the classname, the pair is guessed from it ("inferred");
  those are applied only with --include-inferred. JSON results never had a classname: they are
  left alone.

What it never does:
- Executions keep their ids and keys (history is not rewritten); only the `testCaseId`,
  `scenarioId` and `module` fields change, and the old values stay under `previousIdentity`.
- Executions that belong to a ticket are left alone and their tickets reported: moving them
  would merge or split tickets, which a lead decides (decide, merge, or reject the draft).
- Scenario items are not rebuilt: the next report of the new scenario creates it.

Runs: the ones named, else those that hold an occurrence of one of the project's tickets (no index
lists a project's runs yet).
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.executions import Execution
from chalicelib.domain.mapping import CaseFacts, ReportMapping, identify
from chalicelib.domain.ports import ExecutionRepository, TicketRepository

IDENTITY = ("testCaseId", "scenarioId", "module")


def facts_of(execution: dict[str, Any]) -> tuple[CaseFacts, str] | None:
    """The execution's JUnit facts and how they are known ("source" or "inferred"), or None."""
    source = execution.get("source")
    if source:
        return CaseFacts(
            classname=source.get("classname", ""),
            name=source.get("name", ""),
            file=source.get("file", ""),
        ), "source"
    scenario, test_case = execution.get("scenarioId", ""), execution.get("testCaseId", "")
    if scenario and test_case.startswith(scenario + ".") and len(test_case) > len(scenario) + 1:
        return CaseFacts(classname=scenario, name=test_case[len(scenario) + 1 :]), "inferred"
    return None


def plan(executions: list[dict[str, Any]], mapping: ReportMapping) -> dict[str, Any]:
    """What re-deriving would change, by execution; pure."""
    changes: list[dict[str, Any]] = []
    tickets: dict[str, list[str]] = {}
    unknown = 0
    for execution in executions:
        known = facts_of(execution)
        if known is None:
            unknown += 1
            continue
        facts, basis = known
        identity = identify(facts, mapping)
        new = {
            "testCaseId": identity.test_case_id,
            "scenarioId": identity.scenario_id,
            "module": identity.module,
        }
        old = {k: execution.get(k) for k in IDENTITY}
        if old.get("module") is None:  # executions do not record their module yet
            old.pop("module")
            new_cmp = {k: v for k, v in new.items() if k != "module"}
        else:
            new_cmp = new
        if old == new_cmp:
            continue
        change = {
            "executionId": execution["executionId"],
            "runId": execution["runId"],
            "basis": basis,
            "from": old,
            "to": new,
        }
        if execution.get("ticketId"):
            change["ticketId"] = execution["ticketId"]
            tickets.setdefault(execution["ticketId"], []).append(execution["executionId"])
        changes.append(change)
    return {"changes": changes, "ticketsAffected": tickets, "withoutFacts": unknown}


def reidentify(
    access: Any,
    executions: ExecutionRepository,
    tickets: TicketRepository,
    project: str,
    *,
    runs: list[str] | None = None,
    apply: bool = False,
    include_inferred: bool = False,
) -> dict[str, Any]:
    item = access.project(project)
    mapping = ReportMapping.of_project(item)
    run_ids = sorted(set(runs or []) or _runs_with_tickets(executions, tickets, project))
    raw: dict[str, dict[str, Any]] = {}
    for run_id in run_ids:
        for execution in executions.of_run(project, run_id):
            raw[execution.execution_id] = execution.stored()
    result = plan(list(raw.values()), mapping)
    applicable = [
        c
        for c in result["changes"]
        if "ticketId" not in c and (c["basis"] == "source" or include_inferred)
    ]
    if apply and applicable:
        by_id = {e: raw[e] for e in raw}
        for change in applicable:
            before = by_id[change["executionId"]]
            executions.reidentify(
                Execution.from_dict(before),
                {
                    **change["to"],
                    "previousIdentity": {k: before.get(k) for k in IDENTITY if k in before},
                },
            )
    return {
        "project": project,
        "runs": run_ids,
        "applied": apply,
        "changed": len(applicable) if apply else 0,
        "wouldChange": len(applicable),
        "leftForTickets": {
            "tickets": sorted(result["ticketsAffected"]),
            "executions": sum(len(v) for v in result["ticketsAffected"].values()),
            "note": "executions of tickets are left alone: re-deriving them would merge or "
            "split tickets; decide those tickets instead",
        },
        "withoutFacts": result["withoutFacts"],
        "changes": result["changes"],
    }


def _runs_with_tickets(
    executions: ExecutionRepository, tickets: TicketRepository, project: str
) -> set[str]:
    runs: set[str] = set()
    cursor = None
    while True:
        page, cursor = tickets.page(project, status=None, module=None, limit=100, cursor=cursor)
        for ticket in page:
            runs.update(e.run_id for e in executions.occurrences(ticket.id))
        if not cursor:
            return runs
