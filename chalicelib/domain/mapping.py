"""Which test case, scenario and module a JUnit testcase is: the default identity and a project's
mapping rules. Pure functions over the facts a report gives (classname, name, file, suite,
properties); no I/O.

Default identity (no rule, no property):
  test case  `classname::name`, whitespace collapsed; the classname alone is left out when the
             name already repeats it (jest-junit writes `describe title` as both), the suite name
             stands in for a missing classname. Stable across runs: nothing in it is a time or a
             counter.
  scenario   the test case: one draft per distinct failing test.
  module     the project's default module.

An explicit `testCaseId`, `scenarioId` (`scenario`) or `module` property on the testcase or its
suites always wins. Otherwise the project's rules are tried in order; for each of the three
targets the first matching rule that sets it wins.

A rule: `{"match": {"field": "classname", "prefix": "com.acme.shop."}, "set": {"module": "shop"}}`.
`field` is `classname`, `name`, `file`, `suite` or `property:<name>`; at most one operator
(`equals`, `prefix`, `suffix`, `contains`, `regex`; none: the field is not empty); no `match`:
every testcase. `set` values are templates: `{classname}`, `{name}`, `{file}`, `{suite}`,
`{testCase}` (the test case id decided so far), `{value}` (the matched field's value), and the
regex's named groups. A template that comes out empty does not apply.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MODULE = "general"  # a project created before default modules existed
NAME_MAX = 200
MAX_RULES = 100
FIELDS = ("classname", "name", "file", "suite")
PROPERTY_PREFIX = "property:"
OPERATORS = ("equals", "prefix", "suffix", "contains", "regex")
TARGETS = ("testCase", "scenario", "module")
PLACEHOLDERS = (*FIELDS, "testCase", "value")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def property_key(name: str) -> str:
    """Property names compare case-insensitively with `_` and `-` ignored (as in junit.py)."""
    return name.strip().lower().replace("_", "").replace("-", "")


def normalise(value: str) -> str:
    return " ".join(value.split())


def clip_id(value: str) -> str:
    """An id that fits a Name: a long one keeps a prefix plus a hash, so it stays unique and
    stable."""
    value = value.strip()
    if len(value) <= NAME_MAX:
        return value
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return f"{value[: NAME_MAX - 13].rstrip()}~{digest}"


@dataclass(frozen=True)
class CaseFacts:
    """What a report says about one testcase."""

    classname: str = ""
    name: str = ""
    file: str = ""
    suite: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)  # property_key(name) -> value

    def value(self, field_name: str) -> str:
        if field_name.startswith(PROPERTY_PREFIX):
            return self.properties.get(property_key(field_name[len(PROPERTY_PREFIX) :]), "")
        return str(getattr(self, field_name))


def default_test_case_id(classname: str, name: str, suite: str = "") -> str:
    owner = normalise(classname) or normalise(suite)
    name = normalise(name)
    if not name:
        return clip_id(owner or "unnamed")
    if not owner or name == owner or name.startswith(owner + " "):
        return clip_id(name)
    return clip_id(f"{owner}::{name}")


@dataclass(frozen=True)
class Rule:
    field: str | None  # None: every testcase
    operator: str | None
    operand: str
    sets: Mapping[str, str]
    pattern: re.Pattern[str] | None = None

    def match(self, facts: CaseFacts) -> dict[str, str] | None:
        """The placeholders' values if the rule matches, else None."""
        if self.field is None:
            return {}
        value = facts.value(self.field)
        groups: dict[str, str] = {}
        if self.operator is None:
            ok = bool(value)
        elif self.operator == "equals":
            ok = value == self.operand
        elif self.operator == "prefix":
            ok = value.startswith(self.operand)
        elif self.operator == "suffix":
            ok = value.endswith(self.operand)
        elif self.operator == "contains":
            ok = self.operand in value
        else:
            assert self.pattern is not None
            found = self.pattern.search(value)
            ok = found is not None
            if found is not None:
                groups = {k: v or "" for k, v in found.groupdict().items()}
        return {"value": value, **groups} if ok else None


@dataclass(frozen=True)
class ReportMapping:
    """A project's rules and default module, compiled."""

    rules: tuple[Rule, ...] = ()
    default_module: str = DEFAULT_MODULE

    @classmethod
    def of_project(cls, project: Mapping[str, Any]) -> ReportMapping:
        """From a project item's `mappingRules` and `defaultModule` (validated when saved)."""
        return cls.build(project.get("mappingRules") or [], project.get("defaultModule"))

    @classmethod
    def build(cls, rules: Sequence[Mapping[str, Any]], default_module: str | None) -> ReportMapping:
        problems = rule_problems(rules)
        if problems:
            raise ValueError(f"invalid mapping rules: {problems}")
        return cls(tuple(_compile(r) for r in rules), default_module or DEFAULT_MODULE)


@dataclass(frozen=True)
class Identity:
    test_case_id: str
    scenario_id: str
    module: str
    by: Mapping[str, str]  # target -> "property", "rule[i]" or "default"


