"""Default identity per tool (on reports the tools wrote) and a project's mapping rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain.mapping import (
    CaseFacts,
    ReportMapping,
    default_test_case_id,
    identify,
    rule_problems,
)
from chalicelib.domain.results import flaky_indexes
from chalicelib.domain.statuses import ResultStatus
from chalicelib.junit import parse_junit
from chalicelib.models import ResultIn

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"


def load(name: str, mapping: ReportMapping | None = None) -> list[ResultIn]:
    return parse_junit((FIXTURES / name).read_bytes(), mapping=mapping)


def failing_scenarios(results: list[ResultIn]) -> set[str]:
    flaky = flaky_indexes(results)
    return {
        r.scenario_id
        for i, r in enumerate(results)
        if r.status is ResultStatus.FAILED and i not in flaky
    }


# --- the default identity, per tool --------------------------------------------------------------


def test_pytest_real_report_one_scenario_per_failing_test() -> None:
    results = load("pytest-real.xml")
    assert len(results) == 10
    assert failing_scenarios(results) == {
        "tests.checkout.test_cart.TestCart::test_total_with_discount[silver-0.1-95.0]",
        "tests.checkout.test_cart::test_pay_by_card",  # an error in a fixture
        "tests.search.test_query::test_query_is_case_insensitive",
    }
    assert {r.module for r in results} == {"general"}
    assert all(r.scenario_id == r.test_case_id for r in results)
    (card,) = [r for r in results if r.test_case_id.endswith("test_pay_by_card")]
    assert card.source is not None
    assert (card.source.classname, card.source.name) == (
        "tests.checkout.test_cart",
        "test_pay_by_card",
    )


def test_jest_junit_real_report_names_are_not_doubled() -> None:
    results = load("jest-junit-real.xml")
    # jest-junit writes "describe title" as both classname and name (and a leading space for a
    # test outside any describe): the test case is that text once.
    assert failing_scenarios(results) == {
        "checkout pay by card applies the gold discount",
        "checkout pay by card declines an expired card",
        "checkout shows the total with tax",
    }
    assert "empty query returns nothing" in {r.test_case_id for r in results}


def test_surefire_and_go_and_phpunit_defaults() -> None:
    # Surefire: the flaky appliesVoucherOnce (failed, then passed on a rerun) opens nothing
    assert failing_scenarios(load("surefire.xml")) == {
        "com.acme.shop.cart.CartServiceTest::loadsPricesFromCatalog",
        "com.acme.shop.cart.CartServiceTest::reservesStockConcurrently",
    }
    go = load("go-junit-report.xml")
    assert failing_scenarios(go) == {
        "github.com/acme/shop/cart::TestTotal/with_discount",
        "github.com/acme/shop/payment::[build failed]",
    }


def test_surefire_gradle_and_go_junit_report_real_defaults() -> None:
    """Reports Surefire 2.22, Gradle 4.4 and go-junit-report 2.1 wrote (make-real.sh)."""
    surefire = load("surefire-real.xml")
    assert failing_scenarios(surefire) == {  # appliesVoucherOnce passed on its rerun: flaky
        "com.acme.shop.cart.CartTest::appliesDiscount",
        "com.acme.shop.cart.CartTest::reservesStock",
    }
    assert len({r.test_case_id for r in surefire}) == 5  # reruns are attempts, not test cases
    assert failing_scenarios(load("gradle-real.xml")) == {
        "com.acme.shop.search.QueryTest::isCaseInsensitive",
        "com.acme.shop.search.QueryTest::rejectsEmptyQuery",
    }
    assert failing_scenarios(load("go-junit-report-real.xml")) == {
        "github.com/acme/shop/cart::TestTotal",  # go fails the parent of a failing subtest
        "github.com/acme/shop/cart::TestTotal/with_discount",
        "github.com/acme/shop/payment::TestRefundWhole",
    }


def test_pytest_over_six_own_suite_is_29_scenarios_not_one() -> None:
    """The issue's report: 29 failures of six's suite were one draft named after the first."""
    results = load("pytest-six.xml")
    failing = failing_scenarios(results)
    assert len(results) == 200 and len(failing) == 29
    assert "test_six::test_binary_type" in failing
    assert "test_six::test_move_items_urllib_parse[quote]" in failing
    assert {r.module for r in results} == {"general"}
    assert load("pytest-six.xml") == results  # the same report, the same identities


def test_default_test_case_id_is_normalised_and_stable() -> None:
    assert default_test_case_id("a.B", "test_x") == "a.B::test_x"
    assert default_test_case_id(" a.B ", "test  x\n") == "a.B::test x"
    assert default_test_case_id("Checkout page", "Checkout page shows") == "Checkout page shows"
    assert default_test_case_id("", "login", "Smoke") == "Smoke::login"
    assert default_test_case_id("", "") == "unnamed"
    long = default_test_case_id("c" * 150, "n" * 150)
    assert len(long) == 200 and long == default_test_case_id("c" * 150, "n" * 150)


# --- rules ---------------------------------------------------------------------------------------

RULES = [
    {"match": {"field": "classname", "prefix": "tests.checkout."}, "set": {"module": "checkout"}},
    {
        "match": {"field": "classname", "regex": r"^tests\.(?P<area>\w+)\."},
        "set": {"module": "{area}", "scenario": "{area}.{name}"},
    },
    {"match": {"field": "property:component"}, "set": {"module": "{value}"}},
    {"set": {"scenario": "{classname}"}},
]


def test_first_match_per_target_wins() -> None:
    mapping = ReportMapping.build(RULES, "misc")
    cart = identify(CaseFacts(classname="tests.checkout.test_cart", name="test_a"), mapping)
    assert (cart.module, cart.by["module"]) == ("checkout", "rule[0]")
    assert (cart.scenario_id, cart.by["scenario"]) == ("checkout.test_a", "rule[1]")
    assert (cart.test_case_id, cart.by["testCase"]) == (
        "tests.checkout.test_cart::test_a",
        "default",
    )
    search = identify(CaseFacts(classname="tests.search.test_q", name="test_b"), mapping)
    assert (search.module, search.scenario_id) == ("search", "search.test_b")
    other = identify(
        CaseFacts(classname="com.acme.X", name="t", properties={"component": "billing"}), mapping
    )
    assert (other.module, other.scenario_id) == ("billing", "com.acme.X")
    plain = identify(CaseFacts(classname="com.acme.X", name="t"), mapping)
    assert (plain.module, plain.by["module"]) == ("misc", "default")


def test_explicit_properties_beat_rules() -> None:
    mapping = ReportMapping.build(RULES, None)
    identity = identify(
        CaseFacts(classname="tests.checkout.c", name="t"),
        mapping,
        {"testCase": "TC-1", "scenario": "", "module": "payments"},
    )
    assert (identity.test_case_id, identity.module) == ("TC-1", "payments")
    assert identity.by == {"testCase": "property", "module": "property", "scenario": "rule[1]"}


def test_a_template_that_comes_out_empty_does_not_apply() -> None:
    mapping = ReportMapping.build(
        [{"match": {"field": "file"}, "set": {"module": "{file}"}}, {"set": {"module": "x"}}],
        None,
    )
    assert identify(CaseFacts(classname="a", name="b"), mapping).module == "x"


def test_rules_apply_to_a_real_report() -> None:
    mapping = ReportMapping.build(
        [
            {
                "match": {"field": "classname", "regex": r"^tests\.(?P<area>\w+)\."},
                "set": {"module": "{area}"},
            },
            {"match": {"field": "classname"}, "set": {"scenario": "{classname}"}},
        ],
        None,
    )
    results = load("pytest-real.xml", mapping)
    assert {r.module for r in results} == {"checkout", "search"}
    assert failing_scenarios(results) == {
        "tests.checkout.test_cart.TestCart",
        "tests.checkout.test_cart",
        "tests.search.test_query",
    }


@pytest.mark.parametrize(
    ("rules", "field", "problem"),
    [
        (
            [{"set": {"module": "m"}}, {"match": {"field": "clasname"}, "set": {"module": "m"}}],
            "mappingRules[1].match.field",
            "must be one of",
        ),
        (
            [{"match": {"field": "name", "prefix": "a", "suffix": "b"}, "set": {"module": "m"}}],
            "mappingRules[0].match",
            "at most one of",
        ),
        (
            [{"match": {"field": "name", "regex": "(unclosed"}, "set": {"module": "m"}}],
            "mappingRules[0].match.regex",
            "not a valid regular expression",
        ),
        ([{"match": {"field": "name"}, "set": {}}], "mappingRules[0].set", "at least one of"),
        ([{"set": {"module": "{area}"}}], "mappingRules[0].set.module", "uses {area}"),
        ([{"set": {"owner": "x"}}], "mappingRules[0].set", "at least one of"),
        (
            [{"match": {"field": "name", "prefix": ""}, "set": {"module": "m"}}],
            "mappingRules[0].match.prefix",
            "non-empty",
        ),
    ],
)
def test_invalid_rules_name_the_rule(rules: list, field: str, problem: str) -> None:
    problems = dict(rule_problems(rules))
    assert field in problems, problems
    assert problem in problems[field]


def test_valid_rules_have_no_problems() -> None:
    assert rule_problems(RULES) == []
    assert rule_problems([]) == []
