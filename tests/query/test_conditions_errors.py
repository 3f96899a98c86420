"""Bad conditions: each class of mistake is reported with its path inside the condition."""

from __future__ import annotations

import pytest
from query_app import APP, CUSTOMER, NOW

from tessera.query.conditions import ConditionError, check, evaluate, to_sql


def leaf(field, op, value=None):
    """A leaf condition (without ``value`` when None)."""
    return (
        {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}
    )


def problems(cond, **kw) -> list[str]:
    """The problems of ``cond`` on customer, as text."""
    return [str(p) for p in check(cond, CUSTOMER, APP, **kw)]


def test_unknown_operator_names_the_path_and_the_fix():
    cond = {
        "all": [leaf("tier", "eq", "high"), leaf("score", "gt", 1), leaf("score", "greater", 1)]
    }
    assert problems(cond) == ['filter.all[2].op: "greater" is not an operator — did you mean "gt"?']


def test_misspelt_operator_gets_the_closest_one():
    assert problems(leaf("name", "contain", "x")) == [
        'filter.op: "contain" is not an operator — did you mean "contains"?'
    ]


def test_unknown_field_suggests_the_closest_one():
    cond = {"any": [leaf("teir", "eq", "high")]}
    assert problems(cond) == [
        'filter.any[0].field: unknown field "teir" on customer — did you mean "tier"?'
    ]


def test_unknown_field_behind_a_link_names_the_linked_type():
    assert problems(leaf("account.regoin", "eq", "north")) == [
        'filter.field: unknown field "regoin" on account — did you mean "region"?'
    ]


def test_a_dotted_path_must_follow_links():
    [message] = problems(leaf("tier.name", "eq", "x"))
    assert message.startswith('filter.field: "tier" on customer is not a link')


def test_operator_not_valid_for_the_field_type_lists_the_valid_ones():
    [message] = problems(leaf("score", "contains", 1))
    assert message.startswith('filter.op: "contains" is not valid for number field "score"')
    assert "use one of: eq, ne, lt, lte, gt, gte, in, not_in" in message


@pytest.mark.parametrize(
    ("cond", "path", "words"),
    [
        (leaf("score", "gt", "abc"), "filter.value", '"abc" is not a valid number: not a number'),
        (leaf("score", "gt", 1.5), "filter.value", "must be a whole number"),
        (leaf("tier", "eq", "hihg"), "filter.value", '"hihg" is not one of: high, mid, low'),
        (leaf("since", "eq", "2026-13-01"), "filter.value", "not a date"),
        (leaf("since", "eq", "someday"), "filter.value", "not a date"),
        (leaf("active", "eq", "maybe"), "filter.value", "not yes or no"),
        (leaf("score", "between", 5), "filter.value", "between needs [low, high], got 5"),
        (leaf("score", "between", [1, 2, 3]), "filter.value", "between needs [low, high]"),
        (leaf("score", "between", [1, "x"]), "filter.value[1]", "not a valid number"),
        (leaf("score", "in", 3), "filter.value", '"in" needs a list of values, got 3'),
        (leaf("score", "in", [1, "x"]), "filter.value[1]", "not a valid number"),
        (leaf("tags", "contains", "gold"), "filter.value", '"gold" is not one of'),
        (leaf("name", "contains", ""), "filter.value", '"contains" needs some text'),
        (leaf("since", "within_last_days", -1), "filter.value", "whole number of days"),
        (leaf("since", "within_next_days", "7"), "filter.value", "whole number of days"),
        (leaf("since", "within_next_days", True), "filter.value", "whole number of days"),
        (leaf("since", "within_next_days", 1.5), "filter.value", "whole number of days"),
        (leaf("name", "eq", "$me"), "filter.value", "$me only works with user fields"),
        (leaf("name", "eq"), "filter.value", "use is_empty / is_not_empty"),
        (leaf("name", "is_empty", "x"), "filter.value", '"is_empty" takes no value'),
        (leaf("score", "gt", {"field": "name"}), "filter.value.field", "cannot compare number"),
        (leaf("score", "gt", {"field": "scroe"}), "filter.value.field", 'did you mean "score"?'),
        (leaf("score", "gt", {"fld": "x"}), "filter.value", "a field reference is {field: <key>}"),
        (leaf("tier", "in", [{"field": "name"}]), "filter.value[0]", "needs a value"),
        (leaf("account.rank", "gt", {"field": "score"}), "filter.value.field", "linked field"),
        (leaf("score", "eq", {"field": "account.rank"}), "filter.value.field", "not a linked one"),
    ],
)
def test_wrong_values_are_reported_at_their_path(cond, path, words):
    [message] = problems(cond)
    assert message.startswith(f"{path}: ")
    assert words in message


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ("tier = high", 'filter: a condition must be an object, got "tier = high"'),
        ({}, "filter: expected all, any, not or field/op/value, got nothing"),
        ({"all": leaf("tier", "eq", "high")}, "filter.all: must be a list of conditions"),
        ({"all": [], "any": []}, "filter: all cannot be combined with any"),
        ({"not": [leaf("tier", "eq", "x")]}, "filter.not: a condition must be an object"),
        ({**leaf("tier", "eq", "high"), "vlaue": 1}, 'filter.vlaue: unknown key "vlaue"'),
        ({"op": "eq", "value": 1}, "filter.field: needs a field name, got null"),
        ({"field": "tier", "value": 1}, "filter.op: needs an operator, got null"),
        (
            leaf("contacts", "contains", 1),
            'filter.field: field "contacts" (link_many) is not stored',
        ),
        (leaf("tier", "changed"), 'filter.op: "changed" only works in workflow conditions'),
        (leaf("account.tier", "changed"), "filter.field: unknown field"),
    ],
)
def test_malformed_conditions(cond, expected):
    assert problems(cond)[0].startswith(expected)


def test_every_problem_is_reported_at_once():
    cond = {
        "all": [
            leaf("teir", "eq", "high"),
            {"not": leaf("score", "gt", "x")},
            {"any": [leaf("name", "greater", 1), leaf("since", "within_last_days", -2)]},
        ]
    }
    paths = [p.path for p in check(cond, CUSTOMER, APP)]
    assert paths == [
        "filter.all[0].field",
        "filter.all[1].not.value",
        "filter.all[2].any[0].op",
        "filter.all[2].any[1].value",
    ]


def test_the_path_prefix_is_the_callers():
    [problem] = check(leaf("teir", "eq", 1), CUSTOMER, APP, path="views.customers.filter")
    assert problem.path == "views.customers.filter.field"


def test_workflow_conditions_accept_change_operators():
    assert check(leaf("tier", "changed_to", "high"), CUSTOMER, APP, allow_changes=True) == []
    [message] = problems(leaf("account.region", "changed"), allow_changes=True)
    assert message.startswith('filter.op: "changed" cannot follow a link')


def test_to_sql_and_evaluate_raise_condition_error_with_the_problems():
    cond = {"any": [leaf("teir", "eq", "high")]}
    with pytest.raises(ConditionError) as err:
        to_sql(cond, CUSTOMER, APP, {}, me=None, now=NOW)
    assert [p.path for p in err.value.problems] == ["filter.any[0].field"]
    assert 'unknown field "teir" on customer' in str(err.value)
    with pytest.raises(ConditionError):
        evaluate(cond, {}, CUSTOMER, APP, me=None, now=NOW)
