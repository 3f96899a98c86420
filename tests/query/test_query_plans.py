"""The list page's queries use their indexes, on SQLite and PostgreSQL (issue 12).

The SQL a real ``Queries.list`` call runs is captured and EXPLAINed on the same database:
a filtered, sorted page reads the declared ``indexes:`` entry (ascending and descending,
also when PostgreSQL splits a DESC sort into the "has value" and "is empty" halves), and
``q=`` over declared ``search:`` fields reads the FTS5 trigram table on SQLite and the
pg_trgm GIN index on PostgreSQL. PostgreSQL runs with sequential scans switched off,
since the test table is small: the question is whether the index is usable at all.
"""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import event

from tessera.storage import naming, search

PLAN = {
    "id": "plan",
    "version": "1.0.0",
    "label": "Plans",
    "record_types": [
        {
            "key": "item",
            "title": "name",
            "search": ["name"],
            "indexes": [["status", "amount"]],
            "fields": [
                {"key": "name", "type": "text"},
                {
                    "key": "status",
                    "type": "select",
                    "options": [{"value": "open"}, {"value": "won"}, {"value": "lost"}],
                },
                {"key": "amount", "type": "number"},
                {"key": "note", "type": "text"},
            ],
        }
    ],
}
ROWS = 2000


@pytest.fixture
def t(flask_app):
    """The plan app installed with ROWS items (some without an amount), statistics fresh."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(PLAN), yaml.safe_dump(PLAN))
    t.registry.reload()
    rows = [
        {
            "name": f"客户 {i:05d} company",
            "status": ("open", "won", "lost")[i % 3],
            "amount": None if i % 10 == 0 else i,
        }
        for i in range(ROWS)
    ]
    t.records.bulk_create("plan", "item", rows)
    with t.engine.begin() as conn:
        conn.exec_driver_sql(f"ANALYZE {t.registry.table('plan', 'item').name}")
    return t


def list_sql(t, **options) -> tuple[str, object]:
    """The SQL and parameters of the page query a ``Queries.list`` call runs."""
    table = t.registry.table("plan", "item").name
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and table in statement:
            seen.append((statement, parameters))

    event.listen(t.engine, "before_cursor_execute", capture)
    try:
        page = t.queries.list("plan", "item", limit=20, **options)
    finally:
        event.remove(t.engine, "before_cursor_execute", capture)
    assert page.rows, f"the page {options} should not be empty"
    pages = [s for s in seen if "LIMIT" in s[0].upper()]
    assert pages, f"no page query on {table} was run"
    return pages[0]


def plan_of(t, statement: str, parameters, *, walk_pkey: bool = True) -> str:
    """EXPLAIN (QUERY PLAN) of ``statement``; ``walk_pkey=False`` also forbids PostgreSQL plain
    index scans, so a tiny table's "walk the primary key, filter each row" cannot stand in
    for the search index (a bitmap scan needs an index that serves the condition)."""
    with t.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            if not walk_pkey:
                conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
        else:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        conn.rollback()
    return "\n".join(str(r[-1]) for r in rows)


def declared_index(t) -> str:
    return naming.index_name(t.registry.table("plan", "item").name, ("status", "amount"))


@pytest.mark.parametrize("sort", ["amount", "-amount"])
def test_filtered_sorted_page_reads_the_declared_index(t, sort):
    statement, parameters = list_sql(
        t, filter={"field": "status", "op": "eq", "value": "won"}, sort=sort
    )
    plan = plan_of(t, statement, parameters)
    assert declared_index(t) in plan, f"{sort}: index not used\n{statement}\n{plan}"
    if t.engine.dialect.name == "sqlite":
        # the index delivers the order: no temporary B-tree sorting every match
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
    else:
        assert "Seq Scan" not in plan, plan


def test_descending_page_whose_filter_excludes_empty_values_reads_the_index_once(t):
    statement, parameters = list_sql(
        t,
        filter={
            "all": [
                {"field": "status", "op": "eq", "value": "won"},
                {"field": "amount", "op": "gt", "value": 100},
            ]
        },
        sort="-amount",
    )
    plan = plan_of(t, statement, parameters)
    assert declared_index(t) in plan, plan
    # no "IS NULL" half: it could only add a second scan that finds nothing
    assert "IS NULL" not in statement.upper(), statement
    assert plan.count(declared_index(t)) == 1, plan


def test_substring_search_reads_the_search_index(t):
    table = t.registry.table("plan", "item").name
    statement, parameters = list_sql(t, q="01234")
    plan = plan_of(t, statement, parameters, walk_pkey=False)
    if t.engine.dialect.name == "sqlite":
        assert search.fts_name(table) in statement, statement
        assert "VIRTUAL TABLE INDEX" in plan, plan  # the FTS5 trigram match, not a scan
    else:
        assert naming.search_index_name(table, "name") in plan, plan
        assert "Seq Scan" not in plan, plan


def test_chinese_substring_search_reads_the_search_index(t):
    table = t.registry.table("plan", "item").name
    statement, parameters = list_sql(t, q="户 0123")
    plan = plan_of(t, statement, parameters, walk_pkey=False)
    if t.engine.dialect.name == "sqlite":
        assert "VIRTUAL TABLE INDEX" in plan, plan
    else:
        assert naming.search_index_name(table, "name") in plan, plan
