"""Keys of test management: test cases and versions, requirements and scopes, environments
and reservations, flaky test cases, plans and planned runs (the key table:
`keys/__init__.py`)."""

from __future__ import annotations

from chalicelib.adapters.dynamo.keys.base import Key


def test_case(p: str, tc: str) -> Key:
    return {"pk": f"TESTCASES#{p}", "sk": f"CASE#{tc}"}


def test_cases_partition(p: str) -> str:
    return f"TESTCASES#{p}"


TEST_CASE_PREFIX = "CASE#"


def test_case_module(p: str, m: str) -> Key:
    return {"pk": f"TESTCASES#{p}", "sk": f"MODULE#{m}"}


def test_case_version(p: str, tc: str, version: int) -> Key:
    return {"pk": f"TESTCASE#{p}#{tc}", "sk": f"V#{version:06d}"}


def test_case_versions_partition(p: str, tc: str) -> str:
    return f"TESTCASE#{p}#{tc}"


VERSION_PREFIX = "V#"


def requirement(p: str, r: str) -> Key:
    return {"pk": f"REQS#{p}", "sk": f"REQ#{r}"}


def requirements_partition(p: str) -> str:
    return f"REQS#{p}"


REQUIREMENT_PREFIX = "REQ#"


def coverage_link(p: str, r: str, tc: str) -> Key:
    return {"pk": f"REQS#{p}", "sk": f"REQ#{r}#TC#{tc}"}


def coverage_links_prefix(r: str) -> str:
    return f"REQ#{r}#TC#"


def requirements_sync(p: str) -> Key:
    return {"pk": f"REQS#{p}", "sk": "SYNC"}


def scope_member(p: str, kind: str, name: str, r: str) -> Key:
    return {"pk": f"SCOPE#{p}#{kind}#{name}", "sk": f"REQ#{r}"}


def scope_partition(p: str, kind: str, name: str) -> str:
    return f"SCOPE#{p}#{kind}#{name}"


def environment(p: str, env_id: str) -> Key:
    return {"pk": f"ENV#{p}", "sk": f"ENV#{env_id}"}


def environments_partition(p: str) -> str:
    return f"ENV#{p}"


ENVIRONMENT_PREFIX = "ENV#"


def environment_snapshot(p: str, env_id: str, revision: int) -> Key:
    return {"pk": environment_snapshots(p, env_id), "sk": f"V#{revision:06d}"}


def environment_snapshots(p: str, env_id: str) -> str:
    return f"ENVSNAP#{p}#{env_id}"


def reservations_partition(p: str, env_id: str) -> str:
    return f"ENVRES#{p}#{env_id}"


RESERVATION_PREFIX = "AT#"


def reservation(p: str, env_id: str, start: str, reservation_id: str) -> Key:
    return {"pk": reservations_partition(p, env_id), "sk": f"AT#{start}#{reservation_id}"}


def reservation_pointer(p: str, env_id: str, reservation_id: str) -> Key:
    return {"pk": reservations_partition(p, env_id), "sk": f"ID#{reservation_id}"}


def flaky_case(p: str, s: str, tc: str) -> Key:
    return {"pk": f"FLAKY#{p}#{s}", "sk": f"TC#{tc}"}


def quarantine(p: str, s: str) -> Key:
    return {"pk": f"FLAKY#{p}#{s}", "sk": "QUARANTINE"}


def flaky_index(p: str) -> str:
    """gsi1: the project's flaky test cases and quarantined scenarios (a sparse index)."""
    return f"FLAKY#{p}"


def plan(p: str, plan_id: str) -> Key:
    return {"pk": f"PLANS#{p}", "sk": f"PLAN#{plan_id}"}


def plans_partition(p: str) -> str:
    return f"PLANS#{p}"


PLAN_PREFIX = "PLAN#"


def plan_revision(p: str, plan_id: str, revision: int) -> Key:
    return {"pk": f"PLAN#{p}#{plan_id}", "sk": f"R#{revision:04d}"}


def plan_revisions_partition(p: str, plan_id: str) -> str:
    return f"PLAN#{p}#{plan_id}"


REVISION_PREFIX = "R#"


def test_run(p: str, run_id: str) -> Key:
    return {"pk": f"RUN#{p}#{run_id}", "sk": "TESTRUN"}


def test_run_index(p: str, status: str, created_at: str, run_id: str) -> dict[str, str]:
    return {"gsi1pk": f"PROJECT#{p}#RUNS", "gsi1sk": f"{status}#{created_at}#{run_id}"}


def test_runs_index(p: str) -> str:
    return f"PROJECT#{p}#RUNS"


def run_bucket(p: str, run_id: str, bucket: int) -> Key:
    return {"pk": f"RUN#{p}#{run_id}", "sk": f"PROG#{bucket:04d}"}


RUN_BUCKET_PREFIX = "PROG#"
