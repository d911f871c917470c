"""Every key of the single table, built in one place. No Scan on any path.

pk                        sk                       what                    GSIs
PROJECT#{p}               PROJECT                  project settings        gsi1 PROJECTS / {p}
PROJECT#{p}               MODULE#{m}               module and its lead
PROJECT#{p}               SCENARIO#{s}             scenario: test cases, latest results, its
                                                   live ticket (id, status), last ended ticket
PROJECT#{p}               KB#{s}#{ticket}          knowledge: root cause and fix of a ticket
APIKEY#{sha256}           APIKEY                   API key (hashed)        gsi1 PROJECT#{p}#KEYS
                                                                           / keyId
TICKET#{id}               TICKET                   ticket                  gsi1 PROJECT#{p}#TICKETS
                                                                           / status#createdAt#id;
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
TESTCASES#{p}             CASE#{tc}                test case: its current version, deleted flag,
                                                   last execution
TESTCASES#{p}             MODULE#{m}               module counters: testCases, executed, passed
TESTCASE#{p}#{tc}         V#{version:06d}          one immutable version of a test case
REQS#{p}                  REQ#{r}                  requirement or story (Jira key or our own id)
REQS#{p}                  REQ#{r}#TC#{tc}          coverage link: the test case's last result,
                                                   overall and per release/sprint (`in`)
REQS#{p}                  SYNC                     the last sync of stories from Jira
SCOPE#{p}#{kind}#{name}   REQ#{r}                  a story in a release (fixVersion) or sprint
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
    return {"pk": f"PROJECT#{p}", "sk": f"SCENARIO#{s}"}


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


def ticket(ticket_id: str) -> Key:
    return {"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}


def ticket_partition(ticket_id: str) -> str:
    return f"TICKET#{ticket_id}"


def ticket_indexes(item: dict[str, Any]) -> dict[str, str]:
    """gsi1: a project's tickets by status; gsi2: a scenario's tickets by age."""
    return {
        "gsi1pk": tickets_index(item["project"]),
        "gsi1sk": ticket_status_sort(item["status"], item["createdAt"], item["id"]),
        "gsi2pk": scenario_tickets_index(item["project"], item["scenarioId"]),
        "gsi2sk": f"{item['createdAt']}#{item['id']}",
    }


def tickets_index(p: str) -> str:
    return f"PROJECT#{p}#TICKETS"


def ticket_status_sort(status: str, created_at: str, ticket_id: str) -> str:
    return f"{status}#{created_at}#{ticket_id}"


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
    if pk.startswith("PROJECT#") and sk.startswith("SCENARIO#"):
        return "scenario"
    return "other"
