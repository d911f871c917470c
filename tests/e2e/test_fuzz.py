"""Schemathesis over schemas/openapi.json against the local stack: every operation, with every
role's key, every check schemathesis has (no 5xx, documented status codes, content types and
headers, response bodies matching their schemas, auth not ignored, schema-invalid requests
refused, schema-valid ones accepted, 405 for undocumented methods).

Bounded so it runs in about two to three minutes on two cores, with the stack's memory well
under 1 GB (docs/decisions.md, "How is the fuzz run bounded?"):
- the admin key, which may call everything, gets every phase: the schema's examples, the
  coverage phase (each constraint's boundaries, each way to break it, undocumented methods) and
  MAX_EXAMPLES generated cases per operation. The other roles get OTHER_ROLES_EXAMPLES generated
  cases per operation only: the coverage phase checks validation, which is the same for every
  role (and a role that may not call the operation is refused before any validation), at 90%
  of the cases.
- a results report's bodies keep at most MAX_ITEMS results: every failed result of a new
  scenario is a draft, a ticket workflow (a Step Functions execution) and a dozen stream
  records, all of which moto keeps in memory; the coverage phase's 1,000-result boundary cases
  drove the stack past 10 GB. The 1,000/1,001 boundary itself is a unit test's.

The signed endpoints (Jira webhook, Slack interactions) carry no valid signature here: the
document declares their signature headers as security schemes, so their 401 is expected
(positive data acceptance counts 401/403 as an acceptable answer to a well-formed request).
The approval links' tokens are random here: 403 (forged), in HTML, as documented."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig

OPENAPI = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"
MAX_EXAMPLES = 8  # generated cases per operation, for the admin key (the fuzzing phase)
OTHER_ROLES_EXAMPLES = 5  # per operation, for each other role
MAX_ITEMS = 20  # results per generated report (see the module docstring)
BOUNDED_ITEMS = {"POST /v1/projects/{project}/results"}
PROJECT = "DEMO"  # the local stack's project (checked below)
TEXT_MEDIA = {"text/csv", "application/csv", "text/plain", "application/xml", "text/xml"}

# Where a schema-valid request may still be refused, for a reason JSON Schema cannot say: for
# these operations the positive-data-acceptance check also accepts that refusal's status (and
# still fails on any other: a 5xx, a 400 where only a 422 is documented...); every other check
# runs as for the rest.
POSITIVE_DATA_NEEDS_STATE: dict[str, tuple[list[str], str]] = {
    "put_jira_mapping": (
        ["422"],
        "the Jira project key must exist in Jira (422 naming it otherwise)",
    ),
    "report_junit": (["400"], "the body must be a JUnit XML report (400 saying why otherwise)"),
    "report_any": (
        ["400"],
        "the body must be a report in a supported format (400 saying why otherwise)",
    ),
    "preview_mapping": (
        ["400", "422"],
        "the body must be a JUnit XML report (400), its rules set something each (422)",
    ),
    "import_test_cases": (["422"], "the body must be a CSV file with a header row (422 otherwise)"),
    "put_mapping": (["422"], "a rule must set at least one of testCase, scenario, module (422)"),
    "list_tickets": (["400"], "`cursor` must be one the API issued (400 otherwise)"),
    "list_test_cases": (["400"], "`cursor` must be one the API issued (400 otherwise)"),
    "list_requirements": (["400"], "`cursor` must be one the API issued (400 otherwise)"),
    "coverage": (["400"], "`cursor` must be one the API issued (400 otherwise)"),
    "create_test_case": (
        ["400", "422"],
        "a new test case needs its testCaseId (the body's, optional in PUT)",
    ),
    "update_test_case": (
        ["412"],
        "If-Match must name the test case's current version (412 otherwise)",
    ),
    "delete_test_case": (
        ["412"],
        "If-Match must name the test case's current version (412 otherwise)",
    ),
    "create_page_link": (["422"], "a run or ticket page needs the id of one (422 otherwise)"),
    "request_report": (["422"], "a period's dates must be calendar dates, start before end (422)"),
    "validate_gates": (["422"], "exactly one of `gates` and `gate` (a saved gate's name) (422)"),
    "save_gate": (["422"], "a gate's metric must be one the metrics report has (422 naming them)"),
    "approval_decide": (
        ["400"],
        "at most 10 form fields, a repeated name counting each time (400)",
    ),
    "put_quarantine": (
        ["422"],
        "the scenario must exist (404) and `until` be a future date-time (422)",
    ),
    "end_quarantine": ([], "the scenario must have a quarantine in force (404 otherwise)"),
    "put_flaky_settings": (
        ["422"],
        "minExecutions must not exceed the window, saved or given (422)",
    ),
    "read_audit": (
        ["400", "422"],
        "`from`/`to` must be dates or date-times, `cursor` one the API issued",
    ),
    "list_environments": (["400"], "`cursor` must be one the API issued (400 otherwise)"),
    "environment_snapshots": (["400"], "`cursor` must be one the API issued (400 otherwise)"),
    "list_runs": (["400"], "`cursor` must be one the API issued (400 otherwise)"),
    "list_plans": (["400"], "`cursor` must be one the API issued (400 otherwise)"),
    "create_run": (
        ["422"],
        "a run names test cases that exist, directly or through its plan (422)",
    ),
    "create_plan": (["422"], "an exit criterion's metric must be one the metrics report has (422)"),
    "update_plan": (["422"], "a planId in the body must be the path's (422 otherwise)"),
    "reserve_environment": (
        ["422"],
        "from/to must be real date-times from 1970 to 2999, with a zone (422)",
    ),
    "list_reservations": (
        ["422"],
        "from/to must be real date-times from 1970 to 2999, with a zone (422)",
    ),
}
# What the check accepts by default (schemathesis 4.32), to which an operation adds its refusal.
POSITIVE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
REFUSALS = ["400", "401", "403", "404", "405", "409", "412", "413", "415", "422", "429"]

counts: collections.Counter[str] = collections.Counter()
statuses: collections.Counter[int] = collections.Counter()
per_operation: collections.Counter[str] = collections.Counter()


def _schema(phases: dict[str, Any], max_examples: int) -> Any:
    # Loaded eagerly: schemathesis.pytest.from_fixture (lazy loading) reads a pytest node
    # attribute pytest 9 no longer has. The stack's URL is given per call instead.
    loaded = schemathesis.openapi.from_path(
        OPENAPI,
        config=SchemathesisConfig.from_dict(
            {
                "parameters": {"project": PROJECT},
                # The API ignores query parameters it does not know (as most HTTP APIs do),
                # so an unknown one is not "invalid data" that it should refuse.
                "generation": {
                    "max-examples": max_examples,
                    "database": "none",
                    "allow-extra-parameters": False,
                },
                "phases": phases,
                "checks": {
                    # 413 is how this API refuses a size above a documented maximum; 412 an
                    # If-Match that names another version.
                    "negative_data_rejection": {"expected-statuses": REFUSALS},
                },
                "operations": [
                    {
                        "include-operation-id": operation_id,
                        "checks": {
                            "positive_data_acceptance": {
                                "expected-statuses": POSITIVE_DEFAULT + refused
                            }
                        },
                    }
                    for operation_id, (refused, _why) in POSITIVE_DATA_NEEDS_STATE.items()
                ],
            }
        ),
    )

    @loaded.hook
    def filter_case(context: Any, case: Any) -> bool:
        """Bodies of the bounded operations keep at most MAX_ITEMS items in any array. A text
        body (CSV, XML) that is "not a string" is left out: sent, it is text all the same
        (`{}` is a CSV file with one column), so it violates nothing."""
        if case.media_type in TEXT_MEDIA and not isinstance(case.body, str | bytes):
            return False
        if context.operation is None or context.operation.label not in BOUNDED_ITEMS:
            return True
        return _longest_array(case.body) <= MAX_ITEMS

    return loaded


def _longest_array(value: Any) -> int:
    if isinstance(value, list):
        return max([len(value), *(_longest_array(v) for v in value)])
    if isinstance(value, dict):
        return max([0, *(_longest_array(v) for v in value.values())])
    return 0


every_phase = _schema({}, MAX_EXAMPLES)
generated_only = _schema(
    {"examples": {"enabled": False}, "coverage": {"enabled": False}}, OTHER_ROLES_EXAMPLES
)


def _memory_mb(pid: int) -> dict[str, float]:
    """The stack process's resident memory now and at its peak, from /proc (Linux)."""
    found: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    found[name] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found


