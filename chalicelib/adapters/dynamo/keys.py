"""Every key of the single table, built in one place. No Scan on any path.

pk                        sk                       what                    GSIs
PROJECT#{p}               PROJECT                  project settings        gsi1 PROJECTS / {p}
PROJECT#{p}               MODULE#{m}               module and its lead
SCENARIO#{p}#{s}          SCENARIO                 scenario: test cases, latest results, its
                                                   live ticket (id, status), last ended ticket
                                                   (its own partition: see docs/scale.md)
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
MAGG#{p}#{g}#{scope}      DAY#{day}                metrics: one day's counters (scope `*` or a
                                                   module)
MAGG#{p}#{g}#{scope}      SCN#{day}#{scenario}     metrics: a scenario's day (executions,
                                                   defects)
MAGG#{p}#{g}#{scope}      REQ#{day}#{requirement}  metrics: a requirement's day
MAGG#{p}#{g}#{scope}      MON#{month}              metrics: a month's change of open defects
                                                   (YYYY-MM; the defect trend counts back)
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

The metrics endpoint reads a scope's partition between `DAY#{from}` and `DAY#{to}` (and the
same for SCN#, REQ#): a Query bounded by the days of the period; the defect trend, counted
back from today's level, adds the rest of the period's last month (`DAY#`, at most 30 items)
and the months since (`MON#`, one item a month). An export reads its dirty
markers (one Query), then each dirty day's staged rows (one Query per day).
"""

from __future__ import annotations

from typing import Any

Key = dict[str, str]


def project(p: str) -> Key:
    return {"pk": f"PROJECT#{p}", "sk": "PROJECT"}


PROJECTS_INDEX = "PROJECTS"


def module(p: str, m: str) -> Key:
    return {"pk": f"PROJECT#{p}", "sk": f"MODULE#{m}"}


MODULE_PREFIX = "MODULE#"


def scenario(p: str, s: str) -> Key:
    return {"pk": f"SCENARIO#{p}#{s}", "sk": "SCENARIO"}


def legacy_scenario_prefix() -> str:
    """Before `rekey`: scenarios lived in the project's partition under this sort key prefix."""
    return "SCENARIO#"


def knowledge(p: str, s: str, ticket_id: str) -> Key:
    return {"pk": f"PROJECT#{p}", "sk": f"KB#{s}#{ticket_id}"}


def knowledge_prefix(s: str) -> str:
    return f"KB#{s}#"


def project_partition(p: str) -> str:
    return f"PROJECT#{p}"


def api_key(key_hash: str) -> Key:
    return {"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"}


def api_keys_index(p: str) -> str:
    return f"PROJECT#{p}#KEYS"


def clusters_partition(p: str) -> str:
    return f"CLUSTERS#{p}"


CLUSTER_PREFIX = "CLUSTER#"
CLUSTER_LABEL_PREFIX = "LABEL#"


def cluster(p: str, cluster_id: str) -> Key:
    return {"pk": clusters_partition(p), "sk": f"{CLUSTER_PREFIX}{cluster_id}"}


def cluster_label(p: str, label_id: str) -> Key:
    return {"pk": clusters_partition(p), "sk": f"{CLUSTER_LABEL_PREFIX}{label_id}"}


