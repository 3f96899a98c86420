"""Aggregates behind charts, on SQLite and PostgreSQL: date buckets, series, measures."""

from __future__ import annotations

from datetime import date

import pytest

from tessera.errors import BadRequest
from tessera.query import buckets


def _agg(t, **kw):
    return t.queries.aggregate("sales", "deal", **kw)


def _by_group(rows, column):
    return {r["group"]: r[column] for r in rows}


def test_buckets_month_quarter_week_day_year_with_series(sales, deals):
    ann, ben = sales.users["ann"], sales.users["ben"]
    rows = _agg(
        sales,
        group_by="closed_on",
        bucket="month",
        series="owner",
        measures=[("sum", "amount"), ("count", None)],
        filter={"field": "stage", "op": "eq", "value": "won"},
    )
    got = {(r["group"], r["series"]): (float(r["sum_amount"]), r["count"]) for r in rows}
    assert got == {
        ("2026-03-01", ann): (1000.0, 1),  # Mar 31 stays in March
        ("2026-03-01", ben): (400.0, 1),
        ("2026-04-01", ann): (300.0, 1),
        ("2026-04-01", ben): (250.5, 1),  # Apr 1 opens April
    }
    rows = _agg(sales, group_by="closed_at", bucket="quarter")
    assert _by_group(rows, "count") == {
        "2025-10-01": 1,  # Dec 31 23:59:59 is still Q4 2025
        "2026-01-01": 1,  # Mar 31 23:30 is Q1
        "2026-04-01": 2,  # Apr 1 00:15 and Jun 30 23:59 are Q2
        "2026-07-01": 1,  # Jul 1 00:00 opens Q3
        None: 3,
    }
    weeks = _by_group(_agg(sales, group_by="closed_on", bucket="week"), "count")
    # weeks start on Monday; Sunday Mar 15 belongs to the week of Mon Mar 9; Jan 2 2026
    # (a Friday) to the week that began Mon Dec 29 2025
    assert weeks == {
        "2025-12-29": 1,
        "2026-03-09": 1,
        "2026-03-30": 2,
        "2026-04-06": 1,
        None: 3,
    }
    days = _by_group(_agg(sales, group_by="closed_at", bucket="day"), "count")
    assert days["2026-03-31"] == 1 and days["2026-04-01"] == 1 and days["2025-12-31"] == 1
    years = _by_group(_agg(sales, group_by="closed_at", bucket="year"), "count")
    assert years == {"2025-01-01": 1, "2026-01-01": 4, None: 3}


def test_every_measure_and_the_previous_period(sales, deals):
    rows = _agg(
        sales,
        group_by="stage",
        measures=[
            ("count", None),
            ("sum", "amount"),
            ("avg", "amount"),
            ("min", "amount"),
            ("max", "amount"),
        ],
    )
    by = {r["group"]: r for r in rows}
    won = by["won"]
    assert won["count"] == 4 and float(won["sum_amount"]) == 1950.5
    assert float(won["avg_amount"]) == pytest.approx(487.625)
    assert float(won["min_amount"]) == 250.5 and float(won["max_amount"]) == 1000.0
    lead = by["lead"]  # an empty amount is counted but not measured
    assert lead["count"] == 2 and float(lead["sum_amount"]) == 120.0
    assert float(lead["avg_amount"]) == 120.0
    from tessera.web.charts import previous_now, to_date

    cond = {
        "all": [
            {"field": "stage", "op": "eq", "value": "won"},
            {"field": "closed_on", "op": "gte", "value": "start_of_month"},
        ]
    }
    now = sales.queries.clock()
    capped = to_date(cond)

    def total(at):
        [row] = _agg(sales, measures=[("sum", "amount")], filter=capped, now=at)
        return float(row["sum_amount"] or 0)

    assert total(now) == 550.5  # Apr 1..15
    before = previous_now(cond, now)
    assert before.date() == date(2026, 3, 15)
    assert total(before) == 400.0  # Mar 1..15: Theta; Alpha (Mar 31) is after "now" then


def test_bad_aggregates_name_the_part(sales):
    for kw, where in [
        ({"group_by": "name", "bucket": "month"}, "bucket"),
        ({"group_by": "closed_on", "bucket": "fortnight"}, "bucket"),
        ({"group_by": "stage", "series": "nope"}, "series"),
        ({"group_by": "nope"}, "group_by"),
    ]:
        with pytest.raises(BadRequest) as info:
            _agg(sales, **kw)
        assert where in info.value.fields


def test_bucket_arithmetic_matches_sql():
    day = date(2026, 2, 28)
    assert buckets.first_day(day, "quarter") == date(2026, 1, 1)
    assert buckets.period(date(2026, 10, 1), "quarter") == (date(2026, 10, 1), date(2027, 1, 1))
    assert buckets.period(date(2026, 3, 30), "week")[1] == date(2026, 4, 6)
    assert buckets.label(date(2026, 4, 1), "quarter") == "2026 Q2"
    assert buckets.label(date(2026, 4, 1), "month", "zh-CN") == "2026年4月"
    assert buckets.label(date(2025, 12, 29), "week") == "2026-W01"
