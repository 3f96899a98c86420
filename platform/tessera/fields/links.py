"""Link field types: link, link_many, user, lookup.

Values are record ids (positive ints). Input: a JSON int, a form string ``"42"``, or a
record object ``{"id": 42, ...}`` as the API returns it. Whether the record exists is
checked by the records layer, which has the database; these types check the shape.

- link: many-to-one; an ``Integer`` column, storage adds the foreign key to ``to``
  with ``on_delete`` (restrict | cascade | set_null).
- link_many: many-to-many through a junction table storage creates; ``stored = False``
  (no column here). Value: list of ids (JSON list or ``"1,2,3"``), deduplicated, in
  order given. ``column_type`` is the type of the junction's id columns.
- user: an ``Integer`` column, storage adds the foreign key to ``users.id``.
- lookup: shows ``field`` of the record linked through ``link``; computed, not stored.
  The records layer reads it; its value is passed through as the linked field's value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields.base import FieldType
from tessera.messages import Msg
from tessera.meta.model import Field

LINK_OPERATORS = frozenset({"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"})
MAX_ID = 2**63 - 1


def parse_id(raw: Any) -> int:
    """A record id from 42, "42" or {"id": 42}."""
    if isinstance(raw, Mapping) and "id" in raw:
        raw = raw["id"]
    # isascii: "²".isdigit() is True, yet int("²") fails
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw <= MAX_ID:
        raise FieldValueError(Msg("not a record id (expected a positive whole number)"))
    return raw


class LinkType(FieldType):
    """Many-to-one link to a record of type ``to``."""

    name = "link"
    operators = LINK_OPERATORS

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Integer (storage adds the foreign key)."""
        return sa.Integer()

    def coerce(self, field: Field, raw: Any) -> Any:
        """A record id."""
        if raw is None or raw == "":
            return None
        return parse_id(raw)

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``#42`` (views replace it with the linked record's title)."""
        return "" if value is None else f"#{value}"


class UserType(LinkType):
    """A user of this Tessera instance (``users.id``)."""

    name = "user"


class LinkManyType(FieldType):
    """Many-to-many link to records of type ``to`` (a junction table, no column)."""

    name = "link_many"
    stored = False
    operators = frozenset({"contains", "not_contains", "is_empty", "is_not_empty"})

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Integer: the type of the junction table's id columns."""
        return sa.Integer()

    def coerce(self, field: Field, raw: Any) -> Any:
        """A list of distinct ids from a list, one id, or ``"1,2,3"``."""
        if raw is None or raw == "":
            return None
        if isinstance(raw, str):
            raw = [part for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list | tuple):
            raw = [raw]
        ids = list(dict.fromkeys(parse_id(item) for item in raw))
        return ids or None

    def is_empty(self, value: Any) -> bool:
        """None or an empty list."""
        return not value

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``#1, #2``."""
        return ", ".join(f"#{v}" for v in value or ())


class LookupType(FieldType):
    """A field of the linked record (options ``link`` and ``field``), read-only."""

    name = "lookup"
    stored = False
    computed = True
    operators = LINK_OPERATORS

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Text: never a column (stored = False); here only to honour the contract."""
        return sa.Text()

    def to_json(self, field: Field, value: Any) -> Any:
        """Decimals as strings, dates ISO, like the fields they come from."""
        if isinstance(value, list | tuple):
            return [self.to_json(field, v) for v in value]
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """The value as text (lists joined)."""
        if value is None:
            return ""
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return str(value)


builtin = [LinkType(), LinkManyType(), UserType(), LookupType()]
