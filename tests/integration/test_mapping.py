"""A project's report mapping (rules, preview) and its default lead, through the API with moto."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3

from chalicelib import bootstrap
from chalicelib.handlers import handle_upload_events
from tests.integration.conftest import Demo, report, result
from tests.integration.test_decisions import form, links, notify, path, ticket_of
from tests.integration.test_drafts import s3_notification

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"
PYTEST_REAL = (FIXTURES / "pytest-real.xml").read_bytes()
RULES = [
    {"match": {"field": "classname", "prefix": "tests.search."}, "set": {"module": "search"}},
    {
        "match": {"field": "classname", "regex": r"^tests\.(?P<area>\w+)\."},
        "set": {"module": "{area}"},
    },
]


def put_mapping(api: Any, demo: Demo, body: dict[str, Any], role: str = "admin") -> Any:
    return api.put("/v1/projects/DEMO/mapping", headers=demo.auth(role), body=json.dumps(body))


def drafts(api: Any, demo: Demo) -> list[dict[str, Any]]:
    response = api.get("/v1/projects/DEMO/tickets?status=draft", headers=demo.auth("viewer"))
    return list(response.json_body["items"])


def test_rules_are_validated_on_save_naming_the_rule(api: Any, demo: Demo, aws: Any) -> None:
    bad = [*RULES, {"match": {"field": "clasname", "prefix": "x"}, "set": {"module": "m"}}]
    response = put_mapping(api, demo, {"mappingRules": bad})
    assert response.status_code == 422
    fields = {d["field"]: d["problem"] for d in response.json_body["error"]["details"]}
    assert "mappingRules[2].match.field" in fields
    two_operators = [{"match": {"field": "name", "prefix": "a", "regex": "b"}, "set": {}}]
    fields = {
        d["field"]
        for d in put_mapping(api, demo, {"mappingRules": two_operators}).json_body["error"][
            "details"
        ]
    }
    assert {"mappingRules[0].match", "mappingRules[0].set"} <= fields
    shape = put_mapping(api, demo, {"mappingRules": [{"when": {}, "set": {"module": "x"}}]})
    assert shape.status_code == 422
    assert shape.json_body["error"]["details"][0]["field"] == "mappingRules[0].when"
    # nothing was saved; only an admin saves or reads
    got = api.get("/v1/projects/DEMO/mapping", headers=demo.auth("admin")).json_body
    assert got == {
        "mappingRules": [],
        "defaultModule": "general",
        "defaultLead": "lead@example.com",
    }
    assert put_mapping(api, demo, {"mappingRules": RULES}, role="lead").status_code == 403
    assert api.get("/v1/projects/DEMO/mapping", headers=demo.auth("ci")).status_code == 403

    saved = put_mapping(api, demo, {"mappingRules": RULES, "defaultModule": "shop"})
    assert saved.status_code == 200, saved.json_body
    assert saved.json_body["mappingRules"] == RULES and saved.json_body["defaultModule"] == "shop"


def test_preview_shows_each_test_case_and_changes_nothing(api: Any, demo: Demo, aws: Any) -> None:
    body = json.dumps({"report": PYTEST_REAL.decode(), "mappingRules": RULES})
    response = api.post("/v1/projects/DEMO/mapping/preview", headers=demo.auth("lead"), body=body)
    assert response.status_code == 200, response.json_body
    preview = response.json_body
    assert preview["summary"] | {"modules": None} == {
        "results": 10,
        "testCases": 10,
        "scenarios": 10,
        "drafts": 3,
        "modules": None,
    }
    assert preview["summary"]["modules"] == ["checkout", "search"]
    by_case = {i["testCaseId"]: i for i in preview["items"]}
    query = by_case["tests.search.test_query::test_query_is_case_insensitive"]
    assert query | {"source": None} == {
        "source": None,
        "testCaseId": "tests.search.test_query::test_query_is_case_insensitive",
        "scenarioId": "tests.search.test_query::test_query_is_case_insensitive",
        "module": "search",
        "status": "failed",
        "attempt": 1,
        "lead": "search-lead@example.com",
        "leadIsDefault": False,
        "mappedBy": {"testCase": "default", "scenario": "default", "module": "rule[0]"},
    }
    assert query["source"] == {
        "classname": "tests.search.test_query",
        "name": "test_query_is_case_insensitive",
    }
    cart = by_case["tests.checkout.test_cart::test_pay_by_card"]
    assert (cart["module"], cart["lead"], cart["mappedBy"]["module"]) == (
        "checkout",
        "lead@example.com",
        "rule[1]",
    )

    # the XML itself: the saved rules (none yet), every module the default, its lead the default
    xml = api.post(
        "/v1/projects/DEMO/mapping/preview",
        headers=demo.auth("ci", "application/xml"),
        body=PYTEST_REAL,
    ).json_body
    assert {(i["module"], i["lead"], i["leadIsDefault"]) for i in xml["items"]} == {
        ("general", "lead@example.com", True)
    }
    # bad rules are refused as on save; viewers and testers may not preview; no key: 401
    bad = json.dumps({"report": "<testsuite/>", "mappingRules": [{"set": {"module": "{x}"}}]})
    refused = api.post("/v1/projects/DEMO/mapping/preview", headers=demo.auth("admin"), body=bad)
    assert refused.status_code == 422
    assert refused.json_body["error"]["details"][0]["field"] == "mappingRules[0].set.module"
    for role in ("viewer", "tester"):
        denied = api.post("/v1/projects/DEMO/mapping/preview", headers=demo.auth(role), body=body)
        assert denied.status_code == 403
    anonymous = api.post(
        "/v1/projects/DEMO/mapping/preview", headers={"Content-Type": "application/json"}, body=body
    )
    assert anonymous.status_code == 401
    # a preview writes nothing
    assert drafts(api, demo) == []
    assert (
        api.get("/v1/projects/DEMO/mapping", headers=demo.auth("admin")).json_body["mappingRules"]
        == []
    )


def test_saved_rules_apply_to_junit_posts_and_uploads(api: Any, demo: Demo, aws: Any) -> None:
    assert put_mapping(api, demo, {"mappingRules": RULES}).status_code == 200
    posted = api.post(
        "/v1/projects/DEMO/runs/r-1/junit",
        headers=demo.auth("ci", "application/xml"),
        body=PYTEST_REAL,
    )
    assert posted.status_code == 200, posted.json_body
    opened = [o["ticket"] for o in posted.json_body["results"] if o["ticket"]]
    assert len(opened) == 3 and not any(t["merged"] for t in opened)
    modules = sorted(d["module"] for d in drafts(api, demo))
    assert modules == ["checkout", "checkout", "search"]

    upload = api.post(
        "/v1/projects/DEMO/uploads",
        headers=demo.auth("ci"),
        body=json.dumps({"run": {"id": "r-2"}, "format": "junit"}),
    ).json_body
    key = upload["fields"]["key"]
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=PYTEST_REAL)
    assert handle_upload_events(s3_notification(aws["bucket"], key, len(PYTEST_REAL))) == {
        "batchItemFailures": []
    }
    progress = api.get(
        f"/v1/projects/DEMO/uploads/{upload['uploadId']}", headers=demo.auth("viewer")
    ).json_body
    assert (progress["status"], progress["drafts"], progress["merged"]) == ("completed", 0, 3)
    # the executions keep the facts their identity came from
    executions = bootstrap.container().repos.executions
    [ticket] = [
        t for t in drafts(api, demo) if t["testCaseId"].endswith("test_query_is_case_insensitive")
    ]
    sources = {e.run_id: e.source for e in executions.occurrences(ticket["id"])}
    assert sources == {
        run: {"classname": "tests.search.test_query", "name": "test_query_is_case_insensitive"}
        for run in ("r-1", "r-2")
    }


def test_a_module_without_a_lead_asks_the_default_lead_until_it_has_one(
    api: Any, demo: Demo, aws: Any, slack: Any
) -> None:
    access = bootstrap.container().access
    access.set_defaults("DEMO", "qa-lead@example.com", None)
    ticket_id = api.post(
        "/v1/projects/DEMO/results",
        headers=demo.auth("ci"),
        body=report([result(module="payments", scenarioId="payments.refund")]),
    ).json_body["results"][0]["ticket"]["id"]
    notify(aws)
    [message] = slack.messages
    assert "Module payments has no lead" in message["body"]["text"]
    assert "default lead" in json.dumps(message["body"]["blocks"])
    [first] = links(slack)
    assert api.get(path(first["approve"])).status_code == 200  # the default lead may decide

    # a lead for the module, added later, takes over: the next reminder goes to them, and the
    # default lead's link no longer decides
    access.put_module("DEMO", "payments", "pay-lead@example.com", "U0PAY")
    decisions = bootstrap.container().decisions
    before = len(slack.messages)
    decisions.awaiting(ticket_id, "a-stale-task-token", 1, int(time.time()) + 3600)
    reminder = slack.messages[before:]
    assert len(reminder) == 1 and reminder[0]["body"]["text"].startswith("Reminder")
    assert "no lead" not in json.dumps(reminder[0]["body"])
    assert api.post(path(first["approve"]), **form("approve")).status_code == 403
    new_link = links(slack)[-1]
    decided = api.post(path(new_link["approve"]), **form("approve"))
    assert decided.status_code == 200
    assert ticket_of(api, demo, ticket_id)["history"][-1]["by"] == "pay-lead@example.com"


def test_a_junit_failure_with_no_module_is_decided_by_the_default_lead(
    api: Any, demo: Demo, aws: Any
) -> None:
    xml = (
        b'<testsuite name="pytest"><testcase classname="tests.test_six" name="test_move">'
        b'<failure message="boom">trace</failure></testcase></testsuite>'
    )
    posted = api.post(
        "/v1/projects/DEMO/runs/r-9/junit", headers=demo.auth("ci", "application/xml"), body=xml
    ).json_body
    ticket_id = posted["results"][0]["ticket"]["id"]
    ticket = ticket_of(api, demo, ticket_id)
    assert (ticket["module"], ticket["scenarioId"]) == ("general", "tests.test_six::test_move")
    decided = api.post(
        f"/v1/tickets/{ticket_id}/decision",
        headers=demo.auth("lead"),  # lead@example.com: DEMO's default lead
        body=json.dumps({"decision": "reject", "reason": "a test bug"}),
    )
    assert decided.status_code == 200, decided.json_body


def test_reidentify_applies_new_rules_to_past_executions_in_place_and_leaves_tickets_alone(
    api: Any, demo: Demo, aws: Any
) -> None:
    """Rules changed after a run: `reidentify` re-derives the run's executions only when asked
    (dry run first), keeps each execution's key and id, and never touches one of a ticket."""
    from chalicelib.services.reidentify import reidentify

    posted = api.post(
        "/v1/projects/DEMO/runs/r-7/junit",
        headers=demo.auth("ci", "application/xml"),
        body=PYTEST_REAL,
    )
    assert posted.status_code == 200, posted.json_body
    c = bootstrap.container()
    before = {e.execution_id: e for e in c.repos.executions.of_run("DEMO", "r-7")}
    with_ticket = {i for i, e in before.items() if e.ticket_id}
    assert with_ticket and len(with_ticket) < len(before)

    rules = [{"match": {"field": "classname", "prefix": "tests."}, "set": {"module": "regrouped"}}]
    assert put_mapping(api, demo, {"mappingRules": rules}).status_code == 200
    c.access._projects.drop("DEMO")
    dry = reidentify(c.access, c.repos.executions, c.repos.tickets, "DEMO", runs=["r-7"])
    assert dry["applied"] is False and dry["wouldChange"] == len(before) - len(with_ticket)
    assert {e.execution_id: e.to_dict() for e in c.repos.executions.of_run("DEMO", "r-7")} == {
        i: e.to_dict() for i, e in before.items()
    }  # a dry run writes nothing

    done = reidentify(
        c.access, c.repos.executions, c.repos.tickets, "DEMO", runs=["r-7"], apply=True
    )
    assert done["changed"] == dry["wouldChange"]
    assert set(done["leftForTickets"]["tickets"]) == {before[i].ticket_id for i in with_ticket}
    after = {e.execution_id: e for e in c.repos.executions.of_run("DEMO", "r-7")}
    assert set(after) == set(before)  # same ids: changed in place, nothing added
    for execution_id, execution in after.items():
        if execution_id in with_ticket:
            assert execution.to_dict() == before[execution_id].to_dict()
        else:
            stored = execution.to_dict()
            assert stored["module"] == "regrouped"
            assert stored["previousIdentity"]["module"] != "regrouped"
