"""How a project's JUnit reports map to test cases, scenarios and modules: save, read, preview."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import (
    models,
    settings,
)
from chalicelib.models import parse_json, parse_model
from chalicelib.routes.common import (
    JSON_TYPES,
    XML_TYPES,
    container,
    json_body,
    principal_for,
    raw_body,
    require_content_type,
    route,
)

bp = Blueprint(__name__)

# Who may preview: the admin who writes the rules, the leads whose modules they fill, and the CI
# key that sends the reports. A preview writes nothing.


def _service() -> Any:
    return container().mapping


@route(bp, "/v1/projects/{project}/mapping", methods=["PUT"], content_types=JSON_TYPES)
def put_mapping(project: str) -> dict[str, Any]:
    """Save the project's mapping rules (ordered; first match per target wins); 422 names a bad
    rule's field."""
    request = bp.current_request
    principal_for(request, project)
    mapping = json_body(request, models.MappingIn)
    return dict(_service().save(project, mapping))


@route(bp, "/v1/projects/{project}/mapping", methods=["GET"])
def get_mapping(project: str) -> dict[str, Any]:
    """The project's mapping rules, default module and default lead."""
    principal_for(bp.current_request, project)
    return dict(_service().get(project))


@route(
    bp,
    "/v1/projects/{project}/mapping/preview",
    methods=["POST"],
    content_types=JSON_TYPES + XML_TYPES,
)
def preview_mapping(project: str) -> dict[str, Any]:
    """What a sample JUnit report would become: each result's test case, scenario, module and
    lead. JSON `{"report", "mappingRules"?, "defaultModule"?}` or the XML itself (saved rules)."""
    request = bp.current_request
    principal_for(request, project)
    require_content_type(request, JSON_TYPES + XML_TYPES)
    body = raw_body(request, settings.MAX_JUNIT_BODY_BYTES)
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media in XML_TYPES:
        return dict(_service().preview(project, body, None, None))
    preview = parse_model(models.MappingPreviewIn, parse_json(body))
    return dict(
        _service().preview(
            project, preview.report.encode(), preview.mapping_rules, preview.default_module
        )
    )
