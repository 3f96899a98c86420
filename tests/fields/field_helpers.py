"""Helpers for field-type tests: build a Field with options in one call, clean, expect errors.

Imported by name (``from field_helpers import ...``): tests/ holds no packages.
"""

from __future__ import annotations

import pytest

from tessera import fields
from tessera.errors import FieldValueError
from tessera.meta.model import Field, freeze


def make_field(type_: str, key: str = "f", required: bool = False, **options) -> Field:
    """A Field of ``type_`` with type-specific ``options``."""
    return Field(
        key=key, type=type_, label=freeze({"en": key}), required=required, options=freeze(options)
    )


def clean(type_: str, raw, **options):
    """Run the full clean (coerce + validate) for a fresh field."""
    return fields.get(type_).clean(make_field(type_, **options), raw)


def error(type_: str, raw, **options) -> str:
    """The FieldValueError message cleaning ``raw`` produces."""
    with pytest.raises(FieldValueError) as info:
        clean(type_, raw, **options)
    return info.value.message
