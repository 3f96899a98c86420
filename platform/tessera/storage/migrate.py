"""Diff two versions of an app's Meta into an ordered migration :class:`Plan`, and apply it.

:func:`plan` is pure (no database): it compares the old and new Meta and lists steps,
each with a human description and a ``data_loss`` flag. :func:`apply` runs them on a
connection with Alembic's runtime ``Operations``, inside the caller's transaction; every
step first gets a ``check`` (read-only, e.g. "do all values convert?") before any DDL runs.

Child tables (``table`` fields) are planned as the record types ``meta.children.expand``
adds, so adding, renaming or removing a table field or one of its row fields takes the
same steps as for a record type (a removed table field's rows are archived, not dropped).

Order: drop stale indexes, rename/archive/drop tables, create tables, column changes per
table (renames, removals, additions, option values, retypes, rebuilds), create indexes.

Select options: a value the new version drops is mapped to the option naming it in
``renamed_from``, else refused while records hold it (or cleared with purge). A new
field's literal ``default`` is written into the rows already there, and the plan says so.

SQLite notes: columns are added, renamed and dropped with SQLite's own ALTER TABLE (it
can inside a transaction); only dropping or changing a foreign-key column needs a table
rebuild (``batch_alter_table``). Such a rebuild drops the old table, which with foreign
keys on would fire ON DELETE actions in tables that reference it, so it is refused when
other rows point at that table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from tessera.errors import FieldValueError, InstallError
from tessera.fields import for_field
from tessera.meta.children import expand
from tessera.meta.model import App, Field, RecordType, thaw
from tessera.storage import naming, search, system
from tessera.storage.tables import (
    LINK_TYPES,
    IndexSpec,
    archived_for,
    build_tables,
    column_kind,
    field_column,
    index_specs,
    link_target,
    record_columns,
)

MAX_NAMED = 10  # offending rows named in a refusal


@dataclass
class Context:
    """What steps need while running: the connection, Alembic operations, the plan."""

    conn: sa.Connection
    op: Operations
    plan: Plan
    #: foreign keys whose target table did not exist yet when their table was created
    deferred_fks: list = field(default_factory=list)

    @property
    def sqlite(self) -> bool:
        """True on SQLite."""
        return self.conn.dialect.name == "sqlite"


@dataclass
class Step:
    """One migration step. Subclasses implement ``check`` (read-only) and ``run``."""

    description: str = field(init=False, default="")
    data_loss: bool = field(init=False, default=False)

    kind = "step"

    def check(self, ctx: Context) -> None:
        """Refuse (raise InstallError) before any DDL when this step cannot succeed."""

    def run(self, ctx: Context) -> None:
        """Apply the step."""
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        """JSON form, stored in schema_history."""
        return {"step": self.kind, "description": self.description, "data_loss": self.data_loss}


@dataclass
class Plan:
    """The ordered steps that take an app from ``from_version`` to ``to_version``."""

    app_id: str
    from_version: str | None
    to_version: str
    steps: list[Step]
    new_app: App

    @property
    def data_loss(self) -> list[Step]:
        """Steps that destroy stored data (only planned with ``purge=True``)."""
        return [s for s in self.steps if s.data_loss]

    def describe(self) -> list[str]:
        """One human-readable line per step."""
        return [("[DATA LOSS] " if s.data_loss else "") + s.description for s in self.steps]

    def as_json(self) -> list[dict[str, Any]]:
        """The steps as plain data."""
        return [s.as_dict() for s in self.steps]


# ---------------------------------------------------------------- helpers


def _count(conn: sa.Connection, table: str) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar())


def _has_table(conn: sa.Connection, table: str) -> bool:
    return sa.inspect(conn).has_table(table)


def _sqlite_referrers(conn: sa.Connection, table: str) -> list[tuple[str, str]]:
    """(table, column) pairs elsewhere that point at ``table`` and hold values."""
    found = []
    insp = sa.inspect(conn)
    for other in insp.get_table_names():
        if other == table:
            continue
        for fk in insp.get_foreign_keys(other):
            if fk["referred_table"] != table:
                continue
            col = fk["constrained_columns"][0]
            q = sa.select(sa.func.count()).select_from(sa.table(other, sa.column(col)))
            if conn.execute(q.where(sa.column(col).is_not(None))).scalar():
                found.append((other, col))
    return found


def _sqlite_guard(ctx: Context, table: str, what: str) -> None:
    refs = _sqlite_referrers(ctx.conn, table)
    if refs:
        names = ", ".join(f"{t}.{c}" for t, c in refs)
        raise InstallError(
            f"cannot {what} on SQLite: rebuilding table {table} would fire the ON DELETE "
            f"actions of rows that link to it ({names}); use PostgreSQL, or clear those links first"
        )


def _rebuild_sqlite(ctx: Context, rt_key: str) -> None:
    """Recreate a record table to match the new Meta (SQLite cannot alter foreign keys)."""
    app = expand(ctx.plan.new_app)
    rt = app.record_type(rt_key)
    table = naming.table_name(app.id, rt_key)
    _sqlite_guard(ctx, table, f"change foreign keys of record type {rt_key}")
    md = sa.MetaData()
    system.users.to_metadata(md)
    target = sa.Table(table, md, *record_columns(app, rt, archived_for(ctx.conn, app.id)))
    with ctx.op.batch_alter_table(table, recreate="always", copy_from=target):
        pass


def _add_column(ctx: Context, table: str, column: sa.Column) -> None:
    """Add a column; on SQLite a foreign key must be declared inline with ADD COLUMN."""
    fks = list(column.foreign_keys)
    if not (ctx.sqlite and fks):
        plain = sa.Column(column.name, column.type, nullable=True)
        ctx.op.add_column(table, plain)
        for fk in fks:
            ref = fk.target_fullname.split(".")[0]
            ctx.op.create_foreign_key(
                fk.name, table, ref, [column.name], ["id"], ondelete=fk.ondelete
            )
        return
    fk = fks[0]
    prep = ctx.conn.dialect.identifier_preparer
    coltype = column.type.compile(dialect=ctx.conn.dialect)
    ref = fk.target_fullname.split(".")[0]
    ctx.conn.exec_driver_sql(
        f"ALTER TABLE {prep.quote(table)} ADD COLUMN {prep.quote(column.name)} {coltype} "
        f"CONSTRAINT {prep.quote(fk.name)} REFERENCES {prep.quote(ref)}(id) ON DELETE {fk.ondelete}"
    )


def _type_sig(field: Field) -> str:
    return repr(for_field(field).column_type(field))


# ---------------------------------------------------------------- steps


@dataclass
class DropIndex(Step):
    """Drop an index that the new version no longer has (or will rebuild)."""

    spec: IndexSpec
    kind = "drop_index"

    def __post_init__(self) -> None:
        self.description = f"drop index {self.spec.name} on {self.spec.table}"

    def run(self, ctx: Context) -> None:
        """Drop the index (a search index exists on PostgreSQL only)."""
        if self.spec.trigram and ctx.sqlite:
            return
        ctx.op.drop_index(self.spec.name, table_name=self.spec.table)


@dataclass
class CreateIndex(Step):
    """Create an index (unique for ``unique`` fields)."""

    spec: IndexSpec
    kind = "create_index"

    def __post_init__(self) -> None:
        what = "unique index" if self.spec.unique else "index"
        if self.spec.trigram:
            what = "search index (PostgreSQL)"
        cols = ", ".join(self.spec.columns)
        self.description = f"create {what} {self.spec.name} on {self.spec.table} ({cols})"

    def run(self, ctx: Context) -> None:
        """Create the index; for a unique one, refuse first when values repeat."""
        s = self.spec
        if s.trigram:
            self._create_search_index(ctx)
            return
        if s.unique:
            self._refuse_duplicates(ctx)
        ctx.op.create_index(s.name, s.table, list(s.columns), unique=s.unique)

    def _create_search_index(self, ctx: Context) -> None:
        # SQLite searches with LIKE over the table (the embedded default's sizes);
        # PostgreSQL gets a pg_trgm GIN index that ILIKE '%text%' uses.
        if ctx.sqlite:
            return
        try:
            with ctx.conn.begin_nested():
                ctx.conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except sa.exc.DBAPIError as exc:
            raise InstallError(
                f"search on {self.spec.table}.{self.spec.columns[0]} needs the pg_trgm "
                f"extension: run CREATE EXTENSION pg_trgm as a superuser once ({exc.orig})"
            ) from None
        col = self.spec.columns[0]
        ctx.op.create_index(
            self.spec.name,
            self.spec.table,
            [col],
            postgresql_using="gin",
            postgresql_ops={col: "gin_trgm_ops"},
        )

    def _refuse_duplicates(self, ctx: Context) -> None:
        col = sa.column(self.spec.columns[0])
        q = (
            sa.select(col, sa.func.count())
            .select_from(sa.table(self.spec.table, col))
            .where(col.is_not(None))
            .group_by(col)
            .having(sa.func.count() > 1)
            .limit(MAX_NAMED)
        )
        dupes = ctx.conn.execute(q).all()
        if dupes:
            shown = ", ".join(f"{v!r} ({n} rows)" for v, n in dupes)
            raise InstallError(
                f"{self.spec.table}.{self.spec.columns[0]} cannot become unique: "
                f"repeated values {shown}; make them distinct first"
            )


@dataclass
class RenameTable(Step):
    """Rename a record table (record type ``renamed_from``) or a junction table."""

    old: str
    new: str
    app_id: str
    old_key: str | None = None  # record type keys, when this is a record table
    new_key: str | None = None
    kind = "rename_table"

    def __post_init__(self) -> None:
        self.description = f"rename table {self.old} -> {self.new}"

    def check(self, ctx: Context) -> None:
        """Refuse when the new name is taken."""
        if _has_table(ctx.conn, self.new):
            raise InstallError(f"cannot rename {self.old} to {self.new}: that table exists")

    def run(self, ctx: Context) -> None:
        """Rename, and move archived-column records along with a record type."""
        ctx.op.rename_table(self.old, self.new)
        if self.old_key and self.new_key:
            t = system.archived_columns
            ctx.conn.execute(
                sa.update(t)
                .where(t.c.app_id == self.app_id, t.c.record_type == self.old_key)
                .values(record_type=self.new_key)
            )


@dataclass
class ArchiveTable(RenameTable):
    """Keep a removed record type's (or link_many's) rows in a renamed table."""

    kind = "archive_table"

    def __post_init__(self) -> None:
        self.description = f"archive table {self.old} as {self.new} (rows kept)"


@dataclass
class RetargetPolyLinks(Step):
    """Rewrite ``old:<id>`` to ``new:<id>`` in a polymorphic link column (a renamed type)."""

    table: str
    column: str
    old_key: str
    new_key: str
    kind = "retarget_poly_links"

    def __post_init__(self) -> None:
        self.description = (
            f"point {self.table}.{self.column} values at {self.new_key} (was {self.old_key})"
        )

    def run(self, ctx: Context) -> None:
        """One UPDATE; the id part is kept as it is."""
        col = sa.column(self.column)
        prefix = f"{self.old_key}:"
        escaped = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
        rest = sa.func.substr(col, len(prefix) + 1)
        ctx.conn.execute(
            sa.update(sa.table(self.table, col))
            .where(col.like(escaped + "%", escape="/"))
            .values({self.column: sa.literal(f"{self.new_key}:") + rest})
        )


@dataclass
class PolyTargetGone(Step):
    """A polymorphic link no longer points at ``rt_key``: refused while rows still do."""

    table: str  # the table and column as installed (checked before any DDL)
    column: str
    rt_key: str
    field_path: str
    kind = "poly_target_gone"

    def __post_init__(self) -> None:
        self.description = f"{self.field_path} no longer links to {self.rt_key}"

    def check(self, ctx: Context) -> None:
        """Count the rows that still point at the dropped type; refuse when there are any."""
        col = sa.column(self.column)
        escaped = self.rt_key.replace("/", "//").replace("%", "/%").replace("_", "/_")
        query = sa.select(sa.func.count()).select_from(sa.table(self.table, col))
        n = ctx.conn.execute(query.where(col.like(escaped + ":%", escape="/"))).scalar()
        if n:
            raise InstallError(
                f"{self.field_path}: {n} record(s) still link to {self.rt_key}; point them "
                f"elsewhere or empty the field first, or keep {self.rt_key} in its `to`"
            )

    def run(self, ctx: Context) -> None:
        """Nothing to change: ``check`` made sure no row holds the dropped type."""


@dataclass
class DropTable(Step):
    """Drop a removed record type's or link_many's table with its rows (purge)."""

    table: str
    kind = "drop_table"

    def __post_init__(self) -> None:
        self.description = f"drop table {self.table} and all its rows"
        self.data_loss = True

    def run(self, ctx: Context) -> None:
        """Drop the table (on PostgreSQL also the FKs of archived columns pointing at it)."""
        if ctx.sqlite:
            _sqlite_guard(ctx, self.table, f"drop table {self.table}")
            ctx.op.drop_table(self.table)
        else:
            ctx.op.execute(f'DROP TABLE "{self.table}" CASCADE')


@dataclass
class CreateTable(Step):
    """Create a new record table or junction table (indexes come in a later step)."""

    table: sa.Table
    kind = "create_table"

    def __post_init__(self) -> None:
        self.description = f"create table {self.table.name}"

    def check(self, ctx: Context) -> None:
        """Refuse when a table of that name exists (e.g. left by another install)."""
        if _has_table(ctx.conn, self.table.name):
            raise InstallError(f"table {self.table.name} already exists in the database")

    def run(self, ctx: Context) -> None:
        """CREATE TABLE without its indexes.

        PostgreSQL checks a foreign key's target at once, so two new record types that
        link to each other would fail whichever comes first: keys to tables not created
        yet are added after every table exists (SQLite checks them only on writes).
        """
        if ctx.sqlite:
            ctx.conn.execute(sa.schema.CreateTable(self.table))
            return
        now, later = [], []
        for fk in self.table.foreign_key_constraints:
            target = fk.referred_table.name
            ready = target == self.table.name or _has_table(ctx.conn, target)
            (now if ready else later).append(fk)
        ctx.conn.execute(sa.schema.CreateTable(self.table, include_foreign_key_constraints=now))
        ctx.deferred_fks.extend(later)


@dataclass
class AddColumn(Step):
    """Add a stored field's column; a field's literal default fills the existing rows."""

    table: str
    old_table: str | None  # where the rows are before this upgrade (None: new table)
    rt_key: str
    field: Field
    app_id: str
    kind = "add_column"

    def __post_init__(self) -> None:
        self.description = f"add field {self.rt_key}.{self.field.key} ({self.field.type})"
        fill = _literal_default(self.field)
        if self.old_table and fill is not _NO_DEFAULT:
            self.description += f"; existing records get the default {thaw(self.field.default)!r}"

    def check(self, ctx: Context) -> None:
        """A required field without a literal default cannot join a table holding rows."""
        f = self.field
        if not f.required or not self.old_table or _literal_default(f) is not _NO_DEFAULT:
            return
        n = _count(ctx.conn, self.old_table)
        if n:
            raise InstallError(
                f"cannot add required field {self.rt_key}.{f.key}: {n} existing record(s) "
                "would have no value; give the field a default, or make it not required"
            )

    def run(self, ctx: Context) -> None:
        """Add the column (with FK), then write the default into every existing row."""
        _add_column(ctx, self.table, field_column(self.app_id, self.table, self.field))
        value = _literal_default(self.field)
        if self.old_table and value is not _NO_DEFAULT:
            col = sa.column(self.field.key, for_field(self.field).column_type(self.field))
            ctx.conn.execute(sa.update(sa.table(self.table, col)).values({col: value}))


_NO_DEFAULT = object()


def _literal_default(f: Field) -> Any:
    """The stored value of ``f``'s default, or _NO_DEFAULT (none, or computed per record).

    Computed defaults (``today``, ``$me``, an expression) do not coerce as plain values:
    they apply to new records only, so existing rows stay empty.
    """
    if f.default is None:
        return _NO_DEFAULT
    try:
        value = for_field(f).coerce(f, thaw(f.default))
    except (FieldValueError, ValueError, TypeError, ArithmeticError, KeyError):
        return _NO_DEFAULT
    return _NO_DEFAULT if value is None else value


@dataclass
class RenameColumn(Step):
    """Rename a field's column (field ``renamed_from``); rows keep their values."""

    table: str
    old: str
    new: str
    rt_key: str
    kind = "rename_column"

    def __post_init__(self) -> None:
        self.description = f"rename field {self.rt_key}.{self.old} -> {self.new}"

    def run(self, ctx: Context) -> None:
        """ALTER TABLE ... RENAME COLUMN."""
        ctx.op.alter_column(self.table, self.old, new_column_name=self.new)


