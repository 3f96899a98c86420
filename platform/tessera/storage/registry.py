"""Runtime registry: the installed apps and their SQLAlchemy tables, for later layers.

Records, queries and the web layer take a :class:`Registry` explicitly (no globals);
call :meth:`Registry.reload` after an install or upgrade. Other processes notice it through
the ``schema.version`` counter (a row of ``sequences``) that every install, upgrade and
builder apply advances: :meth:`Registry.refresh_if_changed` (before each request and each
job) reloads when it moved.
"""

from __future__ import annotations

import sqlalchemy as sa

from tessera.errors import UnknownApp
from tessera.meta.model import App
from tessera.storage import installer, system
from tessera.storage.tables import archived_for, build_tables


class Registry:
    """Installed apps (``apps``) and their tables (``tables[app_id][key]``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.apps: dict[str, App] = {}
        self.tables: dict[str, dict[str, sa.Table]] = {}
        self.metadata = sa.MetaData()
        self.version: int | None = None
        self.reload()

    def reload(self) -> None:
        """Read the installed apps again and rebuild their table definitions."""
        metadata = sa.MetaData()
        apps: dict[str, App] = {}
        tables: dict[str, dict[str, sa.Table]] = {}
        with self.engine.connect() as conn:
            version = schema_version(conn)
            for app_id in conn.execute(
                sa.select(system.apps.c.id).order_by(system.apps.c.id)
            ).scalars():
                app = installer.load_installed(conn, app_id)
                apps[app.id] = app
                tables[app.id] = build_tables(app, metadata, archived_for(conn, app.id))
        self.apps, self.tables, self.metadata = apps, tables, metadata
        self.version = version

    def refresh_if_changed(self) -> bool:
        """Reload when another process installed or upgraded an app since; True if so."""
        with self.engine.connect() as conn:
            current = schema_version(conn)
        if current == self.version:
            return False
        self.reload()
        return True

    def app(self, app_id: str) -> App:
        """The installed app ``app_id``; UnknownApp when it is not installed."""
        try:
            return self.apps[app_id]
        except KeyError:
            raise UnknownApp(f"app {app_id!r} is not installed") from None

    def table(self, app_id: str, rt_key: str) -> sa.Table:
        """The table of record type (or ``"rt.field"`` junction) ``rt_key`` in ``app_id``."""
        tables = self.tables.get(app_id)
        if tables is None:
            raise UnknownApp(f"app {app_id!r} is not installed")
        try:
            return tables[rt_key]
        except KeyError:
            raise KeyError(f"app {app_id!r} has no record type {rt_key!r}") from None

    def junction(self, app_id: str, rt_key: str, field_key: str) -> sa.Table:
        """The junction table of link_many field ``field_key`` on ``rt_key``."""
        return self.table(app_id, f"{rt_key}.{field_key}")


def schema_version(conn: sa.Connection) -> int:
    """The installed-schema counter (0 before the first install that counted)."""
    seq = system.sequences
    value = conn.execute(sa.select(seq.c.value).where(seq.c.name == SCHEMA_VERSION)).scalar()
    return int(value or 0)


#: the sequences row advanced by every install, upgrade and builder apply
SCHEMA_VERSION = "schema.version"
