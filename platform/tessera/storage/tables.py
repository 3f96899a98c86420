"""Meta -> SQLAlchemy Core tables: one real table per record type, one column per field.

:func:`build_tables` returns a dict keyed by record type key (``"customer"``) for record
tables and by ``"<record type>.<field>"`` (``"customer.tags"``) for the junction table of
a ``link_many`` field. The rows of a ``table`` field get a table like a record type's,
keyed ``"<record type>__<field>"`` (see ``meta.children``). Junction tables have
``source_id`` (the record holding the field) and ``target_id`` (the linked record),
both foreign keys with ``ON DELETE CASCADE``.

Column choices: field columns are nullable in the database (``required`` is enforced by
the records service, so toggling it never needs a table rebuild); ``unique`` fields get
a unique index (``ux_...``) rather than a constraint, because SQLite can add and drop an
index inside a transaction but cannot alter constraints without copying the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from tessera.fields import for_field
from tessera.meta.children import expand
from tessera.meta.model import App, Field, RecordType
from tessera.storage import naming, system

LINK_TYPES = ("link", "user")  # a real FK column
#: link-like columns indexed for "records linking here" (poly_link: ``customer:3``, no FK)
INDEXED_LINKS = (*LINK_TYPES, "poly_link")
ON_DELETE = {"restrict": "RESTRICT", "cascade": "CASCADE", "set_null": "SET NULL"}


@dataclass(frozen=True)
class Archived:
    """A removed field whose column is kept (renamed) until purged."""

    record_type: str
    field: str
    column: str
    field_type: str
    options: Mapping[str, Any]

    def as_field(self) -> Field:
        """A stand-in Field so the column can be typed like the original."""
        return Field(
            key=self.column,
            type=self.field_type,
            label=MappingProxyType({}),
            options=MappingProxyType(dict(self.options or {})),
        )


@dataclass(frozen=True)
class IndexSpec:
    """One index the app needs: its table, columns and whether it is unique."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False
    method: str = "btree"  # "trigram": a pg_trgm GIN index for search (PostgreSQL only)

    @property
    def trigram(self) -> bool:
        """True for a search index, which only PostgreSQL builds."""
        return self.method == "trigram"


def column_kind(field: Field) -> str:
    """``"column"`` (own column), ``"junction"`` (link_many) or ``"none"`` (not stored)."""
    if field.type == "link_many":
        return "junction"
    return "column" if for_field(field).stored else "none"


def link_target(app_id: str, field: Field) -> tuple[str, str] | None:
    """(table, ON DELETE action) a link or user column references; None for other types."""
    if field.type == "user":
        return "users", "SET NULL"
    if field.type == "link":
        on_delete = ON_DELETE[field.opt("on_delete", "restrict") or "restrict"]
        return naming.table_name(app_id, field.opt("to")), on_delete
    return None


def field_column(app_id: str, table: str, field: Field, with_fk: bool = True) -> sa.Column:
    """The real column of a stored field (FK included for link and user fields)."""
    ft = for_field(field)
    args: list[Any] = []
    target = link_target(app_id, field) if with_fk else None
    if target:
        ref, on_delete = target
        name = naming.fk_name(table, field.key)
        args.append(sa.ForeignKey(f"{ref}.id", ondelete=on_delete, name=name))
    return sa.Column(
        field.key, ft.column_type(field), *args, nullable=True, **ft.column_kwargs(field)
    )


def system_columns(table: str) -> list[sa.Column]:
    """id, created_at, updated_at, created_by, updated_by, version."""
    now = sa.func.current_timestamp()

    def user_fk(col: str) -> sa.ForeignKey:
        return sa.ForeignKey("users.id", ondelete="SET NULL", name=naming.fk_name(table, col))

    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("created_by", sa.Integer, user_fk("created_by")),
        sa.Column("updated_by", sa.Integer, user_fk("updated_by")),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def record_columns(app: App, rt: RecordType, archived: Iterable[Archived] = ()) -> list[sa.Column]:
    """All columns of a record type's table, archived ones last (they carry no FK)."""
    table = naming.table_name(app.id, rt.key)
    cols = system_columns(table)
    cols += [field_column(app.id, table, f) for f in rt.fields if column_kind(f) == "column"]
    for a in archived:
        if a.record_type == rt.key:
            cols.append(field_column(app.id, table, a.as_field(), with_fk=False))
    return cols


