"""The scoped list queries of a rep (``read: own``) and a manager (``read: team``) can use
the index on the owner column: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL
(with sequential scans switched off, since the test tables are tiny: the question is
whether the index is usable, not whether the planner prefers it for four rows)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tessera.storage import naming


def _list_statement(t, user_id) -> tuple[str, object]:
    """The SQL and parameters of the SELECT a list page runs for ``user_id``."""
    table = t.registry.table("crm", "customer").name
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            seen.append((statement, parameters))

    event.listen(t.engine, "before_cursor_execute", capture)
    try:
        page = t.queries.list("crm", "customer", limit=50, user_id=user_id)
    finally:
        event.remove(t.engine, "before_cursor_execute", capture)
    assert page.rows, "the user should see some customers"
    assert seen, "no SELECT on the customer table was run"
    return seen[-1]


def _plan(t, statement: str, parameters) -> str:
    with t.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
        else:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        conn.rollback()
    return "\n".join(str(r[-1]) for r in rows)


@pytest.mark.parametrize("who", ["rep1", "mgr"])
def test_scoped_list_uses_the_owner_index(t, world, who):
    owner_index = naming.index_name(t.registry.table("crm", "customer").name, ("owner",))
    statement, parameters = _list_statement(t, world[who])
    assert "owner" in statement
    plan = _plan(t, statement, parameters)
    assert owner_index in plan, f"{who}: the owner index is not used\n{statement}\n{plan}"


def test_team_scope_is_one_subquery_over_the_membership_key(t, world):
    statement, parameters = _list_statement(t, world["mgr"])
    assert statement.count("FROM team_members") == 1  # one uncorrelated IN, not one per row
    plan = _plan(t, statement, parameters)
    assert "team_members" in plan or "sqlite_autoindex_team_members" in plan, plan
    if t.engine.dialect.name == "sqlite":
        assert "CORRELATED" not in plan, plan


def test_list_query_plans_are_checked_against_the_installed_indexes(t, world):
    table = t.registry.table("crm", "customer").name
    names = {ix["name"] for ix in sa.inspect(t.engine).get_indexes(table)}
    assert naming.index_name(table, ("owner",)) in names