@dataclass
class Retype(Step):
    """Change a field's type, converting every stored value (checked before any DDL)."""

    table: str
    old_table: str
    old_column: str
    rt_key: str
    old_field: Field
    new_field: Field
    kind = "retype"
    _values: list[tuple[int, Any]] = field(init=False, default_factory=list, repr=False)

    def __post_init__(self) -> None:
        o, n = self.old_field, self.new_field
        self.description = f"retype field {self.rt_key}.{n.key}: {o.type} -> {n.type}"

    def check(self, ctx: Context) -> None:
        """Convert every stored value now; refuse naming the rows that do not convert."""
        col = sa.column(self.old_column)
        q = sa.select(sa.column("id"), col).select_from(sa.table(self.old_table))
        rows = ctx.conn.execute(q.where(col.is_not(None)).order_by(sa.column("id"))).all()
        self._values, bad = [], []
        for rid, raw in rows:
            try:
                self._values.append((rid, self._convert(raw)))
            except (FieldValueError, ValueError, TypeError, ArithmeticError) as exc:
                bad.append((rid, raw, str(exc)))
        if bad:
            self._refuse(bad)

    def _convert(self, raw: Any) -> Any:
        o, n = self.old_field, self.new_field
        new_type = for_field(n)
        convert = getattr(new_type, "convert", None)
        if convert is not None:
            return convert(o, n, raw)
        return new_type.coerce(n, for_field(o).to_json(o, raw))

    def _refuse(self, bad: list[tuple[int, Any, str]]) -> None:
        shown = "; ".join(f"id {rid}: {raw!r} ({why})" for rid, raw, why in bad[:MAX_NAMED])
        more = f" and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else ""
        raise InstallError(
            f"cannot change {self.rt_key}.{self.new_field.key} from {self.old_field.type} to "
            f"{self.new_field.type}: {len(bad)} value(s) do not convert — {shown}{more}. "
            "Fix or clear these values first, or keep the old type"
        )

    def run(self, ctx: Context) -> None:
        """Write the converted values into a new column that replaces the old one."""
        n = self.new_field
        new_type = for_field(n).column_type(n)
        same = _type_sig(self.old_field) == _type_sig(n)
        target = n.key if same else f"_tessera_new_{n.key}"
        if not same:
            ctx.op.add_column(self.table, sa.Column(target, new_type, nullable=True))
        col = sa.column(target, new_type)
        stmt = (
            sa.update(sa.table(self.table, sa.column("id"), col))
            .where(sa.column("id") == sa.bindparam("_id"))
            .values({col: sa.bindparam("_v", type_=new_type)})
        )
        if self._values:
            ctx.conn.execute(stmt, [{"_id": i, "_v": v} for i, v in self._values])
        if not same:
            ctx.op.drop_column(self.table, n.key)
            ctx.op.alter_column(self.table, target, new_column_name=n.key)


