"""Search tables on SQLite: an FTS5 trigram index over a record type's declared search fields.

PostgreSQL indexes search fields with pg_trgm GIN indexes (see :mod:`.tables`), which its
ILIKE uses directly. SQLite's LIKE cannot use an index for ``%text%``, so each record type
that declares ``search:`` gets an external-content FTS5 table (``fx_<table>``, tokenizer
``trigram``) kept current by triggers on the record table. An upgrade drops the FTS table
and its triggers first (before any table rebuild or rename) and builds them again last.
"""

from __future__ import annotations

import sqlalchemy as sa

from tessera.meta.model import App


def fts_name(table: str) -> str:
    """The FTS5 table beside record table ``table``."""
    return f"fx_{table}"


def search_tables(app: App | None, table_name) -> dict[str, tuple[str, ...]]:
    """{record table: declared search columns} of ``app``."""
    if app is None:
        return {}
    return {table_name(app.id, rt.key): rt.search for rt in app.record_types if rt.search}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def drop_sql(table: str) -> list[str]:
    """Statements removing the FTS table and triggers of ``table`` (safe when absent)."""
    fts = fts_name(table)
    triggers = [f"DROP TRIGGER IF EXISTS {_q(f'{fts}_{s}')}" for s in ("ai", "ad", "au")]
    return [*triggers, f"DROP TABLE IF EXISTS {_q(fts)}"]


def build_sql(table: str, columns: tuple[str, ...]) -> list[str]:
    """Statements creating the FTS table and triggers of ``table`` and filling it."""
    fts, t = fts_name(table), _q(table)
    cols = ", ".join(_q(c) for c in columns)
    new = ", ".join(f"new.{_q(c)}" for c in columns)
    old = ", ".join(f"old.{_q(c)}" for c in columns)
    delete = f"INSERT INTO {_q(fts)}({_q(fts)}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {_q(fts)}(rowid, {cols}) VALUES (new.id, {new});"
    return [
        f"CREATE VIRTUAL TABLE {_q(fts)} USING fts5({cols}, content={t}, "
        "content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER {_q(fts + '_ai')} AFTER INSERT ON {t} BEGIN {insert} END",
        f"CREATE TRIGGER {_q(fts + '_ad')} AFTER DELETE ON {t} BEGIN {delete} END",
        f"CREATE TRIGGER {_q(fts + '_au')} AFTER UPDATE ON {t} BEGIN {delete} {insert} END",
        f"INSERT INTO {_q(fts)}({_q(fts)}) VALUES ('rebuild')",
    ]


def match_ids(table: sa.Table, q: str) -> sa.Select:
    """SELECT the ids of rows of ``table`` whose search fields contain ``q`` (3+ characters)."""
    fts = sa.table(fts_name(table.name), sa.column("rowid"))
    phrase = '"' + q.replace('"', '""') + '"'
    match = sa.text(f"{_q(fts.name)} MATCH :phrase").bindparams(phrase=phrase)
    return sa.select(fts.c.rowid).where(match)
