"""auto_number, formula, rollup."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from field_helpers import make_field

from tessera import fields
from tessera.errors import FieldValueError
from tessera.expr import ExpressionError
from tessera.fields.computed import next_label

NOW = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)


def test_next_label():
    assert next_label(make_field("auto_number", prefix="CUS-"), 123) == "CUS-000123"
    assert next_label(make_field("auto_number", prefix="T", padding=3), 7) == "T007"
    assert next_label(make_field("auto_number"), 1234567) == "1234567"


def test_auto_number_type():
    an, f = fields.get("auto_number"), make_field("auto_number", prefix="CUS-", start=100)
    assert an.computed and an.stored
    assert an.start(f) == 100
    assert an.start(make_field("auto_number")) == 1
    assert an.next_label(f, 123) == "CUS-000123"
    assert an.format(f, "CUS-000100") == "CUS-000100"
    assert an.format(f, 5) == "CUS-000005"
    assert an.coerce(f, " CUS-000001 ") == "CUS-000001"
    col = an.column_type(f)
    assert isinstance(col, sa.String) and col.length == 64
    with pytest.raises(FieldValueError, match="must be text"):
        an.coerce(f, [1])


def test_formula_number_rounds_half_up():
    ft = fields.get("formula")
    f = make_field("formula", formula="price * qty / 3")
    assert ft.computed
    assert ft.compute(f, {"price": Decimal("10.00"), "qty": 1}) == Decimal("3.33")
    assert ft.compute(make_field("formula", formula="1 / 8", scale=2), {}) == Decimal("0.13")
    assert ft.compute(make_field("formula", formula="7 / 2", scale=0), {}) == 4
    assert ft.compute(f, {"price": None, "qty": 2}) is None
    assert ft.compute(f, {"price": 1, "qty": 0}) == 0


def test_formula_result_types_and_columns():
    ft = fields.get("formula")
    cases = {
        "number": (sa.Numeric, "a + 1", {"a": 1}, Decimal("2.00")),
        "currency": (sa.Numeric, "a * 2", {"a": Decimal("1.255")}, Decimal("2.51")),
        "text": (sa.Text, "concat(upper(a), '!')", {"a": "hi"}, "HI!"),
        "boolean": (sa.Boolean, "a > 1", {"a": 2}, True),
        "date": (sa.Date, "d + 7", {"d": dt.date(2026, 1, 1)}, dt.date(2026, 1, 8)),
    }
    for result, (column, source, values, expected) in cases.items():
        f = make_field("formula", formula=source, result=result)
        assert isinstance(ft.column_type(f), column), result
        assert ft.compute(f, values, now=NOW) == expected, result
        assert ft.operators_for(f) == fields.get(result).operators


def test_formula_format_and_json_follow_result():
    ft = fields.get("formula")
    money = make_field("formula", formula="a", result="currency", currency="CNY")
    assert ft.format(money, Decimal("1234.5"), "en") == "CNY 1,234.50"
    assert ft.to_json(money, Decimal("1.50")) == "1.50"
    flag = make_field("formula", formula="a > 1", result="boolean")
    assert ft.format(flag, True, "zh-CN") == "是"
    day = make_field("formula", formula="today()", result="date")
    assert ft.compute(day, {}, now=NOW) == dt.date(2026, 11, 25)
    assert ft.to_json(day, dt.date(2026, 11, 25)) == "2026-11-25"


def test_formula_dotted_names():
    ft = fields.get("formula")
    f = make_field("formula", formula="concat(customer.tier, '-', name)", result="text")
    assert ft.expression(f).names == frozenset({"customer.tier", "name"})
    assert ft.compute(f, {"customer": {"tier": "high"}, "name": "Ada"}) == "high-Ada"


def test_formula_wrong_result_kind_is_a_value_error():
    ft = fields.get("formula")
    with pytest.raises(FieldValueError, match="not a number"):
        ft.compute(make_field("formula", formula="'abc'"), {})
    with pytest.raises(FieldValueError, match="date"):
        ft.compute(make_field("formula", formula="1", result="date"), {})


def test_formula_bad_source():
    with pytest.raises(ExpressionError):
        fields.get("formula").expression(make_field("formula", formula="__import__('os')"))


def test_rollup():
    rt = fields.get("rollup")
    count = make_field("rollup", aggregate="count", **{"from": "order", "via": "customer"})
    total = make_field("rollup", aggregate="sum", field="amount", currency="CNY")
    assert rt.computed
    assert isinstance(rt.column_type(count), sa.Integer)
    assert isinstance(rt.column_type(total), sa.Numeric)
    assert rt.coerce(count, 3) == 3
    assert rt.coerce(total, Decimal("10.005")) == Decimal("10.01")
    assert rt.coerce(total, 2.5) == Decimal("2.50")
    assert rt.to_json(total, Decimal("10.00")) == "10.00"
    assert rt.to_json(count, 3) == 3
    assert rt.format(total, Decimal("1234.5")) == "CNY 1,234.50"
    assert rt.format(count, 1200, "zh-CN") == "1,200"
    assert "between" in rt.operators
