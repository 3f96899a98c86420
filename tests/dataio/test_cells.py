"""Spreadsheet cell parsing through each field type's ``from_cell`` (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tessera.errors import FieldValueError
from tessera.fields import for_field
from tessera.meta.model import Field

DATE = Field("d", "date", "d")
WHEN = Field("w", "datetime", "w")
NUM = Field("n", "number", "n", options={"scale": 2})
MONEY = Field("m", "currency", "m", options={"currency": "CNY"})
PCT = Field("p", "percent", "p")
YES = Field("b", "boolean", "b")
TIER = Field(
    "t",
    "select",
    "t",
    options={"options": [{"value": "high", "label": {"en": "High", "zh-CN": "高"}}]},
)
TAGS = Field(
    "g",
    "multi_select",
    "g",
    options={
        "options": [{"value": "vip", "label": "VIP"}, {"value": "gov", "label": {"zh-CN": "政府"}}]
    },
)


def cell(f, raw):
    ft = for_field(f)
    return ft.clean(f, ft.from_cell(f, raw))


@pytest.mark.parametrize(
    "raw", ["2024-03-05", "2024/3/5", "2024年3月5日", "2024.03.05", 45356, "45356",
            "２０２４/３/５", dt.datetime(2024, 3, 5), "20240305"],
)  # fmt: skip
def test_dates_in_common_spreadsheet_forms(raw):
    assert cell(DATE, raw) == dt.date(2024, 3, 5)


@pytest.mark.parametrize(
    "raw, message",
    [
        ("2024-02-30", "2024-02-30: February 2024 has 29 days"),
        ("2023-02-29", "February 2023 has 28 days"),
        ("2024/13/1", "there is no month 13"),
        ("March 5", "not a date"),
        ("2024-03-05 10:00", "without a time"),
    ],
)
def test_bad_dates_are_refused_precisely(raw, message):
    with pytest.raises(FieldValueError) as info:
        cell(DATE, raw)
    assert message in str(info.value)


def test_datetimes():
    assert cell(WHEN, "2024/3/5 14:30") == dt.datetime(2024, 3, 5, 14, 30, tzinfo=dt.UTC)
    assert cell(WHEN, 45356.5) == dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "f, raw, value",
    [
        (NUM, "1,234.5", Decimal("1234.50")),
        (NUM, "１２３", Decimal("123.00")),
        (NUM, "12.5%", Decimal("0.13") if False else None),
        (MONEY, "¥1,234.56", Decimal("1234.56")),
        (MONEY, "￥ 3,000元", Decimal("3000.00")),
        (MONEY, "RMB 88", Decimal("88.00")),
        (MONEY, 1234.5, Decimal("1234.50")),
        (PCT, "12.5%", Decimal("12.50")),
        (PCT, 7, Decimal("7.00")),
    ],
)
def test_numbers(f, raw, value):
    if value is None:  # 12.5% in a 2-decimal number field is 0.125: refused, not rounded
        with pytest.raises(FieldValueError, match="at most 2 decimal places"):
            cell(f, raw)
        return
    assert cell(f, raw) == value


@pytest.mark.parametrize("raw", ["1,2,3", "12,34", "abc", "1.2.3", "NaN"])
def test_bad_numbers_are_refused(raw):
    with pytest.raises(FieldValueError):
        cell(NUM, raw)


def test_comma_message_is_precise():
    with pytest.raises(FieldValueError, match="groups of three digits"):
        cell(NUM, "1,2,3")


@pytest.mark.parametrize(
    "raw, value",
    [("是", True), ("否", False), ("Yes", True), ("no", False), ("1", True), (0, False),
     ("✓", True), ("×", False), (True, True)],
)  # fmt: skip
def test_booleans(raw, value):
    assert cell(YES, raw) is value


def test_select_and_multi_select_by_value_or_label():
    assert (
        cell(TIER, "高") == "high" and cell(TIER, "HIGH") == "high" and cell(TIER, "high") == "high"
    )
    assert cell(TAGS, "政府、VIP") == ["vip", "gov"]
    assert cell(TAGS, "vip; gov") == ["vip", "gov"] and cell(TAGS, "vip，gov") == ["vip", "gov"]
    with pytest.raises(FieldValueError, match='"低" is not one of'):
        cell(TIER, "低")
