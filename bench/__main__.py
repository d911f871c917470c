"""`python -m bench` (`make bench`): every benchmark in turn; `python -m bench pages grouping`
only those named. Each prints its own figures; one failing is reported and the others still run.
Fails on nothing."""

from __future__ import annotations

import importlib
import sys
import time
import traceback

BENCHMARKS = (
    ("a", "import_time", "cold import of app.py vs its library floor"),
    ("issue 9", "first_request", "first request of a fresh process vs library floor + put_item"),
    ("b", "api_calls", "AWS API calls per reported failure"),
    ("c", "junit_bulk", "10,000-testcase JUnit report vs parse + BatchWriteItem"),
    ("d", "concurrent_failures", "200 concurrent failures of one scenario on the local stack"),
    ("issue 3", "approval_latency", "report -> Slack, approve -> approved on the local stack"),
    ("issue 4", "jira_calls", "Jira HTTP calls per approved ticket vs the minimum, approve -> key"),
    ("issue 5", "feedback_latency", "Jira transition -> scenario ready_for_retest"),
    ("issue 9", "junit_upload", "100,000-testcase JUnit upload: each invocation vs the template"),
    ("issue 9", "digest_fanout", "5,000 drafts for one lead: one digest per window, none lost"),
    ("issue 9", "ticket_scale", "10,000 occurrences, 5,000 drafts listed, 1,000 failures POSTed"),
    ("issue 9", "stack_upload", "10,000-case JUnit upload on the local stack: seconds, memory"),
    ("issue 11", "metrics_exports", "metrics endpoint, change-stream consumer, one day's export"),
    ("issue 11", "metrics_stack", "metrics endpoint and stream consumer on the local stack"),
    ("issue 13", "test_management", "50,000-row import; coverage of 5,000 x 50,000"),
    ("issue 15", "report_formats", "cases/s and peak memory per report format, 10,000 cases"),
    ("issue 15", "cli_report", "failbridge report of 10,000 cases on the local stack, end to end"),
    ("issue 12", "pages", "page p95 for a project with 20,000 tickets"),
    ("issue 16", "grouping", "root-cause grouping B-cubed P/R/F1 vs 3 baselines, signatures/s"),
    ("issue 14", "reservations", "200 concurrent overlapping reservations: one winner per slot"),
    ("issue 16", "flaky", "flaky detection across runs: precision and recall, generated"),
    ("issue 14", "manual_runs", "50 testers recording 2,000 manual results into one run"),
)


def main(only: list[str]) -> int:
    unknown = set(only) - {name for _, name, _ in BENCHMARKS}
    if unknown:
        print(f"no benchmark {', '.join(sorted(unknown))}; there are:")
        for label, name, what in BENCHMARKS:
            print(f"  {name:<22} ({label}) {what}")
        return 2
    failed = []
    for label, name, what in BENCHMARKS:
        if only and name not in only:
            continue
        print(f"\n=== ({label}) bench.{name}: {what}", flush=True)
        started = time.monotonic()
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception:
            failed.append(name)
            print(f"bench.{name} failed:")
            traceback.print_exc()
        print(f"--- bench.{name}: {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
