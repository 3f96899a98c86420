"""link, link_many, user, lookup."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from field_helpers import clean, error, make_field

from tessera import fields

LINK_OPS = {"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"}


@pytest.mark.parametrize("type_", ["link", "user"])
def test_link_ids(type_):
    assert clean(type_, 42, to="customer") == 42
    assert clean(type_, " 42 ", to="customer") == 42
    assert clean(type_, {"id": 7, "title": "Ada"}, to="customer") == 7
    assert clean(type_, "") is None


@pytest.mark.parametrize("bad", [0, -3, "abc", "4.5", True, 4.0, [1], 2**64])
def test_link_bad(bad):
    assert error("link", bad) == "not a record id (expected a positive whole number)"


def test_link_column_format_operators():
    lt, f = fields.get("link"), make_field("link", to="customer")
    assert isinstance(lt.column_type(f), sa.Integer)
    assert lt.stored and not lt.computed
    assert lt.format(f, 42) == "#42"
    assert lt.operators == LINK_OPS
    assert fields.get("user").operators == LINK_OPS
    assert isinstance(fields.get("user").column_type(make_field("user")), sa.Integer)


def test_link_many():
    assert clean("link_many", [3, "1", 3], to="tag") == [3, 1]
    assert clean("link_many", "1, 2", to="tag") == [1, 2]
    assert clean("link_many", 5, to="tag") == [5]
    assert clean("link_many", [], to="tag") is None
    assert error("link_many", [1, "x"]) == "not a record id (expected a positive whole number)"
    lm = fields.get("link_many")
    assert lm.stored is False
    assert lm.format(make_field("link_many"), [1, 2]) == "#1, #2"


def test_link_many_required():
    with pytest.raises(fields.base.FieldValueError, match="required"):
        fields.get("link_many").clean(make_field("link_many", required=True), [])


def test_lookup_is_computed_not_stored():
    lk, f = fields.get("lookup"), make_field("lookup", link="customer", field="tier")
    assert lk.computed and not lk.stored
    assert lk.to_json(f, Decimal("1.50")) == "1.50"
    assert lk.to_json(f, dt.date(2026, 1, 2)) == "2026-01-02"
    assert lk.to_json(f, [Decimal("1")]) == ["1"]
    assert lk.format(f, ["a", "b"]) == "a, b"
    assert lk.format(f, None) == ""
