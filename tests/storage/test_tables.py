"""Installed tables are real: columns, types, foreign keys with on_delete, unique, indexes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from libapp import library

from tessera.storage import installer, naming, system
from tessera.storage.registry import Registry
from tessera.storage.tables import build_tables


@pytest.fixture
def installed(eng):
    app, data = library()
    installer.install(eng, app, "text")
    return eng, app


def test_init_db_is_idempotent(eng):
    system.init_db(eng)
    names = set(sa.inspect(eng).get_table_names())
    assert {"users", "apps", "app_versions", "schema_history", "sequences"} <= names
    assert "archived_columns" in names


def test_build_tables_keys_and_columns():
    app, _ = library()
    tables = build_tables(app, sa.MetaData())
    assert set(tables) == {"author", "book", "book.fans"}
    book = tables["book"]
    assert book.name == "rt_lib_book"
    assert [c.name for c in book.c][:6] == list(naming.SYSTEM_COLUMNS)
    assert "fans" not in book.c  # link_many lives in the junction table
    assert set(tables["book.fans"].primary_key.columns.keys()) == {"source_id", "target_id"}


def test_tables_columns_exist(installed):
    eng, _ = installed
    insp = sa.inspect(eng)
    cols = {c["name"]: c for c in insp.get_columns("rt_lib_book")}
    assert set(cols) == {*naming.SYSTEM_COLUMNS, "title", "author", "editor", "agent", "owner"} | {
        "pages"
    }
    assert isinstance(cols["id"]["type"], sa.Integer)
    assert isinstance(cols["created_at"]["type"], sa.DateTime)
    assert not cols["version"]["nullable"]
    assert isinstance(cols["author"]["type"], sa.Integer)
    author_cols = {c["name"]: c for c in insp.get_columns("rt_lib_author")}
    assert isinstance(author_cols["name"]["type"], sa.String)
    assert insp.has_table("rt_lib_book__fans")


def test_foreign_keys_declared(installed):
    eng, _ = installed
    fks = {
        fk["constrained_columns"][0]: fk for fk in sa.inspect(eng).get_foreign_keys("rt_lib_book")
    }
    assert fks["author"]["referred_table"] == "rt_lib_author"
    assert fks["owner"]["referred_table"] == "users"
    assert fks["created_by"]["referred_table"] == "users"
    assert fks["author"]["options"].get("ondelete", "").upper() == "CASCADE"
    assert fks["editor"]["options"].get("ondelete", "").upper() == "SET NULL"


def test_indexes_exist(installed):
    eng, _ = installed
    idx = {i["name"]: i for i in sa.inspect(eng).get_indexes("rt_lib_book")}
    assert idx["ix_rt_lib_book__title_pages"]["column_names"] == ["title", "pages"]
    for col in ("author", "editor", "agent", "owner"):
        assert f"ix_rt_lib_book__{col}" in idx
    unique = {i["name"]: i for i in sa.inspect(eng).get_indexes("rt_lib_author")}
    assert unique["ux_rt_lib_author__email"]["unique"]


def _ids(conn, table, **values):
    t = sa.table(table, *(sa.column(k) for k in values), sa.column("id"))
    return conn.execute(sa.insert(t).values(**values).returning(t.c.id)).scalar()


def test_on_delete_actions_enforced(installed):
    eng, _ = installed
    with eng.begin() as conn:
        a1 = _ids(conn, "rt_lib_author", name="Ann")
        a2 = _ids(conn, "rt_lib_author", name="Bob")
        a3 = _ids(conn, "rt_lib_author", name="Cy")
        _ids(conn, "rt_lib_book", title="cascaded", author=a1)
        kept = _ids(conn, "rt_lib_book", title="nulled", editor=a2)
        _ids(conn, "rt_lib_book", title="restricting", agent=a3)
    with eng.begin() as conn:
        conn.execute(sa.text("DELETE FROM rt_lib_author WHERE id = :i"), {"i": a1})
        conn.execute(sa.text("DELETE FROM rt_lib_author WHERE id = :i"), {"i": a2})
        rows = conn.execute(sa.text("SELECT id, title, editor FROM rt_lib_book ORDER BY id")).all()
    assert [(r.title, r.editor) for r in rows] == [("nulled", None), ("restricting", None)]
    assert rows[0].id == kept
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
        conn.execute(sa.text("DELETE FROM rt_lib_author WHERE id = :i"), {"i": a3})


def test_unique_enforced(installed):
    eng, _ = installed
    with eng.begin() as conn:
        _ids(conn, "rt_lib_author", name="A", email="a@example.com")
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
        _ids(conn, "rt_lib_author", name="B", email="a@example.com")


def test_junction_cascades_both_ways(installed):
    eng, _ = installed
    with eng.begin() as conn:
        a = _ids(conn, "rt_lib_author", name="A")
        b = _ids(conn, "rt_lib_book", title="T")
        conn.execute(sa.text("INSERT INTO rt_lib_book__fans VALUES (:b, :a)"), {"a": a, "b": b})
        conn.execute(sa.text("DELETE FROM rt_lib_author WHERE id = :a"), {"a": a})
        n = conn.execute(sa.text("SELECT count(*) FROM rt_lib_book__fans")).scalar()
    assert n == 0


def test_registry_tables(installed):
    eng, app = installed
    reg = Registry(eng)
    assert reg.app("lib") == app
    assert reg.table("lib", "book").name == "rt_lib_book"
    assert reg.table("lib", "book.fans").name == "rt_lib_book__fans"
    with eng.begin() as conn:
        conn.execute(sa.insert(reg.table("lib", "author")).values(name="via registry"))
        got = conn.execute(sa.select(reg.table("lib", "author").c.name)).scalar()
    assert got == "via registry"
    with pytest.raises(KeyError, match="no record type 'nope'"):
        reg.table("lib", "nope")


def test_registry_unknown_app(eng):
    reg = Registry(eng)
    assert reg.apps == {}
    with pytest.raises(installer.UnknownApp, match="'ghost' is not installed"):
        reg.table("ghost", "x")


def test_sequences_count_up(eng):
    with eng.begin() as conn:
        values = [system.next_sequence_value(conn, "lib.book.code") for _ in range(3)]
    assert values == [1, 2, 3]