@dataclass
class ArchiveColumn(Step):
    """Keep a removed field's data: rename its column and record it in archived_columns."""

    table: str
    app_id: str
    rt_key: str
    field: Field
    version: str
    kind = "archive_column"

    @property
    def archived_name(self) -> str:
        """The column's name once archived."""
        return naming.archived_column(self.field.key, self.version)

    def __post_init__(self) -> None:
        self.description = (
            f"archive field {self.rt_key}.{self.field.key} as column {self.archived_name} "
            "(data kept; upgrade with purge to drop it)"
        )

    def run(self, ctx: Context) -> None:
        """Rename the column and record it."""
        ctx.op.alter_column(self.table, self.field.key, new_column_name=self.archived_name)
        ctx.conn.execute(
            sa.insert(system.archived_columns).values(
                app_id=self.app_id,
                record_type=self.rt_key,
                field=self.field.key,
                column=self.archived_name,
                version=self.version,
                field_type=self.field.type,
                options=dict(self.field.options),
            )
        )


@dataclass
class DropColumn(Step):
    """Drop a removed field's column with its data (purge)."""

    table: str
    rt_key: str
    field: Field
    kind = "drop_column"

    def __post_init__(self) -> None:
        self.description = f"drop field {self.rt_key}.{self.field.key} and its data"
        self.data_loss = True

    def run(self, ctx: Context) -> None:
        """Drop it; a foreign-key column on SQLite needs a table rebuild."""
        if ctx.sqlite and self.field.type in LINK_TYPES:
            _rebuild_sqlite(ctx, self.rt_key)
        else:
            ctx.op.drop_column(self.table, self.field.key)