def identify(
    facts: CaseFacts, mapping: ReportMapping, explicit: Mapping[str, str] | None = None
) -> Identity:
    """The testcase's identity: an explicit property, else the first matching rule, else the
    default. `explicit` holds the properties' `testCase`, `scenario` and `module` values."""
    explicit = explicit or {}
    chosen: dict[str, str] = {}
    by: dict[str, str] = {}
    for target in TARGETS:
        if explicit.get(target, "").strip():
            chosen[target] = explicit[target].strip()
            by[target] = "property"
    matches: list[tuple[int, Rule, dict[str, str]] | None] = []
    for index, rule in enumerate(mapping.rules):
        found = rule.match(facts)
        matches.append(None if found is None else (index, rule, found))
    base = {f: facts.value(f) for f in FIELDS}
    default_case = default_test_case_id(facts.classname, facts.name, facts.suite)
    for target in TARGETS:  # in this order: `{testCase}` means the test case decided already
        if target in chosen:
            continue
        for hit in matches:
            if hit is None or target not in hit[1].sets:
                continue
            values = {**base, "testCase": chosen.get("testCase", default_case), **hit[2]}
            rendered = normalise(_render(hit[1].sets[target], values))
            if rendered:
                chosen[target], by[target] = rendered, f"rule[{hit[0]}]"
                break
        else:
            by[target] = "default"
            if target == "testCase":
                chosen[target] = default_case
            elif target == "scenario":
                chosen[target] = chosen["testCase"]
            else:
                chosen[target] = mapping.default_module
    return Identity(
        test_case_id=clip_id(chosen["testCase"]),
        scenario_id=clip_id(chosen["scenario"]),
        module=clip_id(chosen["module"]),
        by=by,
    )


def _render(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def _compile(rule: Mapping[str, Any]) -> Rule:
    match = rule.get("match") or {}
    operator = next((op for op in OPERATORS if match.get(op) is not None), None)
    operand = str(match.get(operator, "")) if operator else ""
    return Rule(
        field=match.get("field"),
        operator=operator,
        operand=operand,
        sets={k: v for k, v in (rule.get("set") or {}).items() if v is not None},
        pattern=re.compile(operand) if operator == "regex" else None,
    )


def rule_problems(rules: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """What is wrong with a list of rules, as (field path, problem): empty when it is valid."""
    problems: list[tuple[str, str]] = []
    if len(rules) > MAX_RULES:
        problems.append(("mappingRules", f"must hold at most {MAX_RULES} rules"))
    for i, rule in enumerate(rules):
        problems.extend(_one_rule_problems(rule, f"mappingRules[{i}]"))
    return problems


def _one_rule_problems(rule: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    if not isinstance(rule, Mapping):
        return [(where, "must be an object with match and set")]
    problems: list[tuple[str, str]] = []
    unknown = set(rule) - {"match", "set"}
    if unknown:
        problems.append((f"{where}.{sorted(unknown)[0]}", "is not a known field"))
    match = rule.get("match")
    groups: set[str] = set()
    if match is not None:
        problems.extend(_match_problems(match, f"{where}.match", groups))
    sets = rule.get("set")
    if not isinstance(sets, Mapping) or not any(sets.get(t) for t in TARGETS):
        problems.append((f"{where}.set", "must set at least one of " + ", ".join(TARGETS)))
        return problems
    known = {*PLACEHOLDERS, *groups}
    for target, template in sets.items():
        path = f"{where}.set.{target}"
        if target not in TARGETS:
            problems.append((path, "is not one of " + ", ".join(TARGETS)))
        elif template is not None and not isinstance(template, str):
            problems.append((path, "must be a string"))
        elif isinstance(template, str):
            names = _PLACEHOLDER.findall(template)
            bad = [n for n in names if n not in known]
            if bad:
                allowed = ", ".join("{" + n + "}" for n in sorted(known))
                problems.append((path, f"uses {{{bad[0]}}}, which is not one of {allowed}"))
            elif not template.strip():
                problems.append((path, "must not be empty"))
            elif len(template) > NAME_MAX:
                problems.append((path, f"must be at most {NAME_MAX} characters"))
    return problems


def _match_problems(match: Any, where: str, groups: set[str]) -> list[tuple[str, str]]:
    if not isinstance(match, Mapping):
        return [(where, "must be an object with field and one operator")]
    problems: list[tuple[str, str]] = []
    unknown = set(match) - {"field", *OPERATORS}
    if unknown:
        problems.append((f"{where}.{sorted(unknown)[0]}", "is not a known field"))
    name = match.get("field")
    if not isinstance(name, str) or not (
        name in FIELDS or (name.startswith(PROPERTY_PREFIX) and property_key(name[9:]))
    ):
        fields = ", ".join(FIELDS)
        problems.append((f"{where}.field", f"must be one of {fields} or property:<name>"))
    operators = [op for op in OPERATORS if match.get(op) is not None]
    if len(operators) > 1:
        problems.append((where, "must use at most one of " + ", ".join(OPERATORS)))
    for op in operators:
        operand = match[op]
        if not isinstance(operand, str) or (op != "equals" and not operand):
            problems.append((f"{where}.{op}", "must be a non-empty string"))
        elif len(operand) > 500:
            problems.append((f"{where}.{op}", "must be at most 500 characters"))
        elif op == "regex":
            try:
                groups.update(re.compile(operand).groupindex)
            except re.error as exc:
                problems.append((f"{where}.regex", f"is not a valid regular expression: {exc}"))
    return problems
