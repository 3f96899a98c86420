"""Database engine creation: SQLite (WAL, foreign keys, transactional DDL) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event


def create_engine(url: str, **kwargs) -> sa.Engine:
    """Create an engine; on SQLite turn on WAL and FKs and make DDL transactional."""
    url_obj = sa.make_url(url)
    if url_obj.get_backend_name() == "sqlite":
        if url_obj.database and url_obj.database != ":memory:":
            Path(url_obj.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    if url_obj.get_backend_name() == "postgresql" and url_obj.drivername == "postgresql":
        url_obj = url_obj.set(drivername="postgresql+psycopg")
    return sa.create_engine(url_obj, pool_pre_ping=True, **kwargs)


def _sqlite_setup(engine: sa.Engine) -> None:
    # pysqlite only BEGINs before DML, so DDL would autocommit and a failed upgrade could
    # not roll back; take over transaction control (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine_or_conn) -> bool:
    """True when the engine or connection talks to SQLite."""
    return engine_or_conn.dialect.name == "sqlite"
