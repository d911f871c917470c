"""Builds the merge template for `chalice package --merge-template`.

    python -m infra.build            # writes build/merge-template.json
    AWS_DEFAULT_REGION=us-east-1 .venv/bin/chalice package \
        --merge-template build/merge-template.json --stage dev build/package
    .venv/bin/cfn-lint build/package/sam.json
    python -m infra.build --check build/package/sam.json   # cycles cfn-lint does not see

infra/template.json holds two kinds of entries under Resources:
- resources with a `Type`: ours (table, bucket, queues, state machine, policies);
- entries without a `Type`: overrides deep-merged by Chalice into the resources it generates
  (functions `OnReportUploaded`, `OnWorkflowTask`, `APIHandler`, their roles `<Function>Role` /
  `ApiHandlerRole`). Chalice's merge replaces lists and merges dicts.

The build embeds the ASL file named by a state machine's `Metadata.DefinitionFile` as its
`Definition` object (so cfn-lint validates the states) and reconciles the overrides with the
Chalice app: overrides of functions the app does not define (yet) are dropped, because an override
without a generated counterpart would be a resource without a Type.
"""

from __future__ import annotations

import argparse
import copy
import graphlib
import json
import re
import sys
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
INFRA_DIR = ROOT / "infra"
TEMPLATE_PATH = INFRA_DIR / "template.json"
ASL_PATH = INFRA_DIR / "ticket-workflow.asl.json"
BUILD_DIR = ROOT / "build"
MERGE_TEMPLATE_PATH = BUILD_DIR / "merge-template.json"

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
# Fn::Sub variables: ${Name}, ${Name.Attribute}, ${AWS::Region}; ${!Literal} is not one.
_PLACEHOLDER_SUB = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")

# Chalice renames these two in the SAM template (chalice/package.py, _generate_restapi).
_CHALICE_RENAMES = {"ApiHandler": "APIHandler", "RestApi": "RestAPI"}


def _read_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return data


def load_asl(path: Path = ASL_PATH) -> dict[str, Any]:
    """The ticket workflow's ASL definition, placeholders unresolved."""
    return _read_json(path)


def _substitute(value: Any, substitutions: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, substitutions) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, substitutions) for v in value]
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in substitutions:
                raise KeyError(f"no substitution for ${{{name}}} in the state machine definition")
            return substitutions[name]

        return _PLACEHOLDER.sub(replace, value)
    return value


def render_definition(
    substitutions: dict[str, str],
    path: Path = ASL_PATH,
    *,
    definition: dict[str, Any] | None = None,
) -> str:
    """The ASL (the file, or `definition`) as a JSON string with every `${Name}` replaced, as
    DefinitionSubstitutions would.

    Substitution happens inside JSON string values, so values need no escaping. An unknown
    placeholder raises KeyError rather than reaching Step Functions.
    """
    source = definition if definition is not None else load_asl(path)
    return json.dumps(_substitute(source, substitutions), indent=2)


def merge_template(template_path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """infra/template.json with every state machine's DefinitionFile embedded as `Definition`."""
    template = _read_json(template_path)
    for logical_id, resource in template.get("Resources", {}).items():
        definition_file = resource.get("Metadata", {}).get("DefinitionFile")
        if definition_file is None:
            continue
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            raise ValueError(f"{logical_id}: DefinitionFile only applies to state machines")
        resource.setdefault("Properties", {})["Definition"] = load_asl(
            template_path.parent / definition_file
        )
    return template


def chalice_resources(project_dir: Path = ROOT, stage: str = "dev") -> dict[str, str]:
    """Logical ids `chalice package` generates for the app, mapped to a kind.

    Kinds: `function`, `role`, `event` (an entry of a function's `Events`), `api`. Computed with
    Chalice's own application graph (no packaging, no AWS calls); imports the app.
    """
    from chalice.cli.factory import CLIFactory
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder
    from chalice.utils import to_cfn_resource_name

    config = CLIFactory(project_dir=str(project_dir)).create_config_obj(chalice_stage_name=stage)
    graph = ApplicationGraphBuilder().build(config, stage)
    found: dict[str, str] = {}
    for resource in DependencyBuilder().build_dependencies(graph):
        if isinstance(resource, models.LambdaFunction):
            kind = "function"
        elif isinstance(resource, models.ManagedIAMRole):
            kind = "role"
        elif isinstance(resource, (models.SQSEventSource, models.DynamoDBEventSource)):
            kind = "event"
        elif isinstance(resource, models.RestAPI):
            kind = "api"
        else:
            continue
        cfn_name = to_cfn_resource_name(resource.resource_name)
        found[_CHALICE_RENAMES.get(cfn_name, cfn_name)] = kind
    return found


def references(value: Any) -> set[str]:
    """Logical ids (not pseudo parameters) referenced by Ref, Fn::GetAtt or Fn::Sub in value."""
    refs: set[str] = set()
    if isinstance(value, list):
        for item in value:
            refs |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                refs.add(item)
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) else str(item).split(".")[0]
                refs.add(target)
            elif key == "Fn::Sub":
                text, variables = (item[0], item[1]) if isinstance(item, list) else (item, {})
                if isinstance(text, str):
                    names = {m.split(".")[0] for m in _PLACEHOLDER_SUB.findall(text)}
                    refs |= names - set(variables)
                refs |= references(variables)
            else:
                refs |= references(item)
    return {r for r in refs if not r.startswith("AWS::")}


