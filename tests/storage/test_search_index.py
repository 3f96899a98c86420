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


def test_search_fields_get_trigram_indexes_on_postgresql_only(eng):
    app, _ = _with_search()
    installer.install(eng, app, "v1")
    names = _indexes(eng, "rt_lib_author")
    wanted = {"tx_rt_lib_author__name", "tx_rt_lib_author__email"}
    if eng.dialect.name == "postgresql":
        assert wanted <= names
    else:
        assert not wanted & names


def test_upgrade_adds_and_drops_search_indexes(eng):
    app, _ = library()
    installer.install(eng, app, "v1")
    installer.upgrade(eng, _with_search("1.1.0", ("name",))[0], "v2")
    installer.upgrade(eng, _with_search("1.2.0", ("email",))[0], "v3")
    names = _indexes(eng, "rt_lib_author")
    if eng.dialect.name == "postgresql":
        assert "tx_rt_lib_author__email" in names
    assert "tx_rt_lib_author__name" not in names


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