CHOICE_TYPES = ("select", "multi_select")


def option_values(f: Field) -> list[str]:
    """The option values of a select or multi_select field, in declared order."""
    return [o["value"] for o in f.opt("options") or () if isinstance(o, Mapping)]


def option_renames(f: Field) -> dict[str, str]:
    """old value -> new value, from the options' ``renamed_from`` (a value or a list)."""
    out: dict[str, str] = {}
    for o in f.opt("options") or ():
        src = o.get("renamed_from") if isinstance(o, Mapping) else None
        for old in [src] if isinstance(src, str) else list(src or ()):
            out[old] = o["value"]
    return out


@dataclass
class ChangeOptions(Step):
    """Rewrite stored values of options that a select/multi_select no longer has.

    A removed value that a new option names in ``renamed_from`` is mapped to it. Any
    other removed value is refused (naming the option, field and row count) while rows
    hold it, unless the upgrade purges: then those values are cleared (data loss).
    """

    table: str
    old_table: str
    old_column: str
    rt_key: str
    field: Field  # the new field
    mapping: dict[str, str]
    removed: tuple[str, ...]  # old values with no mapping
    purge: bool = False
    kind = "change_options"

    def __post_init__(self) -> None:
        where = f"{self.rt_key}.{self.field.key}"
        parts = [f"{old!r} -> {new!r}" for old, new in self.mapping.items()]
        text = f"map options of {where}: {', '.join(parts)}" if parts else ""
        if self.removed:
            gone = ", ".join(repr(v) for v in self.removed)
            how = "clear it where records hold it" if self.purge else "refused if records hold it"
            text = (text + "; " if text else "") + f"remove option(s) {gone} of {where} ({how})"
        self.description = text
        self.data_loss = bool(self.removed) and self.purge

    def _multi(self) -> bool:
        return self.field.type == "multi_select"

    def _holding(self, ctx: Context, table: str, column: str) -> dict[str, int]:
        """How many rows hold each removed value."""
        col = sa.column(column)
        counts = dict.fromkeys(self.removed, 0)
        if not self._multi():
            q = (
                sa.select(col, sa.func.count())
                .select_from(sa.table(table, col))
                .where(col.in_(self.removed))
                .group_by(col)
            )
            counts.update({v: int(n) for v, n in ctx.conn.execute(q)})
            return counts
        for values in self._lists(ctx, table, column).values():
            for v in set(values) & set(counts):
                counts[v] += 1
        return counts

    def _lists(self, ctx: Context, table: str, column: str) -> dict[int, list]:
        col = sa.column(column, sa.JSON())
        q = (
            sa.select(sa.column("id"), col)
            .select_from(sa.table(table, col))
            .where(col.is_not(None))
        )
        return {rid: v for rid, v in ctx.conn.execute(q) if isinstance(v, list)}

    def check(self, ctx: Context) -> None:
        """Refuse removing an option that records hold, naming it and the count."""
        if not self.removed or self.purge:
            return
        held = {v: n for v, n in self._holding(ctx, self.old_table, self.old_column).items() if n}
        if held:
            shown = "; ".join(f"option {v!r} is held by {n} record(s)" for v, n in held.items())
            first = next(iter(held))
            raise InstallError(
                f"cannot remove options of {self.rt_key}.{self.field.key}: {shown}. Map each "
                f"to a remaining option (e.g. on that option: renamed_from: {first}), keep the "
                "option, or upgrade with purge to clear these values"
            )

    def run(self, ctx: Context) -> None:
        """UPDATE the values (select), or rewrite each list (multi_select)."""
        cleared = {v: None for v in self.removed} if self.purge else {}
        change = {**self.mapping, **cleared}
        if self._multi():
            self._run_multi(ctx, change)
            return
        col = sa.column(self.field.key)
        table = sa.table(self.table, col)
        for old, new in change.items():
            ctx.conn.execute(sa.update(table).where(col == old).values({col: new}))

    def _run_multi(self, ctx: Context, change: dict[str, str | None]) -> None:
        order = {v: i for i, v in enumerate(option_values(self.field))}
        col = sa.column(self.field.key, sa.JSON())
        stmt = (
            sa.update(sa.table(self.table, sa.column("id"), col))
            .where(sa.column("id") == sa.bindparam("_id"))
            .values({col: sa.bindparam("_v", type_=sa.JSON())})
        )
        updates = []
        for rid, values in self._lists(ctx, self.table, self.field.key).items():
            if not set(values) & set(change):
                continue
            mapped = {change.get(v, v) for v in values} - {None}
            new = sorted(mapped, key=lambda v: order.get(v, len(order))) or None
            updates.append({"_id": rid, "_v": new})
        if updates:
            ctx.conn.execute(stmt, updates)


