"""Every key of the single table, built in one place (this package: `defects`, `test_management`,
`read_models` by area; every builder re-exported here). No Scan on any path.

pk                        sk                       what                    GSIs
PROJECT#{p}               PROJECT                  project settings        gsi1 PROJECTS / {p}
                                                   (and keysGeneration,
                                                   catalogGeneration, openRuns:
                                                   what warm containers check)
PROJECT#{p}               MODULE#{m}               module and its lead
SCENARIO#{p}#{s}          SCENARIO                 scenario: last result, failing test cases,
                                                   its live ticket (id, status), last ended
                                                   ticket (its own partition: see docs/scale.md)
SCENARIO#{p}#{s}          LATEST#{tc}              a test case's latest result in the scenario
PROJECT#{p}               KB#{s}#{ticket}          knowledge: root cause and fix of a ticket
APIKEY#{sha256}           APIKEY                   API key (hashed)        gsi1 PROJECT#{p}#KEYS
                                                                           / keyId
TICKET#{id}               TICKET                   ticket                  gsi1 PROJECT#{p}#TICKETS
                                                                           #{status} / createdAt#id;
                                                                           gsi2 SCENARIO#{p}#{s} /
                                                                           createdAt#id
TICKET#{id}               ATTACH#{a}               evidence attachment
RUN#{p}#{run}             RUN                      run
RUN#{p}#{run}             EXEC#{tc}#{attempt:04d}  execution; a failure's is an occurrence
                                                   (gsi1 TICKET#{id} / at#executionId)
UPLOAD#{u}                UPLOAD                   asynchronous report upload, its progress
NONCE#{nonce}             USED                     a used approval link (TTL expiresAt)
OUTBOX#{lead}             {at}#{ticket}            a draft waiting for the lead's digest
DIGEST#{lead}             WINDOW                   the lead's open digest window (TTL)
JIRA#{key}                TICKET                   Jira issue -> ticket (webhooks name issues)
DELIVERY#{id}             JIRA                     a Jira webhook delivery applied (TTL)
CIRCUIT#{site}            JIRA                     a Jira site's circuit breaker
DELAYED#{lead}            EPISODE                  a lead's tickets an outage delays
NOTICE#{id}               SENT                     a notice told to a lead (TTL)
PROJECT#{p}               GATE#{name}              a saved quality gate
METRICS#{p}               GEN                      the metrics aggregates' current generation
MAGG#{p}#{g}#{scope}      {L}#{key}#C              metrics: counters of a block (scope `*` or a
                                                   module): L = D (key: the day), W (the ISO
                                                   week's Monday), M (the month, YYYY-MM)
MAGG#{p}#{g}#{scope}      {L}#{key}#L              metrics: the block's resolution and approval
                                                   hours (string sets, `{hours}#{tag}`)
MAGG#{p}#{g}#{scope}      {L}#{key}#S#{shard}      metrics: every scenario's counters of the
                                                   block, `x:`/`d:`/`f:{scenario}` (4 shards by
                                                   a hash of the id)
MAGG#{p}#{g}#{scope}      {L}#{key}#R#{shard}      metrics: every requirement's, `x:`/`d:`, and
                                                   the set `run` of those run (2 shards)
MAGG#{p}#{g}#{scope}      T#{month}                metrics: the month's day by day executions
                                                   by status and open-defect change (trends)
MAGG#{p}#{g}#{scope}      GAUGE                    metrics: current levels (open defects, ...)
MSTATE#{p}#{g}#{what}     STATE                    the metrics reader's state: a ticket's
                                                   facts, first sight of a run / test case /
                                                   requirement
MEVENT#{p}#{g}#{event}    APPLIED                  a change event counted (TTL expiresAt)
EXPROW#{p}#{dataset}#{day} {row key}               exports: a row staged by the change stream
                                                   (executions, ticket_events; tickets: a
                                                   pointer, the ticket is read when written)
EXPDIRTY#{p}              {dataset}#{day}          exports: a day partition to write again
                                                   (token: cleared only if unchanged)
EXPPART#{p}               {dataset}#{day}          exports: a day object written (its key):
                                                   the manifest names these
EXPJOB#{p}                {exportId}               an export run and its outcome
TESTCASES#{p}             CASE#{tc}                test case: its current version, deleted flag,
                                                   last execution
TESTCASES#{p}             MODULE#{m}               module counters: testCases, executed, passed
TESTCASE#{p}#{tc}         V#{version:06d}          one immutable version of a test case
REQS#{p}                  REQ#{r}                  requirement or story (Jira key or our own id)
REQS#{p}                  REQ#{r}#TC#{tc}          coverage link: the test case's last result,
                                                   overall and per release/sprint (`in`)
REQS#{p}                  SYNC                     the last sync of stories from Jira
SCOPE#{p}#{kind}#{name}   REQ#{r}                  a story in a release (fixVersion) or sprint
SRES#{p}#{s}              {at}#{executionId}       pages: a scenario's recent results (the
                                                   strip), from the change stream (TTL)
ACT#{p}#{day}             {at}#{eventId}           pages: a day's activity (tickets opened and
                                                   moved), from the change stream (TTL)
ALIKE#{p}#{errorType}     {createdAt}#{ticket}     pages: a live ticket in its error type's
                                                   bucket (title, message: what look-alikes
                                                   compare), from the change stream
REPORT#{p}                {reportId}               a report: its request, status, object key
PROJECT#{p}               RSCHED#{name}            a report schedule (gsi1 RSCHEDULES / {p}#{name})
CLUSTERS#{p}              CLUSTER#{clusterId}      a root cause across scenarios: its drafts
                                                   (members), signatures (decided: TTL)
CLUSTERS#{p}              LABEL#{kind}#{sig}#{s}   a lead's split or merge, respected later

PLANS#{p}                 PLAN#{planId}            test plan: its current revision, lifecycle,
                                                   the approved revision in force
PLAN#{p}#{planId}         R#{revision:04d}         one revision of a plan (frozen once approved)
RUN#{p}#{run}             TESTRUN                  a planned run: plan, environment, assignees,
                                                   status (gsi1 PROJECT#{p}#RUNS /
                                                   status#createdAt#runId)
RUN#{p}#{run}             PROG#{bucket:04d}        a run's progress bucket: its test cases
                                                   (assignee, latest result) and counters

A run's progress is one Query of its PROG# buckets (at most MAX_RUN_CASES / 25 small items).

FLAKY#{p}#{s}             TC#{tc}                  flaky: a test case's recent outcomes (a
                                                   bounded list, from the change stream);
                                                   gsi1 FLAKY#{p} / {s}#{tc} while flaky
FLAKY#{p}#{s}             QUARANTINE               a scenario's quarantine (TTL expiresAt a
                                                   day after it ends); gsi1 FLAKY#{p} / {s}#

ENV#{p}                   ENV#{env}                environment: configuration, status,
                                                   revision, booking counter (`bookings`)
ENVSNAP#{p}#{env}         V#{revision:06d}         the environment as it was at a revision
ENVRES#{p}#{env}          AT#{from}#{reservation}  a reservation (from, to, purpose, runId)
ENVRES#{p}#{env}          ID#{reservation}         -> the reservation's sort key (by id)
AUDIT#{p}                 {at}#{writeId}           audit: one write, its actor and before/after
                                                   (TTL expiresAt), from the change stream

A project's ticket list (`GET /v1/projects/{p}/tickets`) reads the gsi1 partitions of the
statuses in their name's order (one Query for `?status=`), so the order is status, then age, as
when one partition held them all; the cursor names the status and the key within it.

A ticket page reads the scenario's strip with one Query (newest first, limit 20) and the newest
live tickets of its error type's bucket with one Query (limit 100: look-alikes); the dashboard
reads the activity of the last days, newest day first, until it has enough.

The metrics endpoint names the buckets it reads (one BatchGetItem per 100 keys): the blocks
that tile the period (whole months, whole ISO weeks, days at the edges: 30 days is ~10 blocks, a
year ~25), 8 items a block (C, L, 4 S, 2 R), the T# months from the period's first to today's
and the GAUGE. No range, no Scan. An export reads its dirty
markers (one Query), then each dirty day's staged rows (one Query per day).
"""