def junction_columns(app: App, rt: RecordType, field: Field) -> list[sa.Column]:
    """source_id and target_id of a link_many junction table (composite primary key)."""
    table = naming.junction_name(app.id, rt.key, field.key)
    source = naming.table_name(app.id, rt.key)
    target = naming.table_name(app.id, field.opt("to"))

    def fk(ref: str, col: str) -> sa.ForeignKey:
        return sa.ForeignKey(f"{ref}.id", ondelete="CASCADE", name=naming.fk_name(table, col))

    return [
        sa.Column("source_id", sa.Integer, fk(source, "source_id"), primary_key=True),
        sa.Column("target_id", sa.Integer, fk(target, "target_id"), primary_key=True),
    ]


def index_specs(app: App) -> dict[str, IndexSpec]:
    """Every index the app's tables need, by name: declared, unique, link and junction."""
    specs: dict[str, IndexSpec] = {}
    app = expand(app)

    def add(table: str, cols: tuple[str, ...], unique: bool = False) -> None:
        name = (naming.unique_index_name if unique else naming.index_name)(table, cols)
        specs.setdefault(name, IndexSpec(name, table, cols, unique))

    def add_search(table: str, col: str) -> None:
        name = naming.search_index_name(table, col)
        specs.setdefault(name, IndexSpec(name, table, (col,), method="trigram"))

    for rt in app.record_types:
        table = naming.table_name(app.id, rt.key)
        stored = {f.key for f in rt.fields if column_kind(f) == "column"}
        for f in rt.fields:
            if f.key in stored and f.unique:
                add(table, (f.key,), unique=True)
            if f.key in stored and f.type in INDEXED_LINKS:
                add(table, (f.key,))
            if column_kind(f) == "junction":
                add(naming.junction_name(app.id, rt.key, f.key), ("target_id",))
        for cols in rt.indexes:
            if all(c in stored or c in naming.SYSTEM_COLUMNS for c in cols):
                add(table, tuple(cols))
        for col in rt.search:
            if col in stored:
                add_search(table, col)
    return specs


def build_tables(
    app: App, metadata: sa.MetaData, archived: Iterable[Archived] = ()
) -> dict[str, sa.Table]:
    """Declare the app's tables in ``metadata``: ``{rt_key: table, "rt.field": junction}``.

    ``archived`` lists the app's archived columns (see :func:`archived_for`); they stay
    declared so a table rebuild keeps them. The system ``users`` table is added to
    ``metadata`` when missing, so the ``created_by``/``user`` foreign keys resolve.
    """
    if "users" not in metadata.tables:
        system.users.to_metadata(metadata)
    archived = list(archived)
    tables: dict[str, sa.Table] = {}
    app = expand(app)
    for rt in app.record_types:
        name = naming.table_name(app.id, rt.key)
        tables[rt.key] = sa.Table(name, metadata, *record_columns(app, rt, archived))
    for rt in app.record_types:
        for f in rt.fields:
            if column_kind(f) == "junction":
                name = naming.junction_name(app.id, rt.key, f.key)
                tables[f"{rt.key}.{f.key}"] = sa.Table(
                    name, metadata, *junction_columns(app, rt, f)
                )
    _attach_indexes(app, tables)
    return tables


def _attach_indexes(app: App, tables: Mapping[str, sa.Table]) -> None:
    by_name = {t.name: t for t in tables.values()}
    for spec in index_specs(app).values():
        table = by_name[spec.table]
        if spec.trigram:
            col = table.c[spec.columns[0]]
            sa.Index(
                spec.name, col, postgresql_using="gin", postgresql_ops={col.name: "gin_trgm_ops"}
            ).ddl_if(dialect="postgresql")
        else:
            sa.Index(spec.name, *(table.c[c] for c in spec.columns), unique=spec.unique)


def archived_for(conn: sa.Connection, app_id: str) -> list[Archived]:
    """The archived columns recorded for ``app_id``."""
    t = system.archived_columns
    rows = conn.execute(sa.select(t).where(t.c.app_id == app_id).order_by(t.c.id))
    return [Archived(r.record_type, r.field, r.column, r.field_type, r.options or {}) for r in rows]
