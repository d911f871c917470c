"""Keys of what the change stream's readers keep (metrics, exports, pages, audit) and of
quality gates and reports; `entity_of` and `audited` read a key (the key table:
`keys/__init__.py`)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo.keys.base import Key


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


METRICS_LEVELS = {"day": "D", "week": "W", "mon": "M"}
_METRICS_PARTS = {"c": "C", "l": "L", "scn": "S", "req": "R"}


def metrics_bucket(p: str, generation: str, bucket: tuple[str, ...]) -> Key:
    """A `domain.metrics` bucket key: (c|l, scope, level, key) -> `{D|W|M}#{key}#C|L`,
    (scn|req, scope, level, key, shard) -> `{D|W|M}#{key}#S|R#{shard}`, (trend, scope, month) ->
    `T#{month}`, (gauge, scope) -> `GAUGE`."""
    kind, scope = bucket[0], bucket[1]
    pk = metrics_partition(p, generation, scope)
    if kind == "gauge":
        return {"pk": pk, "sk": "GAUGE"}
    if kind == "trend":
        return {"pk": pk, "sk": f"T#{bucket[2]}"}
    level, key, *shard = bucket[2:]
    return {"pk": pk, "sk": "#".join((METRICS_LEVELS[level], key, _METRICS_PARTS[kind], *shard))}


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
    if pk.startswith("SCENARIO#") and (sk == "SCENARIO" or sk.startswith("LATEST#")):
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