from chalicelib.adapters.dynamo.keys.base import Key
from chalicelib.adapters.dynamo.keys.defects import (
    ATTACHMENT_PREFIX,
    CLUSTER_LABEL_PREFIX,
    CLUSTER_PREFIX,
    EXECUTION_PREFIX,
    LATEST_PREFIX,
    MODULE_PREFIX,
    PROJECTS_INDEX,
    api_key,
    api_keys_index,
    attachment,
    circuit,
    cluster,
    cluster_label,
    clusters_partition,
    delayed,
    delivery,
    digest_window,
    execution,
    jira_issue,
    knowledge,
    knowledge_prefix,
    legacy_scenario_prefix,
    legacy_tickets_index,
    module,
    nonce,
    notice,
    occurrence_index,
    outbox,
    outbox_partition,
    project,
    project_partition,
    run,
    scenario,
    scenario_latest,
    scenario_partition,
    scenario_tickets_index,
    ticket,
    ticket_indexes,
    ticket_partition,
    ticket_status_index,
    tickets_index,
    upload,
)
from chalicelib.adapters.dynamo.keys.read_models import (
    METRICS_LEVELS,
    REPORT_SCHEDULES_INDEX,
    activity,
    audit_entry,
    audit_log,
    audit_target,
    audited,
    entity_of,
    export_dirty,
    export_dirty_partition,
    export_job,
    export_part,
    export_parts_partition,
    export_row,
    export_rows,
    gate,
    look_alike_bucket,
    metrics_bucket,
    metrics_event,
    metrics_generation,
    metrics_partition,
    metrics_state,
    report,
    report_schedule,
    result_strip,
)
from chalicelib.adapters.dynamo.keys.test_management import (
    ENVIRONMENT_PREFIX,
    PLAN_PREFIX,
    REQUIREMENT_PREFIX,
    RESERVATION_PREFIX,
    REVISION_PREFIX,
    RUN_BUCKET_PREFIX,
    TEST_CASE_PREFIX,
    VERSION_PREFIX,
    coverage_link,
    coverage_links_prefix,
    environment,
    environment_snapshot,
    environment_snapshots,
    environments_partition,
    flaky_case,
    flaky_index,
    plan,
    plan_revision,
    plan_revisions_partition,
    plans_partition,
    quarantine,
    requirement,
    requirements_partition,
    requirements_sync,
    reservation,
    reservation_pointer,
    reservations_partition,
    run_bucket,
    scope_member,
    scope_partition,
    test_case,
    test_case_module,
    test_case_version,
    test_case_versions_partition,
    test_cases_partition,
    test_run,
    test_run_index,
    test_runs_index,
)