@pytest.fixture(scope="module", autouse=True)
def summary(stack: dict[str, Any]) -> Iterator[None]:
    assert stack["project"] == PROJECT
    started = time.monotonic()
    yield
    memory = _memory_mb(stack["pid"])
    print(
        f"\nfuzz: {counts['cases']} cases in {time.monotonic() - started:.0f} s "
        f"({', '.join(f'{role} {counts[role]}' for role in ROLES)}); stack memory "
        f"{memory.get('VmRSS', 0):.0f} MB, peak {memory.get('VmHWM', 0):.0f} MB; statuses "
        + ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
        + "\nfuzz cases per operation: "
        + ", ".join(f"{label} {n}" for label, n in sorted(per_operation.items()))
    )


def _as(role: str, schema: Any) -> Any:
    """The test, with one role's key (the eager schema takes no pytest parameters of its own)."""

    @pytest.mark.e2e
    @schema.parametrize()
    # record_property only appends to the test's report: sharing it across cases is safe. No
    # shrinking: a failing case is reported as found (shrinking one re-sends it many times). The
    # bounded results reports filter out many generated bodies, by design (filter_case).
    @hypothesis.settings(
        suppress_health_check=[
            hypothesis.HealthCheck.function_scoped_fixture,
            hypothesis.HealthCheck.filter_too_much,
        ],
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    def test(case: Any, stack: dict[str, Any], record_property: Any) -> None:
        counts["cases"] += 1
        counts[role] += 1
        per_operation[case.operation.label] += 1
        answered: list[int] = []  # the case's own answer first, then the checks' re-sends
        session = requests.Session()
        session.hooks["response"].append(lambda r, *args, **kwargs: answered.append(r.status_code))
        try:
            case.call_and_validate(
                base_url=stack["api"],
                headers={"Authorization": f"Bearer {stack['keys'][role]}"},
                session=session,
                timeout=30,
            )
        finally:
            if answered:
                statuses[answered[0]] += 1
                # counted in tests/conftest.py, printed at the end of the run (xdist or not)
                record_property("fuzz", (role, case.operation.label, answered[0]))

    test.__name__ = f"test_the_api_does_what_its_openapi_document_says_as_{role}"
    return test


ROLES = ("admin", "lead", "tester", "ci", "viewer")
test_as_admin = _as("admin", every_phase)
test_as_lead = _as("lead", generated_only)
test_as_tester = _as("tester", generated_only)
test_as_ci = _as("ci", generated_only)
test_as_viewer = _as("viewer", generated_only)