@dataclass
class ChangeOnDelete(Step):
    """Change what deleting a linked record does (link ``on_delete``)."""

    table: str
    rt_key: str
    field: Field
    app_id: str
    kind = "change_on_delete"

    def __post_init__(self) -> None:
        how = self.field.opt("on_delete", "restrict")
        self.description = f"change {self.rt_key}.{self.field.key} on_delete to {how}"

    def run(self, ctx: Context) -> None:
        """Replace the foreign key (SQLite: rebuild the table)."""
        if ctx.sqlite:
            _rebuild_sqlite(ctx, self.rt_key)
            return
        for fk in sa.inspect(ctx.conn).get_foreign_keys(self.table):
            if fk["constrained_columns"] == [self.field.key]:
                ctx.op.drop_constraint(fk["name"], self.table, type_="foreignkey")
        ref, on_delete = link_target(self.app_id, self.field)
        name = naming.fk_name(self.table, self.field.key)
        ctx.op.create_foreign_key(
            name, self.table, ref, [self.field.key], ["id"], ondelete=on_delete
        )


@dataclass
class DropSearchTable(Step):
    """Remove a record table's SQLite search table and triggers (rebuilt by a later step)."""

    table: str
    kind = "drop_search"

    def __post_init__(self) -> None:
        self.description = f"drop search table of {self.table} (SQLite)"

    def run(self, ctx: Context) -> None:
        """Drop on SQLite; nothing to do on PostgreSQL (trigram indexes are indexes)."""
        if ctx.sqlite:
            for sql in search.drop_sql(self.table):
                ctx.conn.exec_driver_sql(sql)


