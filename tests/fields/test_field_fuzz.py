"""Any JSON value or form string given to any field type gives a value or a FieldValueError."""

from __future__ import annotations

import pytest
from field_helpers import make_field
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera import fields
from tessera.errors import FieldValueError

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
OPTIONS = {
    "select": {"options": [{"value": "a"}, {"value": "b", "label": {"en": "Bee"}}]},
    "multi_select": {"options": [{"value": "a"}, {"value": "b"}]},
    "text": {"max_length": 10, "pattern": r"[a-z]*"},
    "number": {"scale": 2, "min": 0, "max": 100},
    "formula": {"formula": "1"},
    "attachment": {"multiple": True, "accept": ".pdf", "max_size_mb": 1},
    "date": {"min": "2026-01-01"},
    "poly_link": {"to": ["lead", "customer"]},
}
NAMES = sorted(set(fields.names()) - {"test_color"})


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=100, deadline=None)
@given(raw=JSON)
def test_clean_only_raises_field_value_error(name, raw):
    ft = fields.get(name)
    field = make_field(name, **OPTIONS.get(name, {}))
    try:
        value = ft.clean(field, raw)
    except FieldValueError as err:
        assert err.message
        return
    ft.to_json(field, value)
    assert isinstance(ft.format(field, value, "zh-CN"), str)
