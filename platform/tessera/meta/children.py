"""Child tables: the rows a ``table`` field owns, seen as record types of their own.

A ``table`` field (``{key: items, type: table, fields: [...]}``) keeps its rows in a real
table ``rt_<app>_<parent>__<field>``. Everything that stores or queries rows works on
record types, so each table field is given a synthetic :class:`RecordType` keyed
``<parent>__<field>`` (:func:`child_key`) holding the declared row fields plus

- ``parent_id``: a link to the parent record type with ``on_delete: cascade`` (the
  rows go with their record), and
- ``row_order``: the row's position (0, 1, ...), which reads sort by.

These child record types never appear in ``App.record_types`` (so no navigation, views,
API paths or access rules of their own); storage and migrations see them through
:func:`expand`, which returns the app with them appended. Renaming the parent record
type or the table field (``renamed_from``) renames the child table with its rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from types import MappingProxyType

from tessera.meta.model import App, Field, RecordType

PARENT = "parent_id"
ORDER = "row_order"
#: child row columns the engine adds itself (declared row fields may not use them)
ROW_COLUMNS = (PARENT, ORDER)
#: row field types a table cannot hold (no nested tables; nothing needing its own table
#: or a record of its own to point at)
NOT_IN_ROWS = frozenset(
    {"table", "link_many", "poly_link", "lookup", "rollup", "auto_number", "attachment"}
)


def child_key(rt_key: str, field_key: str) -> str:
    """The record type key of a table field's rows: ``order__items``."""
    return f"{rt_key}__{field_key}"


def is_table(field: Field) -> bool:
    """True for a ``table`` field."""
    return field.type == "table"


def row_fields(field: Field) -> tuple[Field, ...]:
    """The declared fields of each row of table field ``field`` (compiled once)."""
    cached = field.__dict__.get("_row_fields")
    if cached is None:
        from tessera.meta.compile import compile_field  # compile imports this module

        cached = tuple(compile_field(dict(f)) for f in field.opt("fields", ()))
        object.__setattr__(field, "_row_fields", cached)
    return cached


def child_record_type(rt: RecordType, field: Field) -> RecordType:
    """The synthetic record type of ``rt``'s table field ``field`` (cached on the field)."""
    cached = field.__dict__.get("_child_rt")
    if cached is not None and cached[0] == rt.key:
        return cached[1]
    parent = Field(
        key=PARENT,
        type="link",
        label=MappingProxyType({"en": "Parent"}),
        required=True,
        options=MappingProxyType({"to": rt.key, "on_delete": "cascade"}),
    )
    order = Field(
        key=ORDER,
        type="number",
        label=MappingProxyType({"en": "Row"}),
        options=MappingProxyType({"scale": 0}),
    )
    renamed = None
    if rt.renamed_from or field.renamed_from:
        renamed = child_key(rt.renamed_from or rt.key, field.renamed_from or field.key)
    child = RecordType(
        key=child_key(rt.key, field.key),
        label=field.label,
        fields=(parent, order, *row_fields(field)),
        title=None,
        renamed_from=renamed,
    )
    object.__setattr__(field, "_child_rt", (rt.key, child))
    return child


def tables_of(rt: RecordType) -> Iterator[tuple[Field, RecordType]]:
    """(table field, its child record type) for each table field of ``rt``."""
    for f in rt.fields:
        if is_table(f):
            yield f, child_record_type(rt, f)


def child_types(app: App) -> list[RecordType]:
    """Every child record type of ``app``, in declaration order."""
    return [child for rt in app.record_types for _f, child in tables_of(rt)]


def expand(app: App | None) -> App | None:
    """``app`` with its child record types appended (what storage builds tables for)."""
    if app is None:
        return None
    cached = app.__dict__.get("_expanded")
    if cached is not None:
        return cached
    children = child_types(app)
    out = replace(app, record_types=(*app.record_types, *children)) if children else app
    object.__setattr__(app, "_expanded", out)
    object.__setattr__(out, "_expanded", out)
    return out


def find_child(app: App, key: str) -> tuple[RecordType, Field, RecordType] | None:
    """(parent record type, table field, child record type) for child key ``key``."""
    for rt in app.record_types:
        for f, child in tables_of(rt):
            if child.key == key:
                return rt, f, child
    return None