@dataclass
class BuildSearchTable(Step):
    """Create and fill a record table's SQLite FTS5 trigram table over its search fields."""

    table: str
    columns: tuple[str, ...]
    kind = "build_search"

    def __post_init__(self) -> None:
        cols = ", ".join(self.columns)
        self.description = f"build search table of {self.table} ({cols}) (SQLite)"

    def run(self, ctx: Context) -> None:
        """Create on SQLite; PostgreSQL searches through its trigram indexes."""
        if ctx.sqlite:
            for sql in search.drop_sql(self.table) + search.build_sql(self.table, self.columns):
                ctx.conn.exec_driver_sql(sql)


# ---------------------------------------------------------------- planning


@dataclass
class _Phases:
    drop_indexes: list[Step] = field(default_factory=list)
    tables: list[Step] = field(default_factory=list)
    creates: list[Step] = field(default_factory=list)
    renames: list[Step] = field(default_factory=list)
    removals: list[Step] = field(default_factory=list)
    drops: list[Step] = field(default_factory=list)
    adds: list[Step] = field(default_factory=list)
    values: list[Step] = field(default_factory=list)
    retypes: list[Step] = field(default_factory=list)
    rebuilds: list[Step] = field(default_factory=list)
    create_indexes: list[Step] = field(default_factory=list)

    def ordered(self) -> list[Step]:
        return [
            *self.drop_indexes,
            *self.tables,
            *self.creates,
            *self.renames,
            *self.removals,
            *self.drops,
            *self.adds,
            *self.values,
            *self.retypes,
            *self.rebuilds,
            *self.create_indexes,
        ]