__all__ = [
    "ATTACHMENT_PREFIX",
    "CLUSTER_LABEL_PREFIX",
    "CLUSTER_PREFIX",
    "ENVIRONMENT_PREFIX",
    "EXECUTION_PREFIX",
    "LATEST_PREFIX",
    "METRICS_LEVELS",
    "MODULE_PREFIX",
    "PLAN_PREFIX",
    "PROJECTS_INDEX",
    "REPORT_SCHEDULES_INDEX",
    "REQUIREMENT_PREFIX",
    "RESERVATION_PREFIX",
    "REVISION_PREFIX",
    "RUN_BUCKET_PREFIX",
    "TEST_CASE_PREFIX",
    "VERSION_PREFIX",
    "Key",
    "activity",
    "api_key",
    "api_keys_index",
    "attachment",
    "audit_entry",
    "audit_log",
    "audit_target",
    "audited",
    "circuit",
    "cluster",
    "cluster_label",
    "clusters_partition",
    "coverage_link",
    "coverage_links_prefix",
    "delayed",
    "delivery",
    "digest_window",
    "entity_of",
    "environment",
    "environment_snapshot",
    "environment_snapshots",
    "environments_partition",
    "execution",
    "export_dirty",
    "export_dirty_partition",
    "export_job",
    "export_part",
    "export_parts_partition",
    "export_row",
    "export_rows",
    "flaky_case",
    "flaky_index",
    "gate",
    "jira_issue",
    "knowledge",
    "knowledge_prefix",
    "legacy_scenario_prefix",
    "legacy_tickets_index",
    "look_alike_bucket",
    "metrics_bucket",
    "metrics_event",
    "metrics_generation",
    "metrics_partition",
    "metrics_state",
    "module",
    "nonce",
    "notice",
    "occurrence_index",
    "outbox",
    "outbox_partition",
    "plan",
    "plan_revision",
    "plan_revisions_partition",
    "plans_partition",
    "project",
    "project_partition",
    "quarantine",
    "report",
    "report_schedule",
    "requirement",
    "requirements_partition",
    "requirements_sync",
    "reservation",
    "reservation_pointer",
    "reservations_partition",
    "result_strip",
    "run",
    "run_bucket",
    "scenario",
    "scenario_latest",
    "scenario_partition",
    "scenario_tickets_index",
    "scope_member",
    "scope_partition",
    "test_case",
    "test_case_module",
    "test_case_version",
    "test_case_versions_partition",
    "test_cases_partition",
    "test_run",
    "test_run_index",
    "test_runs_index",
    "ticket",
    "ticket_indexes",
    "ticket_partition",
    "ticket_status_index",
    "tickets_index",
    "upload",
]
