"""Date buckets for aggregates: the SQL that maps a date to its period, and period arithmetic.

A bucket is named by the first day of its period as ``YYYY-MM-DD`` text, computed in SQL
on both databases so grouping happens where the rows are (weeks start on Monday, ISO;
quarters on January, April, July and October; datetimes are bucketed by their UTC day).
The same first day, read back with :func:`period`, gives the half-open range
``[start, next start)`` a click-through filters on, and :func:`label` the text shown.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

BUCKETS = ("day", "week", "month", "quarter", "year")


def start_expr(col, bucket: str, dialect: str, datetime: bool):
    """SQL text ``YYYY-MM-DD``: the first day of the ``bucket`` holding ``col``."""
    if dialect == "postgresql":
        # timestamptz -> the UTC wall time, so the session's time zone cannot move a row
        value = sa.func.timezone("UTC", col) if datetime else sa.cast(col, sa.DateTime())
        return sa.func.to_char(sa.func.date_trunc(bucket, value), "YYYY-MM-DD")
    return _sqlite_start(col, bucket)


def _sqlite_start(col, bucket: str):
    if bucket == "day":
        return sa.func.date(col)
    if bucket == "week":  # to the coming Sunday (or stay), then back to its Monday
        return sa.func.date(col, "weekday 0", "-6 days")
    if bucket == "month":
        return sa.func.date(col, "start of month")
    if bucket == "year":
        return sa.func.date(col, "start of year")
    month = sa.cast(sa.func.strftime("%m", col), sa.Integer)
    into_quarter = (month - 1) % 3  # months since the quarter began: 0, 1 or 2
    return sa.func.date(col, "start of month", sa.func.printf("-%d months", into_quarter))


def first_day(day: date, bucket: str) -> date:
    """The first day of the ``bucket`` holding ``day`` (what the SQL computes)."""
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    if bucket == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def period(start: date, bucket: str) -> tuple[date, date]:
    """``[start, next start)`` of the bucket beginning on ``start``."""
    if bucket == "day":
        return start, start + timedelta(days=1)
    if bucket == "week":
        return start, start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[bucket]
    return start, shift_months(start, months)


def shift_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def label(start: date, bucket: str, locale: str = "en") -> str:
    """How a bucket is named on an axis: 2026-03-02, 2026-W10, 2026-03, 2026 Q1, 2026."""
    zh = locale.startswith("zh")
    if bucket == "day":
        return start.isoformat()
    if bucket == "week":
        year, week, _ = start.isocalendar()
        return f"{year}年第{week}周" if zh else f"{year}-W{week:02d}"
    if bucket == "month":
        return f"{start.year}年{start.month}月" if zh else f"{start.year}-{start.month:02d}"
    if bucket == "quarter":
        q = (start.month - 1) // 3 + 1
        return f"{start.year}年Q{q}" if zh else f"{start.year} Q{q}"
    return f"{start.year}年" if zh else str(start.year)


def parse(text: str) -> date | None:
    """A bucket's first day from its ``YYYY-MM-DD`` text (None when it is not one)."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None