def ticket(ticket_id: str) -> Key:
    return {"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}


def ticket_partition(ticket_id: str) -> str:
    return f"TICKET#{ticket_id}"


def ticket_indexes(item: dict[str, Any]) -> dict[str, str]:
    """gsi1: a project's tickets of one status, by age; gsi2: a scenario's tickets by age."""
    return {
        **ticket_status_index(item["project"], item["status"], item["createdAt"], item["id"]),
        "gsi2pk": scenario_tickets_index(item["project"], item["scenarioId"]),
        "gsi2sk": f"{item['createdAt']}#{item['id']}",
    }


def tickets_index(p: str, status: str) -> str:
    """One gsi1 partition per project and status: a status change moves the ticket between
    two of them, and no partition holds every ticket of a project."""
    return f"PROJECT#{p}#TICKETS#{status}"


def legacy_tickets_index(p: str) -> str:
    """Before `rekey`: every ticket of a project in one gsi1 partition (`status#createdAt#id`)."""
    return f"PROJECT#{p}#TICKETS"


def ticket_status_index(p: str, status: str, created_at: str, ticket_id: str) -> dict[str, str]:
    """The gsi1 key of a ticket in `status`: what a status change sets."""
    return {"gsi1pk": tickets_index(p, status), "gsi1sk": f"{created_at}#{ticket_id}"}


def scenario_tickets_index(p: str, s: str) -> str:
    return f"SCENARIO#{p}#{s}"


def attachment(ticket_id: str, attachment_id: str) -> Key:
    return {"pk": f"TICKET#{ticket_id}", "sk": f"ATTACH#{attachment_id}"}


ATTACHMENT_PREFIX = "ATTACH#"


def run(p: str, run_id: str) -> Key:
    return {"pk": f"RUN#{p}#{run_id}", "sk": "RUN"}


def execution(p: str, run_id: str, test_case_id: str, attempt: int) -> Key:
    return {"pk": f"RUN#{p}#{run_id}", "sk": f"EXEC#{test_case_id}#{attempt:04d}"}


EXECUTION_PREFIX = "EXEC#"


def occurrence_index(ticket_id: str, at: str, execution_id: str) -> dict[str, str]:
    return {"gsi1pk": f"TICKET#{ticket_id}", "gsi1sk": f"{at}#{execution_id}"}


def upload(upload_id: str) -> Key:
    return {"pk": f"UPLOAD#{upload_id}", "sk": "UPLOAD"}


def nonce(value: str) -> Key:
    return {"pk": f"NONCE#{value}", "sk": "USED"}


def outbox(lead: str, at: str, ticket_id: str) -> Key:
    return {"pk": f"OUTBOX#{lead}", "sk": f"{at}#{ticket_id}"}


def outbox_partition(lead: str) -> str:
    return f"OUTBOX#{lead}"


def digest_window(lead: str) -> Key:
    return {"pk": f"DIGEST#{lead}", "sk": "WINDOW"}


def jira_issue(jira_key: str) -> Key:
    return {"pk": f"JIRA#{jira_key}", "sk": "TICKET"}


def delivery(identifier: str) -> Key:
    return {"pk": f"DELIVERY#{identifier}", "sk": "JIRA"}


def circuit(site: str) -> Key:
    return {"pk": f"CIRCUIT#{site}", "sk": "JIRA"}


def delayed(lead: str) -> Key:
    return {"pk": f"DELAYED#{lead}", "sk": "EPISODE"}


def notice(notice_id: str) -> Key:
    return {"pk": f"NOTICE#{notice_id}", "sk": "SENT"}


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


def entity_of(pk: str, sk: str) -> str:
    """What an item is, from its key: the change stream reads this."""
    if pk.startswith("TICKET#") and sk == "TICKET":
        return "ticket"
    if pk.startswith("RUN#") and sk.startswith("EXEC#"):
        return "execution"
    if pk.startswith("SCENARIO#") and sk == "SCENARIO":
        return "scenario"
    return "other"


def gate(p: str, name: str) -> Key:
    return {"pk": f"PROJECT#{p}", "sk": f"GATE#{name}"}


def metrics_generation(p: str) -> Key:
    return {"pk": f"METRICS#{p}", "sk": "GEN"}


def metrics_partition(p: str, generation: str, scope: str) -> str:
    return f"MAGG#{p}#{generation}#{scope}"


METRICS_KINDS = {"day": "DAY", "mon": "MON", "scn": "SCN", "req": "REQ"}


def metrics_bucket(p: str, generation: str, bucket: tuple[str, ...]) -> Key:
    """A `domain.metrics` bucket key: (day, scope, day), (mon, scope, month), (scn|req, scope,
    day, id), (gauge, scope)."""
    kind, scope = bucket[0], bucket[1]
    pk = metrics_partition(p, generation, scope)
    if kind == "gauge":
        return {"pk": pk, "sk": "GAUGE"}
    return {"pk": pk, "sk": "#".join((METRICS_KINDS[kind], *bucket[2:]))}


def metrics_state(p: str, generation: str, key: tuple[str, ...]) -> Key:
    return {"pk": f"MSTATE#{p}#{generation}#" + "#".join(key), "sk": "STATE"}


def metrics_event(p: str, generation: str, event_id: str) -> Key:
    return {"pk": f"MEVENT#{p}#{generation}#{event_id}", "sk": "APPLIED"}


def export_rows(p: str, dataset: str, day: str) -> str:
    return f"EXPROW#{p}#{dataset}#{day}"


def export_row(p: str, dataset: str, day: str, row_key: str) -> Key:
    return {"pk": export_rows(p, dataset, day), "sk": row_key}


def export_dirty_partition(p: str) -> str:
    return f"EXPDIRTY#{p}"


def export_dirty(p: str, dataset: str, day: str) -> Key:
    return {"pk": export_dirty_partition(p), "sk": f"{dataset}#{day}"}


def export_parts_partition(p: str) -> str:
    return f"EXPPART#{p}"


def export_part(p: str, dataset: str, day: str) -> Key:
    return {"pk": export_parts_partition(p), "sk": f"{dataset}#{day}"}


def export_job(p: str, export_id: str) -> Key:
    return {"pk": f"EXPJOB#{p}", "sk": export_id}


def result_strip(p: str, s: str) -> str:
    return f"SRES#{p}#{s}"


def activity(p: str, day: str) -> str:
    return f"ACT#{p}#{day}"


def look_alike_bucket(p: str, error_type: str) -> str:
    return f"ALIKE#{p}#{error_type[:100] or '-'}"


def report(p: str, report_id: str) -> Key:
    return {"pk": f"REPORT#{p}", "sk": report_id}


def report_schedule(p: str, name: str) -> Key:
    return {"pk": f"PROJECT#{p}", "sk": f"RSCHED#{name}"}


REPORT_SCHEDULES_INDEX = "RSCHEDULES"


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


def audit_log(p: str) -> str:
    return f"AUDIT#{p}"


def audit_entry(p: str, at: str, write_id: str) -> Key:
    return {"pk": audit_log(p), "sk": f"{at}#{write_id}"}


# What the audit does not record: what the change stream's readers derive (metrics, exports,
# pages, coverage, the audit itself), the plumbing of deliveries and notifications, and the
# parts of a write recorded with their whole (a test case's version, an environment's snapshot).
# Every other item is audited, so an item a new feature adds is audited unless listed here.
_NOT_AUDITED_PARTITIONS = (
    "MAGG#",
    "MSTATE#",
    "MEVENT#",
    "METRICS#",
    "EXPROW#",
    "EXPDIRTY#",
    "EXPPART#",
    "SRES#",
    "ACT#",
    "ALIKE#",
    "AUDIT#",
    "NONCE#",
    "DELIVERY#",
    "CIRCUIT#",
    "NOTICE#",
    "DIGEST#",
    "OUTBOX#",
    "DELAYED#",
    "JIRA#",
    "TESTCASE#",
    "ENVSNAP#",
    "SCOPE#",
)


def audited(pk: str, sk: str) -> bool:
    if pk.startswith(_NOT_AUDITED_PARTITIONS):
        return False
    if pk.startswith("SCENARIO#") and sk == "SCENARIO":
        return False  # a scenario's latest results: the executions and tickets say it
    if pk.startswith("PROJECT#") and sk.startswith("SCENARIO#"):
        return False  # the same, before `rekey` moved scenarios to their own partitions
    if pk.startswith("TESTCASES#") and sk.startswith("MODULE#"):
        return False  # module counters, from the change stream
    if pk.startswith("REQS#") and ("#TC#" in sk or sk == "SYNC"):
        return False  # coverage links, from the change stream; the sync marker
    if pk.startswith("ENVRES#") and sk.startswith("ID#"):
        return False  # a reservation's lookup by id
    if pk.startswith("RUN#") and sk.startswith(("EXEC#", "PROG#")):
        # an execution is its own record (run, reporter, at: never edited), and the report's
        # write of its run is audited; an entry per execution doubled a large report's writes.
        # A planned run's progress buckets are counters its results move.
        return False
    if pk.startswith("FLAKY#") and sk.startswith("TC#"):
        return False  # a test case's recent outcomes, from the change stream (quarantines are)
    return bool(pk)


def audit_target(pk: str, sk: str, item: dict[str, Any]) -> tuple[str, str]:
    """(kind, id) of an audited item, for people reading the audit."""
    head, _, rest = pk.partition("#")
    kinds = {
        ("PROJECT", "PROJECT"): ("project", rest),
        ("PROJECT", "MODULE"): ("module", sk.partition("#")[2]),
        ("PROJECT", "GATE"): ("quality_gate", sk.partition("#")[2]),
        ("PROJECT", "RSCHED"): ("report_schedule", sk.partition("#")[2]),
        ("PROJECT", "KB"): ("knowledge", sk.rpartition("#")[2]),
        ("APIKEY", "APIKEY"): ("api_key", str(item.get("keyId") or "")),
        ("TICKET", "TICKET"): ("ticket", rest),
        ("TICKET", "ATTACH"): ("attachment", sk.partition("#")[2]),
        ("RUN", "RUN"): ("run", rest.partition("#")[2]),
        ("RUN", "EXEC"): ("execution", str(item.get("executionId") or sk)),
        ("UPLOAD", "UPLOAD"): ("upload", rest),
        ("TESTCASES", "CASE"): ("test_case", sk.partition("#")[2]),
        ("REQS", "REQ"): ("requirement", sk.partition("#")[2]),
        ("ENV", "ENV"): ("environment", sk.partition("#")[2]),
        ("ENVRES", "AT"): ("reservation", str(item.get("reservationId") or sk)),
    }
    found = kinds.get((head, sk.partition("#")[0]))
    if found:
        return found
    if head == "REPORT":
        return ("report", sk)
    if head == "EXPJOB":
        return ("export", sk)
    return (head.lower() or "item", f"{pk}/{sk}")


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
