"""reidentify's plan: what re-deriving would change, and what it leaves alone."""

from __future__ import annotations

from chalicelib.domain.mapping import ReportMapping
from chalicelib.services.reidentify import plan


def execution(n: int, **fields: object) -> dict:
    return {"executionId": f"ex_{n}", "runId": "r-1", **fields}


def test_plan_re_derives_from_source_infers_old_junit_and_leaves_tickets_and_json() -> None:
    mapping = ReportMapping.build(
        [{"match": {"field": "classname", "prefix": "tests."}, "set": {"module": "shop"}}], None
    )
    executions = [
        # recorded with source facts, already right: no change
        execution(
            1,
            scenarioId="tests.a::t",
            testCaseId="tests.a::t",
            module="shop",
            source={"classname": "tests.a", "name": "t"},
        ),
        # the old JUnit shape (scenario = classname, test case = classname.name), no ticket
        execution(2, scenarioId="tests.test_six", testCaseId="tests.test_six.test_move"),
        # the same shape, but a ticket holds it: reported, left alone
        execution(
            3, scenarioId="tests.test_six", testCaseId="tests.test_six.test_lazy", ticketId="tk_1"
        ),
        # a JSON result: no facts to re-derive from
        execution(4, scenarioId="checkout.pay-by-card", testCaseId="TC-PAY-001"),
    ]
    result = plan(executions, mapping)
    assert [(c["executionId"], c["basis"]) for c in result["changes"]] == [
        ("ex_2", "inferred"),
        ("ex_3", "inferred"),
    ]
    assert result["changes"][0]["to"] == {
        "testCaseId": "tests.test_six::test_move",
        "scenarioId": "tests.test_six::test_move",
        "module": "shop",
    }
    assert result["ticketsAffected"] == {"tk_1": ["ex_3"]}
    assert result["withoutFacts"] == 1
