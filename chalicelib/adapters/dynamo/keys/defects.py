"""Keys of the defect flow: projects and modules, scenarios, knowledge, API keys, clusters,
tickets and attachments, runs and executions, uploads, approvals and digests, Jira plumbing
(the key table: `keys/__init__.py`)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo.keys.base import Key


def project(p: str) -> Key:
    return {"pk": f"PROJECT#{p}", "sk": "PROJECT"}


PROJECTS_INDEX = "PROJECTS"


def module(p: str, m: str) -> Key:
    return {"pk": f"PROJECT#{p}", "sk": f"MODULE#{m}"}


MODULE_PREFIX = "MODULE#"


def scenario(p: str, s: str) -> Key:
    return {"pk": f"SCENARIO#{p}#{s}", "sk": "SCENARIO"}


LATEST_PREFIX = "LATEST#"


def scenario_latest(p: str, s: str, tc: str) -> Key:
    """A test case's latest result, in its scenario's partition."""
    return {"pk": f"SCENARIO#{p}#{s}", "sk": f"{LATEST_PREFIX}{tc}"}


def scenario_partition(p: str, s: str) -> str:
    return f"SCENARIO#{p}#{s}"


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
