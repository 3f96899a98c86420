"""The registry: every built-in type registered, complete and consistent."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from field_helpers import make_field

from tessera import fields
from tessera.fields.base import FieldType, register

BUILTIN = {
    "text", "long_text", "number", "currency", "percent", "boolean", "date", "datetime",
    "email", "phone", "url", "select", "multi_select", "link", "link_many", "user",
    "attachment", "auto_number", "formula", "rollup", "lookup", "rating", "poly_link", "table",
    "duration", "time", "rich_text",
}  # fmt: skip
KNOWN_OPS = {
    "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "not_contains",
    "starts_with", "is_empty", "is_not_empty", "between", "within_last_days",
    "within_next_days", "before_today", "after_today",
}  # fmt: skip
COMPUTED = {"formula", "rollup", "lookup", "auto_number"}
NOT_STORED = {"link_many", "lookup", "table"}


def test_every_builtin_is_registered():
    assert set(fields.names()) >= BUILTIN
    assert {ft.name for ft in fields.builtin} == BUILTIN


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_type_is_complete(name):
    ft = fields.get(name)
    assert ft.operators <= KNOWN_OPS
    assert {"is_empty", "is_not_empty"} <= ft.operators
    assert ft.computed == (name in COMPUTED)
    assert ft.stored == (name not in NOT_STORED)
    assert isinstance(ft.column_type(make_field(name, formula="1")), sa.types.TypeEngine)
    assert type(ft).__doc__ and type(ft).__module__ != "tessera.fields.base"
    assert ft.coerce(make_field(name, formula="1"), None) is None
    assert ft.format(make_field(name, formula="1"), None) == ""


def test_third_party_type_registers_the_same_way():
    class Color(FieldType):
        """An #rrggbb colour."""

        name = "test_color"

    register(Color())
    try:
        assert fields.get("test_color").name == "test_color"
        assert "test_color" in fields.names()
    finally:
        del fields.base._REGISTRY["test_color"]  # keep the registry as other tests expect


def test_register_needs_a_name():
    with pytest.raises(ValueError, match="has no name"):
        register(FieldType())
