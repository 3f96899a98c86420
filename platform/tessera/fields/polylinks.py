"""The polymorphic link: one field pointing at one record of one of several types.

Written ``{key: regarding, type: link, to: [lead, customer, opportunity]}``; the
compiler turns a ``link`` whose ``to`` is a list into this type (``poly_link``), and
the dump writes it back as ``link``. A value names the record type and the id:

- input: ``{"type": "customer", "id": 3}``, the text ``"customer:3"``, or (resolved by
  the records layer first) ``{"type": "customer", "by": "email", "value": "a@b.cn"}``;
- stored: one indexed text column holding ``customer:3`` — generic (any number of
  target types, no column per type), one index serves "regarding this record" (the
  related lists of every target) and ``eq``/``in`` filters; there is no foreign key,
  so the records service checks the target exists on write and applies ``on_delete``
  when a target is deleted;
- JSON: ``{"type": "customer", "id": 3}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields.base import FieldType
from tessera.fields.links import parse_id
from tessera.messages import Msg
from tessera.meta.model import Field

SEPARATOR = ":"


def targets(field: Field) -> tuple[str, ...]:
    """The record types a polymorphic link may point at."""
    to = field.opt("to") or ()
    return (to,) if isinstance(to, str) else tuple(to)


def join(rt_key: str, record_id: int) -> str:
    """The stored form ``customer:3``."""
    return f"{rt_key}{SEPARATOR}{record_id}"


def split(value: Any) -> tuple[str, int] | None:
    """``("customer", 3)`` from a stored ``customer:3``; None when empty or unreadable."""
    if not isinstance(value, str) or SEPARATOR not in value:
        return None
    rt_key, _, rid = value.rpartition(SEPARATOR)
    return (rt_key, int(rid)) if rid.isascii() and rid.isdigit() else None


def type_of(field: Field, raw: Any) -> str:
    """The record type named by ``raw`` (a key), checked against the field's targets."""
    if not isinstance(raw, str) or not raw:
        raise FieldValueError(
            Msg("needs a record type: one of %(types)s", types=", ".join(targets(field)))
        )
    if raw not in targets(field):
        raise FieldValueError(
            f'"{raw}" is not a record type this link points at (one of {", ".join(targets(field))})'
        )
    return raw


class PolyLinkType(FieldType):
    """A link to one record of any of the record types listed in ``to``."""

    name = "poly_link"
    operators = frozenset({"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"})

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """String(80): a record type key (at most 40) + ``:`` + an id."""
        return sa.String(80)

    def coerce(self, field: Field, raw: Any) -> Any:
        """``customer:3`` from ``{"type": "customer", "id": 3}`` or ``"customer:3"``."""
        if raw is None or raw == "":
            return None
        if isinstance(raw, Mapping):
            if "id" not in raw or raw.get("id") in (None, ""):
                if "type" in raw and set(raw) <= {"type", "id", "title"}:
                    return None  # a type picked in the form, no record yet: empty
                raise FieldValueError('expected {"type": <record type>, "id": <record id>}')
            return join(type_of(field, raw.get("type")), parse_id(raw["id"]))
        if isinstance(raw, str) and SEPARATOR in raw:
            rt_key, _, rid = raw.strip().rpartition(SEPARATOR)
            return join(type_of(field, rt_key.strip()), parse_id(rid.strip()))
        raise FieldValueError(
            f'expected {{"type": …, "id": …}} naming a {" / ".join(targets(field))} record'
        )

    def to_json(self, field: Field, value: Any) -> Any:
        """``{"type": "customer", "id": 3}``."""
        parts = split(value)
        return None if parts is None else {"type": parts[0], "id": parts[1]}

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``customer #3`` (views replace it with the record's type label and title)."""
        parts = split(value)
        return "" if parts is None else f"{parts[0]} #{parts[1]}"


builtin = [PolyLinkType()]
