"""A project's Jira mapping, checked against the Jira site before it is saved: the project, the
issue type, the fields by id or name, the link types, and every field the issue type requires."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.domain.outside import JiraRejected, JiraThrottled, JiraUnavailable
from chalicelib.domain.ports import IssueFormat, ProjectRepository, Tracker
from chalicelib.errors import Unavailable, ValidationFailed, field_problem
from chalicelib.models import JiraMappingIn

Problems = list[dict[str, str]]
# mapping key naming a field -> the key its resolved id is saved under
FIELD_KEYS = (("severityField", "severityFieldId"), ("testCaseIdField", "testCaseIdFieldId"))


class JiraMappingService:
    def __init__(
        self,
        projects: ProjectRepository,
        tracker: Callable[[], Tracker],
        issues: IssueFormat,
    ) -> None:
        self._projects = projects
        self._tracker = tracker
        self._issues = issues

    def configure(self, project: str, mapping_in: JiraMappingIn) -> dict[str, Any]:
        """Save the mapping if it fits the Jira site; 422 naming every misfit, 503 if Jira
        cannot be asked (nothing saved either way)."""
        try:
            mapping = mapping_in.model_dump(mode="json", by_alias=True)
            mapping["linkTypes"] = {k: v for k, v in mapping["linkTypes"].items() if v}
            issue_type = self._issue_type(mapping)
            problems = [
                *self._fields(mapping),
                *self._link_types(mapping),
                *self._required(mapping, issue_type),
            ]
        except (JiraThrottled, JiraUnavailable) as exc:
            raise Unavailable(f"Jira could not be asked: {exc}; nothing was saved") from exc
        if problems:
            raise ValidationFailed("the Jira mapping does not fit this Jira site", problems)
        self._projects.set_fields(project, {"jira": mapping})
        return mapping

    def _issue_type(self, mapping: dict[str, Any]) -> dict[str, Any]:
        """The project's issue type the mapping names (its name as Jira spells it is saved)."""
        project_key, wanted = mapping["projectKey"], mapping["issueType"]
        try:
            types = self._tracker().issue_types(project_key)
        except JiraRejected as exc:
            raise ValidationFailed(
                "Jira does not know this project",
                [field_problem("projectKey", f"{project_key}: {exc}")],
            ) from exc
        found = next((t for t in types if str(t.get("name", "")).lower() == wanted.lower()), None)
        if found is None:
            names = ", ".join(sorted(str(t.get("name")) for t in types))
            raise ValidationFailed(
                "unknown issue type",
                [
                    field_problem(
                        "issueType", f"{project_key} has no issue type {wanted}; it has {names}"
                    )
                ],
            )
        mapping["issueType"] = found["name"]
        return found

    def _fields(self, mapping: dict[str, Any]) -> Problems:
        """Fields named by id or name resolve to ids; extra fields must exist."""
        fields = self._tracker().fields()
        by_name = {str(f.get("name", "")).lower(): f["id"] for f in fields}
        ids = {f["id"] for f in fields}
        problems = []
        for key, id_key in FIELD_KEYS:
            wanted = mapping.get(key)
            if wanted:
                found = wanted if wanted in ids else by_name.get(wanted.lower())
                if found is None:
                    problems.append(field_problem(key, f"Jira has no field {wanted}"))
                mapping[id_key] = found
        for name in mapping.get("extraFields") or {}:
            if name not in ids:
                problems.append(field_problem(f"extraFields.{name}", "Jira has no such field"))
        return problems

    def _link_types(self, mapping: dict[str, Any]) -> Problems:
        """Link types resolve by name, inward or outward description ("Test" finds "Tests")."""
        available = self._tracker().link_types()
        problems = []
        for role, wanted in (mapping.get("linkTypes") or {}).items():
            if not wanted:
                continue
            resolved = self._issues.resolve_link_type(wanted, available)
            if resolved is None:
                names = ", ".join(t["name"] for t in available)
                problems.append(
                    field_problem(
                        f"linkTypes.{role}", f"Jira has no link type {wanted}; it has {names}"
                    )
                )
            mapping["linkTypes"][role] = resolved
        return problems

    def _required(self, mapping: dict[str, Any], issue_type: dict[str, Any]) -> Problems:
        """Every field the issue type requires (without a default) is filled by the mapping."""
        filled = self._issues.filled_fields(mapping)
        specs = self._tracker().create_fields(mapping["projectKey"], str(issue_type["id"]))
        return [
            field_problem(
                f"extraFields.{field_id}",
                f"{spec.get('name', field_id)} is required by {mapping['issueType']} in "
                f"{mapping['projectKey']} and the mapping does not fill it",
            )
            for spec in specs
            for field_id in [spec.get("fieldId") or spec.get("key")]
            if spec.get("required") and not spec.get("hasDefaultValue") and field_id not in filled
        ]
