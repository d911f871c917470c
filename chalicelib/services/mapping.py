"""A project's report mapping: saving and reading its rules, and previewing them on a sample
report. The rules themselves (and the default identity) are `chalicelib.domain.mapping`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib import settings
from chalicelib.domain.mapping import DEFAULT_MODULE, ReportMapping, rule_problems
from chalicelib.domain.ports import ProjectRepository
from chalicelib.domain.results import flaky_indexes
from chalicelib.domain.statuses import ResultStatus
from chalicelib.errors import ValidationFailed, field_problem
from chalicelib.models import MappingIn, MappingRuleIn, ResultIn
from chalicelib.services.access import AccessService


def rules_document(rules: Sequence[MappingRuleIn]) -> list[dict[str, Any]]:
    """Rules as stored and shown: camelCase, without empty fields."""
    return [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in rules]


def checked_mapping(rules: list[dict[str, Any]], default_module: str | None) -> ReportMapping:
    """The compiled mapping, or a 422 naming each bad rule's field (`mappingRules[2].match`)."""
    problems = rule_problems(rules)
    if problems:
        raise ValidationFailed(
            "the mapping rules are not valid", [field_problem(f, p) for f, p in problems]
        )
    return ReportMapping.build(rules, default_module)


class MappingService:
    def __init__(self, projects: ProjectRepository, access: AccessService) -> None:
        self._projects = projects
        self._access = access

    def get(self, project: str) -> dict[str, Any]:
        item = self._access.project(project)
        return {
            "mappingRules": list(item.get("mappingRules") or []),
            "defaultModule": item.get("defaultModule") or DEFAULT_MODULE,
            "defaultLead": item.get("defaultLead"),
        }

    def save(self, project: str, mapping: MappingIn) -> dict[str, Any]:
        """Replace the project's rules (and default module). Reports from now on use them; past
        executions keep their ids (`python -m chalicelib.cli reidentify` re-derives on request)."""
        self._access.project(project)
        rules = rules_document(mapping.mapping_rules)
        checked_mapping(rules, mapping.default_module)
        fields: dict[str, Any] = {"mappingRules": rules}
        if mapping.default_module:
            fields["defaultModule"] = mapping.default_module
        self._projects.set_fields(project, fields)
        self._access.forget_project(project)
        return self.get(project)

    def preview(
        self,
        project: str,
        report: bytes,
        rules: Sequence[MappingRuleIn] | None,
        default_module: str | None,
    ) -> dict[str, Any]:
        """What the report would become under these rules (the saved ones when None): each
        result's test case, scenario, module and who decides it. Writes nothing."""
        from chalicelib.junit import parse_junit

        item = self._access.project(project)
        document = list(item.get("mappingRules") or []) if rules is None else rules_document(rules)
        mapping = checked_mapping(document, default_module or item.get("defaultModule"))
        explained: list[dict[str, str]] = []
        results = parse_junit(
            report, max_bytes=settings.MAX_JUNIT_BODY_BYTES, mapping=mapping, explain=explained
        )
        leads = {m["name"]: m.get("lead") for m in self._projects.modules(project)}
        flaky = flaky_indexes(results)
        items = []
        failing: set[str] = set()
        for i, (r, by) in enumerate(zip(results, explained, strict=True)):
            if r.status == ResultStatus.FAILED and i not in flaky:
                failing.add(r.scenario_id)
            items.append(_previewed(r, by, leads.get(r.module_name), item.get("defaultLead")))
        return {
            "items": items,
            "summary": {
                "results": len(results),
                "testCases": len({r.test_case_id for r in results}),
                "scenarios": len({r.scenario_id for r in results}),
                "drafts": len(failing),
                "modules": sorted({r.module_name for r in results}),
            },
            "mapping": {"mappingRules": document, "defaultModule": mapping.default_module},
        }


def _previewed(
    r: ResultIn, by: dict[str, str], lead: str | None, default_lead: Any
) -> dict[str, Any]:
    """One result as the preview shows it: where it goes and who decides its draft."""
    return {
        "source": r.source.model_dump(mode="json", exclude_none=True) if r.source else {},
        "testCaseId": r.test_case_id,
        "scenarioId": r.scenario_id,
        "module": r.module_name,
        "status": r.status.value,
        "attempt": r.attempt,
        "lead": lead or default_lead,
        "leadIsDefault": not lead,
        "mappedBy": dict(by),
    }
