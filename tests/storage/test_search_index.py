"""Declared search fields: trigram indexes on PostgreSQL, used by the list query; LIKE on SQLite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from libapp import library, rt_data

from tessera.query.listing import search_condition
from tessera.storage import installer
from tessera.storage.registry import Registry


def _with_search(version="1.0.0", fields=("name", "email")):
    return library(version, lambda d: rt_data(d, "author").__setitem__("search", list(fields)))


def _indexes(eng, table):
    return {ix["name"] for ix in sa.inspect(eng).get_indexes(table)}


def _tables(eng):
    return set(sa.inspect(eng).get_table_names())


def test_search_fields_get_trigram_indexes_or_an_fts_table(eng):
    app, _ = _with_search()
    installer.install(eng, app, "v1")
    names = _indexes(eng, "rt_lib_author")
    wanted = {"tx_rt_lib_author__name", "tx_rt_lib_author__email"}
    if eng.dialect.name == "postgresql":
        assert wanted <= names
        assert "fx_rt_lib_author" not in _tables(eng)
    else:
        assert not wanted & names
        assert "fx_rt_lib_author" in _tables(eng)


def test_upgrade_adds_and_drops_search_indexes(eng):
    app, _ = library()
    installer.install(eng, app, "v1")
    installer.upgrade(eng, _with_search("1.1.0", ("name",))[0], "v2")
    installer.upgrade(eng, _with_search("1.2.0", ("email",))[0], "v3")
    names = _indexes(eng, "rt_lib_author")
    if eng.dialect.name == "postgresql":
        assert "tx_rt_lib_author__email" in names
    assert "tx_rt_lib_author__name" not in names
    installer.upgrade(eng, library("1.3.0")[0], "v4")
    assert "fx_rt_lib_author" not in _tables(eng)


def _search(eng, q):
    reg = Registry(eng)
    table, rt = reg.table("lib", "author"), reg.apps["lib"].record_type("author")
    cond = search_condition(rt, table, q, eng.dialect.name)
    with eng.connect() as conn:
        return sorted(conn.execute(sa.select(table.c.name).where(cond)).scalars())


def test_search_follows_inserts_updates_deletes_and_table_rebuilds(eng):
    installer.install(eng, _with_search()[0], "v1")
    table = Registry(eng).table("lib", "author")
    with eng.begin() as conn:
        conn.execute(table.insert(), [{"name": "深圳华为技术有限公司"}, {"name": "Acme Corp"}])
        conn.execute(table.update().where(table.c.name == "Acme Corp").values(name="Acme Ltd"))
    assert _search(eng, "华为技术") == ["深圳华为技术有限公司"]
    assert _search(eng, "acme") == ["Acme Ltd"]
    assert _search(eng, "corp") == []
    # an upgrade that rebuilds the table on SQLite (a retype) keeps the search table current
    retyped, _ = library(
        "1.1.0",
        lambda d: (
            rt_data(d, "author").__setitem__("search", ["name", "email"]),
            next(f for f in rt_data(d, "author")["fields"] if f["key"] == "born").update(
                type="number"
            ),
        ),
    )
    installer.upgrade(eng, retyped, "v2")
    with eng.begin() as conn:
        conn.execute(table.delete().where(table.c.name == "Acme Ltd"))
        conn.execute(table.insert().values(name="华为终端"))
    assert _search(eng, "acme") == []
    assert _search(eng, "华为") == sorted(["深圳华为技术有限公司", "华为终端"])
    assert _search(eng, "华为终端") == ["华为终端"]


def test_search_looks_only_in_declared_fields_and_finds_chinese(eng):
    app, _ = _with_search(fields=("name",))
    installer.install(eng, app, "v1")
    reg = Registry(eng)
    table = reg.table("lib", "author")
    with eng.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {"name": "北京王芳科技有限公司", "notes": "x"},
                {"name": "Acme", "notes": "王芳科技"},
            ],
        )
    rt = reg.apps["lib"].record_type("author")
    with eng.connect() as conn:
        query = sa.select(table.c.name).where(search_condition(rt, table, "王芳科技"))
        assert conn.execute(query).scalars().all() == ["北京王芳科技有限公司"]


@pytest.mark.postgres
def test_postgresql_substring_search_uses_the_trigram_index(eng):
    if eng.dialect.name != "postgresql":
        pytest.skip("trigram indexes are PostgreSQL's")
    app, _ = _with_search(fields=("name",))
    installer.install(eng, app, "v1")
    reg = Registry(eng)
    table = reg.table("lib", "author")
    with eng.begin() as conn:
        conn.execute(table.insert(), [{"name": f"公司 {i:05d}"} for i in range(3000)])
        conn.exec_driver_sql("ANALYZE rt_lib_author")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # small table: ask if usable
        rt = reg.apps["lib"].record_type("author")
        query = sa.select(table.c.id).where(search_condition(rt, table, "司 01234"))
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())
    assert "tx_rt_lib_author__name" in plan, plan


def _field(d, key):
    return next(f for f in rt_data(d, "author")["fields"] if f["key"] == key)


def _fields(d):
    return rt_data(d, "author")["fields"]


UPGRADES = [
    ("add a field", lambda d: _fields(d).append({"key": "rank", "type": "number"})),
    ("retype a field", lambda d: _field(d, "born").update(type="number")),
    ("rename a search field", lambda d: _field(d, "name").update(key="full", renamed_from="name")),
    ("remove a field", lambda d: _fields(d).remove(_field(d, "notes"))),
    ("relabel", lambda d: rt_data(d, "author").__setitem__("label", "Writer")),
]


@pytest.mark.parametrize("what, edit", UPGRADES, ids=[u[0] for u in UPGRADES])
def test_every_kind_of_upgrade_keeps_search_current(eng, what, edit):
    def declared(d):
        edit(d)
        title = "full" if _fields(d)[0]["key"] == "full" else "name"
        rt_data(d, "author")["title"] = title
        rt_data(d, "author")["search"] = [title, "email"]

    installer.install(eng, _with_search()[0], "v1")
    table = Registry(eng).table("lib", "author")
    with eng.begin() as conn:
        conn.execute(table.insert().values(name="Before Upgrade"))
    installer.upgrade(eng, library("1.1.0", declared)[0], "v2")
    reg = Registry(eng)
    table, rt = reg.table("lib", "author"), reg.apps["lib"].record_type("author")
    key = rt.search[0]
    with eng.begin() as conn:
        conn.execute(table.insert().values({key: "After Upgrade"}))
        conn.execute(table.delete().where(table.c[key] == "Before Upgrade"))
    cond = search_condition(rt, table, "upgrade", eng.dialect.name)
    with eng.connect() as conn:
        found = conn.execute(sa.select(table.c[key]).where(cond)).scalars().all()
    assert found == ["After Upgrade"]
