"""System tables: users, installed apps, their versions and schema history, counters.

They live in their own :data:`metadata`, apart from the per-app record tables that
:mod:`tessera.storage.tables` builds. Declaring them at module level is a declaration,
not state: nothing touches a database until :func:`init_db` is called with an engine.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

metadata = sa.MetaData()

_now = sa.func.current_timestamp()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(150), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200)),
    sa.Column("email", sa.String(320)),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("role", sa.String(50), nullable=False, server_default="user"),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("locale", sa.String(20), nullable=False, server_default="en"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    # IANA zone (e.g. Asia/Shanghai); NULL follows the installation's default zone
    sa.Column("timezone", sa.String(64)),
    # bumped to end every session of the user at once (sign-out everywhere, deactivation,
    # password reset): a session cookie carries the generation it was issued under
    sa.Column("session_gen", sa.Integer, nullable=False, server_default="0"),
    # the last sign-in; NULL until the first, which keeps the browser's language and zone
    sa.Column("signed_in_at", sa.DateTime(timezone=True)),
)

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("label", sa.JSON),
    sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
)

app_versions = sa.Table(
    "app_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(100), nullable=False, index=True),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("source", sa.JSON, nullable=False),  # the template data
    sa.Column("source_text", sa.Text),  # the template as the admin wrote it
    sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("installed_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    # stable ids of record types, fields and options by name (tessera.merge.identity)
    sa.Column("ids", sa.JSON),
    # the author's template this version derives from, with its ids, when this version
    # holds local customisations (builder edits, a merge); NULL: the source is the author's
    sa.Column("upstream", sa.JSON),
    sa.Column("upstream_ids", sa.JSON),
)

schema_history = sa.Table(
    "schema_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(100), nullable=False, index=True),
    sa.Column("from_version", sa.String(50)),  # NULL for a first install
    sa.Column("to_version", sa.String(50), nullable=False),
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("outcome", sa.String(10), nullable=False),  # "ok" | "failed"
    sa.Column("error", sa.Text),
)

sequences = sa.Table(
    "sequences",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False, server_default="0"),
)

archived_columns = sa.Table(
    "archived_columns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(100), nullable=False, index=True),
    sa.Column("record_type", sa.String(100), nullable=False),
    sa.Column("field", sa.String(100), nullable=False),
    sa.Column("column", sa.String(200), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    # the removed field's type and options, so its column can be declared again
    sa.Column("field_type", sa.String(50), nullable=False),
    sa.Column("options", sa.JSON),
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
)


def init_db(engine: sa.Engine) -> None:
    """Create the system tables that do not exist yet (safe to call on every start).

    Columns added to a system table in a later release are added to an existing
    database too (each such column is nullable or has a server default).
    """
    with engine.begin() as conn:
        metadata.create_all(conn, checkfirst=True)
        _add_missing_columns(conn)


def _add_missing_columns(conn: sa.Connection) -> None:
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    inspector = sa.inspect(conn)
    ops = None
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                ops = ops or Operations(MigrationContext.configure(conn))
                ops.add_column(table.name, column._copy())


def reserve_sequence(conn: sa.Connection, name: str, count: int = 1, start: int = 1) -> int:
    """Advance counter ``name`` by ``count`` and return its new value (the last reserved).

    Runs in the caller's transaction. The counter row is created with ON CONFLICT DO
    NOTHING and advanced by one UPDATE, which row-locks it: concurrent writers (even on
    first use) each get their own numbers. A new counter's first value is ``start``.
    """
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(sequences)
        .values(name=name, value=start - 1)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    query = (
        sequences.update()
        .where(sequences.c.name == name)
        .values(value=sequences.c.value + count)
        .returning(sequences.c.value)
    )
    return int(conn.execute(query).scalar_one())


def next_sequence_value(conn: sa.Connection, name: str) -> int:
    """Increment and return counter ``name`` (first value 1) inside the caller's transaction."""
    return reserve_sequence(conn, name)
