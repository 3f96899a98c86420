"""The field-type contract and its registry.

Every field type — built-in or third-party — is one :class:`FieldType` subclass
registered by name with :func:`register`. It holds, in one place: the column type,
coercion from form strings and JSON, validation, and display formatting. Built-in
types register through exactly this path (see ``fields/__init__.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.messages import Msg
from tessera.meta.model import Field

_REGISTRY: dict[str, FieldType] = {}
#: types a template writes differently: a ``link`` whose ``to`` is a list is a poly_link
WRITTEN_AS = {"poly_link": "link"}


class FieldType:
    """Base class: override what differs. Raise :class:`FieldValueError` for bad values."""

    name: ClassVar[str] = ""
    #: has its own column in the record table (False: link_many, lookup)
    stored: ClassVar[bool] = True
    #: value is computed by the engine, never accepted from users (formula, rollup, ...)
    computed: ClassVar[bool] = False
    #: condition operators this type supports (the query layer checks against this)
    operators: ClassVar[frozenset[str]] = frozenset(
        {"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"}
    )

    def operators_for(self, field: Field) -> frozenset[str]:
        """Operators valid on this particular field (formula: its result type's)."""
        return self.operators

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """The SQLAlchemy type of this field's column."""
        return sa.Text()

    def column_kwargs(self, field: Field) -> dict[str, Any]:
        """Extra ``sa.Column`` keyword arguments (unique is handled by storage)."""
        return {}

    def coerce(self, field: Field, raw: Any) -> Any:
        """Turn a JSON value or a form string into the Python value to store.

        ``None`` and ``""`` mean empty and return ``None``. Raise FieldValueError.
        """
        if raw is None or raw == "":
            return None
        return raw

    def from_cell(self, field: Field, cell: Any) -> Any:
        """A spreadsheet cell (text, or a number/date openpyxl read) as input for ``clean``.

        Imports call this before ``clean``: types override it to accept what Excel and
        Chinese spreadsheets hold (``2024年3月5日``, ``¥1,234``, ``是``...). Default: the cell
        as it is, blank text meaning empty. Raise FieldValueError for unreadable cells.
        """
        if isinstance(cell, str):
            return cell.strip() or None
        return cell

    def validate(self, field: Field, value: Any) -> list[str]:
        """Messages for a coerced, non-empty value that breaks the field's rules."""
        return []

    def is_empty(self, value: Any) -> bool:
        """True when ``value`` counts as empty for ``required``."""
        return value is None or value == "" or value == []

    def to_json(self, field: Field, value: Any) -> Any:
        """The JSON representation of a stored value (API output, exports)."""
        return value

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """Human-readable display text."""
        return "" if value is None else str(value)

    def convert(self, old_field: Field, new_field: Field, value: Any) -> Any:
        """A value of ``old_field`` as a value of this type (retype upgrades).

        Default: coerce the old value's JSON form with this type, then check this
        type's rules. Raise FieldValueError when it does not convert.
        """
        return self.coerce_valid(new_field, for_field(old_field).to_json(old_field, value))

    def coerce_valid(self, field: Field, raw: Any) -> Any:
        """Coerce and check the type's rules, ignoring ``required`` (None when empty)."""
        value = self.coerce(field, raw)
        if self.is_empty(value):
            return None
        problems = self.validate(field, value)
        if problems:
            raise FieldValueError(Msg.join(problems))
        return value

    def clean(self, field: Field, raw: Any) -> Any:
        """Coerce, then check required and the type's rules; raise FieldValueError."""
        value = self.coerce(field, raw)
        if self.is_empty(value):
            if field.required:
                raise FieldValueError(Msg("required"))
            return None
        problems = self.validate(field, value)
        if problems:
            raise FieldValueError(Msg.join(problems))
        return value


def register(field_type: FieldType) -> FieldType:
    """Register a field type instance under its ``name``; returns it."""
    if not field_type.name:
        raise ValueError(f"{type(field_type).__name__} has no name")
    _REGISTRY[field_type.name] = field_type
    return field_type


def get(name: str) -> FieldType:
    """The registered field type ``name``; KeyError when unknown."""
    return _REGISTRY[name]


def names() -> list[str]:
    """Names of all registered field types, sorted."""
    return sorted(_REGISTRY)


def for_field(field: Field) -> FieldType:
    """The field type implementing ``field``."""
    return _REGISTRY[field.type]


def fail(message: str) -> None:
    """Raise a FieldValueError with a user-facing message."""
    raise FieldValueError(message)