class _Planner:
    """Builds a Plan; one method per kind of difference."""

    def __init__(self, old: App | None, new: App, purge: bool) -> None:
        self.old, self.new, self.purge = old, new, purge
        self.p = _Phases()
        self.touched: set[tuple[str, str]] = set()  # (table, column) whose indexes rebuild
        self.rebuilt: set[str] = set()  # tables that may be rebuilt whole
        self.new_tables = build_tables(new, sa.MetaData())
        self.rt_renames = self._match_record_types()

    def _match_record_types(self) -> dict[str, str]:
        """new key -> old key for record types present in both versions."""
        if self.old is None:
            return {}
        pairs = {}
        for rt in self.new.record_types:
            if self.old.has_record_type(rt.key):
                pairs[rt.key] = rt.key
            elif self._renamed(rt):
                pairs[rt.key] = rt.renamed_from
        return pairs

    def _renamed(self, rt: RecordType) -> bool:
        src = rt.renamed_from
        return bool(src) and self.old.has_record_type(src) and not self.new.has_record_type(src)

    def old_to_new_rt(self, old_key: str) -> str | None:
        """The new key of an old record type (None when removed)."""
        return next((n for n, o in self.rt_renames.items() if o == old_key), None)

    def build(self) -> Plan:
        """All steps in order."""
        self._plan_record_types()
        self._plan_poly_retargets()
        self._plan_indexes()
        self._sort_creates()
        old_version = self.old.version if self.old else None
        return Plan(self.new.id, old_version, self.new.version, self.p.ordered(), self.new)

    def _plan_record_types(self) -> None:
        for rt in self.new.record_types:
            old_key = self.rt_renames.get(rt.key)
            if old_key is None:
                self._new_record_type(rt)
            else:
                self._changed_record_type(self.old.record_type(old_key), rt)
        for old_rt in self.old.record_types if self.old else ():
            if self.old_to_new_rt(old_rt.key) is None:
                self._removed_record_type(old_rt)

    def _plan_poly_retargets(self) -> None:
        """Stored ``customer:3`` values follow a renamed record type (no FK does it), and
        a type dropped from a polymorphic link's ``to`` must not be held by any row."""
        renamed = {new: old for new, old in self.rt_renames.items() if new != old}
        for rt in self.new.record_types:
            for f in rt.fields:
                if f.type != "poly_link":
                    continue
                self._poly_dropped_targets(rt, f)
                for target in f.opt("to") or ():
                    if target in renamed:
                        table = self._table(self.new, rt.key)
                        step = RetargetPolyLinks(table, f.key, renamed[target], target)
                        self.p.retypes.append(step)

    def _poly_dropped_targets(self, rt: RecordType, f: Field) -> None:
        old_key = self.rt_renames.get(rt.key)
        if old_key is None:
            return
        old_rt = self.old.record_type(old_key)
        name = f.renamed_from if f.renamed_from and old_rt.has_field(f.renamed_from) else f.key
        if not old_rt.has_field(name) or old_rt.field(name).type != "poly_link":
            return
        for target in old_rt.field(name).opt("to") or ():
            if self.old_to_new_rt(target) not in (f.opt("to") or ()):
                table = self._table(self.old, old_key)
                path = f"record_types.{rt.key}.fields.{f.key}"
                self.p.removals.append(PolyTargetGone(table, name, target, path))

    def _table(self, app: App, rt_key: str) -> str:
        return naming.table_name(app.id, rt_key)

    def _new_record_type(self, rt: RecordType) -> None:
        self.p.creates.append(CreateTable(self.new_tables[rt.key]))
        for f in rt.fields:
            if column_kind(f) == "junction":
                self.p.creates.append(CreateTable(self.new_tables[f"{rt.key}.{f.key}"]))

    def _removed_record_type(self, rt: RecordType) -> None:
        for f in rt.fields:
            if column_kind(f) == "junction":
                self._remove_table(naming.junction_name(self.old.id, rt.key, f.key))
        self._remove_table(self._table(self.old, rt.key), record_table=True)

    def _remove_table(self, table: str, record_table: bool = False) -> None:
        # junctions go first (nothing references them); a record table goes after the
        # column removals, which may drop the links that point at it
        if self.purge:
            (self.p.drops if record_table else self.p.tables).append(DropTable(table))
        else:
            archived = naming.archived_table(table, self.new.version)
            self.p.tables.append(ArchiveTable(table, archived, self.new.id))

    def _changed_record_type(self, old_rt: RecordType, rt: RecordType) -> None:
        old_table, table = self._table(self.old, old_rt.key), self._table(self.new, rt.key)
        if old_table != table:
            self.p.tables.append(RenameTable(old_table, table, self.new.id, old_rt.key, rt.key))
        matched: set[str] = set()
        for f in rt.fields:
            of = self._match_field(old_rt, rt, f)
            if of is None:
                self._added_field(rt, f, table, old_table)
            else:
                matched.add(of.key)
                self._changed_field(old_rt, rt, of, f, table, old_table)
        for of in old_rt.fields:
            if of.key not in matched:
                self._removed_field(old_rt, rt.key, of, table)

    def _match_field(self, old_rt: RecordType, rt: RecordType, f: Field) -> Field | None:
        if old_rt.has_field(f.key):
            return old_rt.field(f.key)
        src = f.renamed_from
        if src and old_rt.has_field(src) and not rt.has_field(src):
            return old_rt.field(src)
        return None

    def _added_field(self, rt: RecordType, f: Field, table: str, old_table: str | None) -> None:
        kind = column_kind(f)
        if kind == "column":
            self.p.adds.append(AddColumn(table, old_table, rt.key, f, self.new.id))
        elif kind == "junction":
            self.p.creates.append(CreateTable(self.new_tables[f"{rt.key}.{f.key}"]))

    def _removed_field(self, old_rt: RecordType, rt_key: str, of: Field, table: str) -> None:
        kind = column_kind(of)
        if kind == "junction":
            self._remove_table(naming.junction_name(self.old.id, old_rt.key, of.key))
        elif kind == "column" and self.purge:
            self.p.removals.append(DropColumn(table, rt_key, of))
            if of.type in LINK_TYPES:
                self.rebuilt.add(table)
        elif kind == "column":
            self.touched.add((table, of.key))
            step = ArchiveColumn(table, self.new.id, rt_key, of, self.new.version)
            self.p.removals.append(step)

    def _changed_field(
        self, old_rt: RecordType, rt: RecordType, of: Field, f: Field, table: str, old_table: str
    ) -> None:
        ok, nk = column_kind(of), column_kind(f)
        if ok != nk:
            self._removed_field(old_rt, rt.key, of, table)
            self._added_field(rt, f, table, old_table)
            return
        if ok == "junction":
            self._changed_junction(old_rt, rt, of, f)
            return
        if ok == "none":
            return
        if of.key != f.key:
            self.p.renames.append(RenameColumn(table, of.key, f.key, rt.key))
        self._changed_column(old_rt, rt, of, f, table, old_table)

    def _mapped_target(self, of: Field) -> str | None:
        to = of.opt("to")
        return self.old_to_new_rt(to) if to else None

    def _changed_column(
        self, old_rt: RecordType, rt: RecordType, of: Field, f: Field, table: str, old_table: str
    ) -> None:
        linky = of.type in LINK_TYPES or f.type in LINK_TYPES
        if linky and (of.type != f.type or self._mapped_target(of) != f.opt("to")):
            raise InstallError(
                f"record_types.{rt.key}.fields.{f.key}: changing a {of.type} field into "
                f"{f.type}{' to ' + str(f.opt('to')) if f.opt('to') else ''} is not supported; "
                "add a new field under another key and remove this one"
            )
        if linky:
            if (of.opt("on_delete") or "restrict") != (f.opt("on_delete") or "restrict"):
                self.p.rebuilds.append(ChangeOnDelete(table, rt.key, f, self.new.id))
                self.rebuilt.add(table)
            return
        if of.type != f.type or _type_sig(of) != _type_sig(f):
            step = Retype(table, old_table, of.key, rt.key, of, f)
            self.p.retypes.append(step)
            self.touched.add((table, f.key))
        elif f.type in CHOICE_TYPES:
            self._changed_options(rt, of, f, table, old_table)

    def _changed_options(
        self, rt: RecordType, of: Field, f: Field, table: str, old_table: str
    ) -> None:
        kept = set(option_values(f))
        gone = [v for v in option_values(of) if v not in kept]
        if not gone:
            return
        renames = option_renames(f)
        mapping = {v: renames[v] for v in gone if v in renames}
        removed = tuple(v for v in gone if v not in renames)
        step = ChangeOptions(table, old_table, of.key, rt.key, f, mapping, removed, self.purge)
        self.p.values.append(step)

    def _changed_junction(self, old_rt: RecordType, rt: RecordType, of: Field, f: Field) -> None:
        if self._mapped_target(of) != f.opt("to"):
            raise InstallError(
                f"record_types.{rt.key}.fields.{f.key}: changing a link_many target "
                f"({of.opt('to')} -> {f.opt('to')}) is not supported; add a new field instead"
            )
        old = naming.junction_name(self.old.id, old_rt.key, of.key)
        new = naming.junction_name(self.new.id, rt.key, f.key)
        if old != new:
            self.p.tables.append(RenameTable(old, new, self.new.id))

    def _sort_creates(self) -> None:
        # referenced tables first, so PostgreSQL can resolve the foreign keys; keys in a
        # cycle are added once every table exists (CreateTable.run defers them)
        pairs = sa.schema.sort_tables_and_constraints(self.new_tables.values())
        order = {t.name: i for i, (t, _fks) in enumerate(pairs) if t is not None}
        self.p.creates.sort(key=lambda s: order[s.table.name])

    def _stale(self, spec: IndexSpec) -> bool:
        return spec.table in self.rebuilt or any(
            (spec.table, c) in self.touched for c in spec.columns
        )

    def _plan_indexes(self) -> None:
        old_specs = index_specs(self.old) if self.old else {}
        new_specs = index_specs(self.new)
        kept = {n for n, s in old_specs.items() if new_specs.get(n) == s and not self._stale(s)}
        self.p.drop_indexes += [DropIndex(s) for n, s in old_specs.items() if n not in kept]
        self.p.create_indexes += [CreateIndex(s) for n, s in new_specs.items() if n not in kept]
        self._plan_search_tables()

    def _plan_search_tables(self) -> None:
        old = search.search_tables(self.old, naming.table_name)
        new = search.search_tables(self.new, naming.table_name)
        stale = {
            t
            for t, cols in old.items()
            if new.get(t) != cols or t in self.rebuilt or any((t, c) in self.touched for c in cols)
        }
        self.p.drop_indexes += [DropSearchTable(t) for t in stale]
        fresh = {t: cols for t, cols in new.items() if t not in old or t in stale}
        self.p.create_indexes += [BuildSearchTable(t, cols) for t, cols in fresh.items()]


def plan(old: App | None, new: App, *, purge: bool = False) -> Plan:
    """The steps taking the database from ``old`` (None: not installed) to ``new``.

    Removed fields and record types are archived, or dropped when ``purge`` is True
    (those steps carry ``data_loss``). Raises InstallError for changes it cannot make.
    """
    plan = _Planner(expand(old), expand(new), purge).build()
    plan.new_app = new  # the app as declared (child tables are storage's business)
    return plan


def apply(connection: sa.Connection, plan: Plan) -> None:
    """Run ``plan`` on ``connection`` inside the caller's transaction: checks, then DDL."""
    ctx = Context(connection, Operations(MigrationContext.configure(connection)), plan)
    for step in plan.steps:
        step.check(ctx)
    for step in plan.steps:
        step.run(ctx)
    for fk in ctx.deferred_fks:
        connection.execute(sa.schema.AddConstraint(fk))
