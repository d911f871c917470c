"""(b) AWS API calls per reported failure, through the API (auth included), against moto
in-process. Counted with botocore's `before-call` event on every boto3 client of the app's
container (the store's DynamoDB client is one of them). Targets: a failure that opens a new draft
<= 5 calls, a failure that merges into it <= 2. Warm: the API-key and project caches are filled by
a warm-up request first; a cold container adds one BatchGetItem of the key and the project.
Warm, the test cases' versions and planned runs come with the cached project item
(docs/decisions.md, "A merged failure is two calls")."""

from __future__ import annotations

import json
import uuid
from typing import Any

from bench._support import CallCounter, Tally, moto_inprocess, quiet

PROJECT = "BENCH"
TARGETS = {"new draft": 5, "merge": 2}


def _result(scenario: str, test_case: str, status: str, reporter: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scenarioId": scenario,
        "testCaseId": test_case,
        "title": "Pay by card",
        "module": "checkout",
        "status": status,
        "expected": "Order confirmed",
        "reporter": reporter,
        "durationMs": 5120,
    }
    if status == "failed":
        body["actual"] = "HTTP 500 on /pay"
        body["error"] = {"type": "AssertionError", "message": "expected 200, got 500"}
    return body


def _report(run_id: str, results: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "run": {"id": run_id, "name": "nightly", "ciUrl": f"https://ci.example.com/{run_id}"},
            "results": results,
        }
    )


class _Reporter:
    def __init__(self, http: Any, key: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(self, run_id: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with quiet():
            response = self.http.post(
                f"/v1/projects/{PROJECT}/results",
                headers=self.headers,
                body=_report(run_id, results),
            )
        if response.status_code != 200:
            raise RuntimeError(f"POST results: {response.status_code} {response.body!r}")
        outcomes: list[dict[str, Any]] = json.loads(response.body)["results"]
        return outcomes


def _measure(counter: CallCounter, reporter: _Reporter, rounds: int) -> dict[str, list[Tally]]:
    """Per round: a new scenario fails (new draft), fails again (merge), and another passes."""
    out: dict[str, list[Tally]] = {"new draft": [], "merge": [], "pass": []}
    for n in range(rounds):
        uid = uuid.uuid4().hex[:8]
        scenario = f"checkout.bench-{uid}"
        with counter.counting() as calls:
            first = reporter.post(f"run-{uid}-1", [_result(scenario, "TC-1", "failed", "a@x.io")])
        ticket = first[0]["ticket"]
        if not ticket or ticket["merged"]:
            raise RuntimeError(f"round {n}: expected a new draft, got {first}")
        out["new draft"].append(calls)
        with counter.counting() as calls:
            second = reporter.post(f"run-{uid}-2", [_result(scenario, "TC-2", "failed", "b@x.io")])
        merged = second[0]["ticket"]
        if not merged or not merged["merged"] or merged["id"] != ticket["id"]:
            raise RuntimeError(f"round {n}: expected a merge into {ticket['id']}, got {second}")
        out["merge"].append(calls)
        with counter.counting() as calls:
            passing = _result(f"{scenario}.ok", "TC-3", "passed", "c@x.io")
            third = reporter.post(f"run-{uid}-3", [passing])
        if third[0]["ticket"] is not None:
            raise RuntimeError(f"round {n}: a pass got a ticket: {third}")
        out["pass"].append(calls)
    return out


def main(rounds: int = 5) -> dict[str, Any]:
    from chalice.test import Client

    from chalicelib import bootstrap
    from chalicelib.domain.roles import Role

    with moto_inprocess():
        import app

        access = bootstrap.container().access
        access.create_project(PROJECT, "Benchmark", False, default_lead="lead@example.com")
        access.put_module(PROJECT, "checkout", "lead@example.com", None)
        key = access.issue_key(PROJECT, Role.CI, None, None)["key"]
        with Client(app.app) as client:
            # Cold: a fresh container (new clients, empty key and project caches).
            bootstrap.reset()
            counter = CallCounter().attach(*bootstrap.container().clients.every())
            reporter = _Reporter(client.http, key)
            cold = _measure(counter, reporter, 1)["new draft"][0]
            # Warm: the caches are filled now (and stay so for FAILBRIDGE_KEY_CACHE_SECONDS).
            warm = _measure(counter, reporter, rounds)
    figures: dict[str, Any] = {}
    print(f"AWS API calls per reported failure (moto in-process, through the API, {rounds} rounds)")
    print(f"  cold container, new draft: {cold.total} calls: {cold.by_operation()}")
    for case, samples in warm.items():
        totals = [t.total for t in samples]
        spread = f"{min(totals)}" if min(totals) == max(totals) else f"{min(totals)}-{max(totals)}"
        target = TARGETS.get(case)
        verdict = ""
        if target is not None:
            verdict = f"  (target <= {target}: {'met' if max(totals) <= target else 'NOT met'})"
        print(f"  warm, {case + ':':<10} {spread} calls{verdict}")
        print(f"      {samples[0].by_operation()}")
        figures[case] = max(totals)
    figures["cold new draft"] = cold.total
    print(
        "  cold = warm + one BatchGetItem of the API key (cached 60 s) and the project (cached"
        " FAILBRIDGE_REVOCATION_SECONDS, 5 s: one more GetItem per project per container per 5 s)"
        " + the first sighting of the test case (BatchGetItem of its head, BatchWriteItem x2:"
        " its version, then its head) + the new root cause's cluster (PutItem)"
    )
    return figures


if __name__ == "__main__":
    main()
