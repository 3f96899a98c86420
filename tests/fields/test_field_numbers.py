"""number, currency, percent, rating."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from field_helpers import clean, error, make_field

from tessera import fields
from tessera.fields.base import for_field


def test_number_integer_from_json_and_form():
    assert clean("number", 12) == 12
    assert clean("number", "12") == 12
    assert clean("number", " 1,234 ") == 1234
    assert clean("number", 12.0) == 12
    assert clean("number", "") is None


def test_number_integer_refuses_fractions():
    assert error("number", "12.5") == "must be a whole number"


@pytest.mark.parametrize("bad", ["abc", "1.2.3", "12,34", True, [1], {"a": 1}, float("nan"), "1e"])
def test_number_not_a_number(bad):
    assert error("number", bad) == "not a number"


def test_number_decimal_scale():
    assert clean("number", "12.5", scale=2) == Decimal("12.50")
    assert clean("number", 0.1, scale=2) == Decimal("0.10")
    assert error("number", "12.345", scale=2) == "must have at most 2 decimal places"


def test_number_precision():
    assert "at most 3 digits before the decimal point" in error(
        "number", "1234.5", scale=2, precision=5
    )
    assert error("number", 2**70) == "is too large"
    assert error("number", "1e999999") == "is too large"


def test_number_min_max_messages():
    assert error("number", 101, min=0, max=100) == "must be between 0 and 100"
    assert error("number", -1, min=0) == "must be at least 0"
    assert error("number", "2.5", scale=1, max=2) == "must be at most 2"
    assert clean("number", 100, min=0, max=100) == 100


def test_number_column_types():
    nt = fields.get("number")
    assert isinstance(nt.column_type(make_field("number")), sa.Integer)
    col = nt.column_type(make_field("number", scale=2, precision=10))
    assert isinstance(col, sa.Numeric) and (col.precision, col.scale) == (10, 2)


def test_number_json_and_format():
    nt, f2 = fields.get("number"), make_field("number", scale=2)
    assert nt.to_json(make_field("number"), 5) == 5
    assert nt.to_json(f2, Decimal("1234.50")) == "1234.50"
    assert nt.format(f2, Decimal("1234.5"), "en") == "1,234.50"
    assert nt.format(make_field("number"), 1234567, "zh-CN") == "1,234,567"
    assert nt.format(f2, None) == ""


def test_currency():
    f = make_field("currency", currency="CNY", min=0)
    ct = fields.get("currency")
    assert ct.clean(f, "¥1,234.5") == Decimal("1234.50")
    assert ct.clean(f, 3) == Decimal("3.00")
    assert ct.format(f, Decimal("1234.5"), "en") == "CNY 1,234.50"
    assert ct.format(f, Decimal("1234.5"), "zh-CN") == "CNY 1,234.50"
    assert ct.to_json(f, Decimal("3.10")) == "3.10"
    col = ct.column_type(f)
    assert isinstance(col, sa.Numeric) and col.scale == 2
    assert error("currency", "1.234") == "must have at most 2 decimal places"
    assert error("currency", "-5", min=0) == "must be at least 0"


def test_percent():
    pt, f = fields.get("percent"), make_field("percent", min=0, max=100)
    assert pt.clean(f, "12.5%") == Decimal("12.50")
    assert pt.clean(f, 40) == Decimal("40.00")
    assert pt.format(f, Decimal("12.50")) == "12.5%"
    assert pt.format(f, Decimal("100.00"), "zh-CN") == "100%"
    assert error("percent", "150", min=0, max=100) == "must be between 0 and 100"
    assert isinstance(pt.column_type(f), sa.Numeric)


def test_rating():
    rt = fields.get("rating")
    assert clean("rating", "4") == 4
    assert clean("rating", 5) == 5
    assert error("rating", 6) == "must be between 1 and 5"
    assert error("rating", 0) == "must be between 1 and 5"
    assert error("rating", "3.5") == "must be a whole number"
    assert error("rating", "lots") == "not a number"
    assert rt.format(make_field("rating"), 3) == "★★★☆☆"
    assert rt.format(make_field("rating", max=3), 1, "zh-CN") == "★☆☆"
    assert isinstance(rt.column_type(make_field("rating")), sa.Integer)


def test_rating_max_option():
    assert clean("rating", 9, max=10) == 9
    assert error("rating", 11, max=10) == "must be between 1 and 10"


def test_number_operators():
    ops = fields.get("number").operators
    assert {"lt", "gte", "between", "in"} <= ops
    assert "contains" not in ops


def test_convert_text_to_number_and_back():
    num, txt = make_field("number", scale=2), make_field("text")
    assert for_field(num).convert(txt, num, "12.5") == Decimal("12.50")
    with pytest.raises(fields.base.FieldValueError, match="not a number"):
        for_field(num).convert(txt, num, "twelve")
    cur = make_field("currency")
    assert for_field(cur).convert(num, cur, Decimal("1.25")) == Decimal("1.25")
    integer = make_field("number")
    with pytest.raises(fields.base.FieldValueError, match="whole number"):
        for_field(integer).convert(num, integer, Decimal("1.25"))
