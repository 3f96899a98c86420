"""Lists: filter, multi-key sort with NULLs last, keyset and offset pages, search, aggregates."""

from __future__ import annotations

import pytest

from tessera.errors import BadRequest


@pytest.fixture
def seeded(tessera):
    r = tessera.records
    budgets = [5, None, 3, 5, 1, None, 8, 2, 5, 0]
    made = r.bulk_create(
        "tracker",
        "project",
        [
            {"name": f"Proj {i:02d}", "budget": b, "status": "paused" if i % 3 == 0 else "active"}
            for i, b in enumerate(budgets)
        ],
    )
    return tessera, made


def _names(page):
    return [row["name"] for row in page.rows]


def test_filter_and_sort_with_nulls_last(seeded):
    t, _ = seeded
    page = t.queries.list("tracker", "project", sort="-budget,name", limit=50)
    budgets = [row["budget"] for row in page.rows]
    assert budgets[-2:] == [None, None]
    numbers = [b for b in budgets if b is not None]
    assert numbers == sorted(numbers, reverse=True)
    paused = t.queries.list(
        "tracker", "project", filter={"field": "status", "op": "eq", "value": "paused"}
    )
    assert _names(paused) == ["Proj 00", "Proj 03", "Proj 06", "Proj 09"]


@pytest.mark.parametrize("sort", ["budget,name", "-budget,-name", "status,-budget", None])
def test_keyset_pages_cover_everything_once(seeded, sort):
    t, made = seeded
    full = _names(t.queries.list("tracker", "project", sort=sort, limit=500))
    seen, cursor = [], None
    while True:
        page = t.queries.list("tracker", "project", sort=sort, limit=3, cursor=cursor)
        seen += _names(page)
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == full and len(seen) == len(made)


def test_offset_search_fields_total_and_expand(seeded):
    t, made = seeded
    page = t.queries.list("tracker", "project", sort="name", offset=8, limit=5)
    assert _names(page) == ["Proj 08", "Proj 09"]
    found = t.queries.list("tracker", "project", q="oj 0", with_total=True)
    assert found.total == 10 and not found.total_is_estimate
    assert t.queries.list("tracker", "project", q="zzz", with_total=True).total == 0
    slim = t.queries.list("tracker", "project", fields=["name"], limit=1)
    assert "budget" not in slim.rows[0] and slim.rows[0]["name"]
    task = t.records.create("tracker", "task", {"title": "x", "project": made[0]["id"]})
    tasks = t.queries.list("tracker", "task", expand=["project"])
    assert tasks.expanded["project"][made[0]["id"]]["name"] == "Proj 00"
    assert tasks.rows[0]["id"] == task["id"]


def test_aggregates(seeded):
    t, _ = seeded
    rows = t.queries.aggregate(
        "tracker", "project", group_by="status", measures=[("count", None), ("sum", "budget")]
    )
    by = {r["group"]: r for r in rows}
    assert by["paused"]["count"] == 4 and by["active"]["count"] == 6
    assert float(by["paused"]["sum_budget"]) == 5 + 5 + 8 + 0


@pytest.mark.parametrize(
    "kwargs, where",
    [
        ({"filter": {"field": "teir", "op": "eq", "value": 1}}, "filter"),
        ({"filter": {"field": "status", "op": "gt", "value": "x"}}, "filter"),
        ({"sort": "nope"}, "sort[0]"),
        ({"sort": [{"field": "name", "dir": "up"}]}, "sort[0]"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"cursor": "garbage!!"}, "cursor"),
        ({"fields": ["nope"]}, "fields"),
        ({"expand": ["name"]}, "expand"),
    ],
)
def test_bad_list_requests_name_the_part(seeded, kwargs, where):
    t, _ = seeded
    with pytest.raises(BadRequest) as info:
        t.queries.list("tracker", "project", **kwargs)
    assert any(k.startswith(where) for k in info.value.fields), info.value.fields


@pytest.mark.parametrize(
    "filter, expected",
    [
        ({"field": "budget", "op": "gt", "value": 1}, True),
        (
            {
                "all": [
                    {"field": "status", "op": "eq", "value": "paused"},
                    {"field": "budget", "op": "gte", "value": 0},
                ]
            },
            True,
        ),
        (
            {
                "any": [
                    {"field": "budget", "op": "lt", "value": 1},
                    {"field": "budget", "op": "in", "value": [5]},
                ]
            },
            True,
        ),
        ({"not": {"field": "budget", "op": "is_empty"}}, True),
        ({"field": "budget", "op": "is_not_empty"}, True),
        (
            {
                "any": [
                    {"field": "budget", "op": "lt", "value": 1},
                    {"field": "status", "op": "eq", "value": "paused"},
                ]
            },
            False,
        ),
        ({"not": {"field": "budget", "op": "gt", "value": 1}}, False),
        ({"field": "budget", "op": "is_empty"}, False),
        ({"field": "status", "op": "eq", "value": "paused"}, False),
    ],
)
def test_rejects_empty_is_read_off_the_condition(tessera, filter, expected):
    from datetime import UTC, datetime

    from tessera.query import conditions

    app = tessera.registry.apps["tracker"]
    rt = app.record_type("project")
    compiled = conditions.compile(filter, rt, app, me=None, now=datetime.now(UTC))
    assert compiled.rejects_empty("budget") is expected


def test_descending_page_skips_the_empty_half_when_the_filter_excludes_it(seeded):
    t, _ = seeded
    statements = []
    engine = t.registry.engine

    def spy(conn, cursor, statement, *args):
        statements.append(statement)

    import sqlalchemy as sa

    sa.event.listen(engine, "before_cursor_execute", spy)
    try:
        flt = {"field": "budget", "op": "gte", "value": 2}
        page = t.queries.list("tracker", "project", filter=flt, sort="-budget,name", limit=3)
        every = t.queries.list("tracker", "project", sort="-budget,name", limit=50)
    finally:
        sa.event.remove(engine, "before_cursor_execute", spy)
    assert [r["budget"] for r in page.rows] == [8, 5, 5]
    assert [r["budget"] for r in every.rows][-2:] == [None, None]
    filtered_sql = statements[0].upper()
    assert "IS NULL" not in filtered_sql and "UNION" not in filtered_sql
    nxt = t.queries.list(
        "tracker", "project", filter=flt, sort="-budget,name", limit=3, cursor=page.next_cursor
    )
    assert [r["budget"] for r in nxt.rows] == [5, 3, 2]
