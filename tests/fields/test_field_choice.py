"""boolean, select, multi_select."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from field_helpers import clean, error, make_field

from tessera import fields
from tessera.errors import FieldValueError
from tessera.fields.base import for_field

TIERS = [
    {"value": "high", "label": {"en": "High value", "zh-CN": "高价值"}, "color": "red"},
    {"value": "low"},
]


@pytest.mark.parametrize("raw", [True, "true", "on", "1", "Yes", 1, "TRUE"])
def test_boolean_true(raw):
    assert clean("boolean", raw) is True


@pytest.mark.parametrize("raw", [False, "false", "off", "0", "no", 0])
def test_boolean_false(raw):
    assert clean("boolean", raw) is False


@pytest.mark.parametrize("raw", ["maybe", 2, [True]])
def test_boolean_bad(raw):
    assert error("boolean", raw) == "not yes or no (expected true or false)"


def test_required_boolean_is_a_consent_that_must_be_ticked():
    f = make_field("boolean", required=True)
    with pytest.raises(FieldValueError, match="must be ticked"):
        fields.get("boolean").clean(f, "off")
    assert fields.get("boolean").clean(f, "on") is True
    assert fields.get("boolean").clean(make_field("boolean"), "off") is False  # optional: an answer


def test_boolean_format_and_column():
    b, f = fields.get("boolean"), make_field("boolean")
    assert b.format(f, True) == "Yes"
    assert b.format(f, False, "en") == "No"
    assert b.format(f, True, "zh-CN") == "是"
    assert b.format(f, False, "zh-CN") == "否"
    assert isinstance(b.column_type(f), sa.Boolean)
    assert b.operators == {"eq", "ne", "is_empty", "is_not_empty"}


def test_select_values_and_labels():
    assert clean("select", "high", options=TIERS) == "high"
    assert clean("select", "高价值", options=TIERS) == "high"
    assert clean("select", "high value", options=TIERS) == "high"
    assert clean("select", "", options=TIERS) is None


def test_select_bad_message_lists_options():
    assert error("select", "vip", options=TIERS) == '"vip" is not one of: high, low'
    assert error("select", ["high"], options=TIERS) == "must be one of the options (text)"


def test_select_format_in_locale():
    s, f = fields.get("select"), make_field("select", options=TIERS)
    assert s.format(f, "high", "en") == "High value"
    assert s.format(f, "high", "zh-CN") == "高价值"
    assert s.format(f, "low", "zh-CN") == "low"
    assert isinstance(s.column_type(f), sa.String)
    assert "contains" not in s.operators and "in" in s.operators


def test_multi_select_from_list_and_form_string():
    opts = [{"value": "a"}, {"value": "b"}, {"value": "c"}]
    assert clean("multi_select", ["c", "a", "c"], options=opts) == ["a", "c"]
    assert clean("multi_select", "b, a", options=opts) == ["a", "b"]
    assert clean("multi_select", "a", options=opts) == ["a"]
    assert clean("multi_select", [], options=opts) is None
    assert error("multi_select", ["a", "z"], options=opts) == '"z" is not one of: a, b, c'


def test_multi_select_format_column_operators():
    m, f = fields.get("multi_select"), make_field("multi_select", options=TIERS)
    assert m.format(f, ["high", "low"], "en") == "High value, low"
    assert m.format(f, ["high", "low"], "zh-CN") == "高价值、low"
    assert isinstance(m.column_type(f), sa.JSON)
    assert m.operators == {"contains", "not_contains", "is_empty", "is_not_empty"}


def test_required_multi_select():
    f = make_field("multi_select", required=True, options=TIERS)
    with pytest.raises(fields.base.FieldValueError, match="required"):
        fields.get("multi_select").clean(f, [])


def test_convert_select_multi():
    sel = make_field("select", options=TIERS)
    multi = make_field("multi_select", options=TIERS)
    txt = make_field("text")
    assert for_field(multi).convert(sel, multi, "high") == ["high"]
    assert for_field(sel).convert(multi, sel, ["low"]) == "low"
    with pytest.raises(fields.base.FieldValueError, match="more than one"):
        for_field(sel).convert(multi, sel, ["low", "high"])
    with pytest.raises(fields.base.FieldValueError, match='"gold" is not one of'):
        for_field(sel).convert(txt, sel, "gold")
    assert for_field(txt).convert(sel, txt, "high") == "high"