def _drop_missing_branches(value: Any, missing: set[str]) -> Any:
    """Resolves `Fn::If [cond, a, b]` to the branch that does not reference a missing id."""
    if isinstance(value, list):
        return [_drop_missing_branches(v, missing) for v in value]
    if isinstance(value, dict):
        branches = value.get("Fn::If")
        if len(value) == 1 and isinstance(branches, list) and len(branches) == 3:
            _, when_true, when_false = branches
            if references(when_false) & missing and not references(when_true) & missing:
                return _drop_missing_branches(when_true, missing)
            if references(when_true) & missing and not references(when_false) & missing:
                return _drop_missing_branches(when_false, missing)
        return {k: _drop_missing_branches(v, missing) for k, v in value.items()}
    return value


def adapt_to_app(
    template: dict[str, Any], generated: dict[str, str], log: TextIO | None = None
) -> dict[str, Any]:
    """Reconciles the merge template with what Chalice generates for the current app.

    - drops overrides (entries without a Type) of resources Chalice does not generate;
    - where a value is `Fn::If` with one branch naming a resource that does not exist (e.g.
      RestAPI while the app has no routes), keeps the other branch;
    - raises ValueError for an override of an `Events` entry Chalice does not generate (a renamed
      handler) and for any remaining reference to a resource that does not exist.
    """
    log = log or sys.stderr
    template = copy.deepcopy(template)
    resources: dict[str, Any] = template["Resources"]
    for logical_id in [k for k, v in resources.items() if "Type" not in v]:
        if logical_id not in generated:
            print(
                f"infra.build: the app does not define {logical_id}; dropping its override",
                file=log,
            )
            del resources[logical_id]
    for logical_id, kind in generated.items():
        if kind == "role" and logical_id not in resources:
            print(
                f"infra.build: warning: no override for {logical_id}: its function gets only "
                ".chalice/policy-dev.json (add it to infra/template.json)",
                file=log,
            )
    for logical_id, resource in resources.items():
        if "Type" in resource:
            continue
        for event_name in resource.get("Properties", {}).get("Events", {}):
            if generated.get(event_name) != "event":
                raise ValueError(
                    f"{logical_id}: Chalice generates no event source {event_name}; "
                    "was the handler renamed? Update infra/template.json"
                )
    known = set(resources) | set(generated) | set(template.get("Parameters", {}))
    missing_candidates = references(template) - known
    if missing_candidates:
        for section in ("Globals", "Resources", "Outputs"):
            if section in template:
                template[section] = _drop_missing_branches(template[section], missing_candidates)
    still_missing = references(template) - known
    if still_missing:
        raise ValueError(f"merge template references undefined resources: {sorted(still_missing)}")
    return template


def plain_template(template: dict[str, Any]) -> dict[str, Any]:
    """Only our own resources (those with a Type), as a plain CloudFormation template.

    cfn-lint 1.58 skips some rules on a template with the SAM Transform (W3037, unknown IAM
    actions, is not reported there), so tests lint our resources this way as well.
    """
    resources = {k: v for k, v in template["Resources"].items() if "Type" in v}
    used = references(resources)
    conditions_used = {
        c for r in resources.values() for c in ([r["Condition"]] if "Condition" in r else [])
    } | {name for name in template.get("Conditions", {}) if f'"{name}"' in json.dumps(resources)}
    plain: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    parameters = {k: v for k, v in template.get("Parameters", {}).items() if k in used}
    if parameters:
        plain["Parameters"] = parameters
    conditions = {k: v for k, v in template.get("Conditions", {}).items() if k in conditions_used}
    if conditions:
        plain["Conditions"] = conditions
    outputs = {
        k: v for k, v in template.get("Outputs", {}).items() if references(v) <= set(resources)
    }
    if outputs:
        plain["Outputs"] = outputs
    return plain


def find_cycle(template: dict[str, Any]) -> list[str]:
    """A dependency cycle among the template's resources ([] if none).

    Counts Ref / GetAtt / Sub anywhere in Properties (an AWS::Serverless::Api DefinitionBody
    included) and DependsOn. cfn-lint 1.58 misses the cycle RestAPI -> APIHandler -> RestAPI that
    an API handler referencing its own API creates; the SAM transform then rejects the stack.
    """
    resources: dict[str, Any] = template.get("Resources", {})
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else list(depends)
        graph[logical_id] = (references(resource.get("Properties", {})) | set(depends)) & set(
            resources
        )
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        return list(error.args[1])
    return []


def build(output: Path = MERGE_TEMPLATE_PATH, project_dir: Path = ROOT, stage: str = "dev") -> Path:
    """Writes the merge template for `chalice package --merge-template`; returns its path."""
    template = adapt_to_app(merge_template(), chalice_resources(project_dir, stage))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=MERGE_TEMPLATE_PATH)
    parser.add_argument("--stage", default="dev")
    parser.add_argument(
        "--check",
        type=Path,
        metavar="SAM_JSON",
        help="instead of building: fail if the packaged template has a dependency cycle",
    )
    args = parser.parse_args(argv)
    if args.check is not None:
        cycle = find_cycle(_read_json(args.check))
        if cycle:
            print(f"{args.check}: dependency cycle {' -> '.join(cycle)}", file=sys.stderr)
            return 1
        print(f"{args.check}: no dependency cycle")
        return 0
    path = build(args.output, ROOT, args.stage)
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
