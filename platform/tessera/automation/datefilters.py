"""Date helpers for workflow templates (Jinja filters): add_days, add_hours, add_working_days,
add_months, start_of, end_of, at_time and days_since.

``{{ now | add_working_days(1) | at_time('09:00') }}`` is nine o'clock on the next working
day (Monday to Friday; public holidays are not known). A date stays a date and a datetime
a datetime; ``days_since`` gives the days (with fractions for datetimes) from a date or
datetime to the moment it is applied to, e.g. ``{{ now | days_since(record.created_at) }}``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

MAX_DAYS = 36_600  # a century: larger steps are refused (a template cannot loop for long)


def _moment(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    try:
        return (
            dt.datetime.fromisoformat(text)
            if "T" in text or " " in text
            else dt.date.fromisoformat(text)
        )
    except ValueError:
        raise ValueError(f"not a date or datetime: {value!r}") from None


def _count(n: Any) -> int:
    days = int(n)
    if abs(days) > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at a time, got {n!r}")
    return days


def add_days(value: Any, n: Any) -> dt.date | dt.datetime:
    """``value`` moved by ``n`` calendar days."""
    return _moment(value) + dt.timedelta(days=_count(n))


def add_hours(value: Any, n: Any) -> dt.datetime:
    """``value`` (a datetime; a date counts from midnight) moved by ``n`` hours."""
    moment = _moment(value)
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time())
    hours = float(n)
    if abs(hours) > MAX_DAYS * 24:
        raise ValueError(f"at most {MAX_DAYS * 24} hours at a time, got {n!r}")
    return moment + dt.timedelta(hours=hours)


def add_working_days(value: Any, n: Any) -> dt.date | dt.datetime:
    """``value`` moved by ``n`` working days (Monday to Friday); 0 = itself, or the next one."""
    moment, left = _moment(value), _count(n)
    step = -1 if left < 0 else 1
    while moment.weekday() >= 5 and left == 0:
        moment += dt.timedelta(days=1)
    while left:
        moment += dt.timedelta(days=step)
        if moment.weekday() < 5:
            left -= step
    return moment


def add_months(value: Any, n: Any) -> dt.date | dt.datetime:
    """``value`` moved by ``n`` calendar months (the 31st becomes the month's last day)."""
    moment, months = _moment(value), _count(n)
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last))


def start_of(value: Any, unit: str = "month") -> dt.date:
    """The first day of ``value``'s week (Monday), month, quarter or year."""
    day = _moment(value)
    day = day.date() if isinstance(day, dt.datetime) else day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"unit must be week, month, quarter or year, got {unit!r}")


def end_of(value: Any, unit: str = "month") -> dt.date:
    """The last day of ``value``'s week, month, quarter or year."""
    first = start_of(value, unit)
    if unit == "week":
        return first + dt.timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    return add_months(first, months) - dt.timedelta(days=1)


def at_time(value: Any, hhmm: str) -> dt.datetime:
    """``value``'s day at ``hhmm`` (HH:MM), in the value's own time zone if it has one."""
    moment = _moment(value)
    clock = dt.time.fromisoformat(str(hhmm))
    if isinstance(moment, dt.datetime):
        return moment.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
    return dt.datetime.combine(moment, clock)


def days_since(value: Any, start: Any) -> float:
    """Days from ``start`` to ``value`` (whole days between dates; fractions for datetimes)."""
    end, begin = _moment(value), _moment(start)
    if isinstance(end, dt.datetime) != isinstance(begin, dt.datetime):
        end = end.date() if isinstance(end, dt.datetime) else end
        begin = begin.date() if isinstance(begin, dt.datetime) else begin
    if isinstance(end, dt.datetime) and (end.tzinfo is None) != (begin.tzinfo is None):
        end, begin = end.replace(tzinfo=None), begin.replace(tzinfo=None)
    delta = end - begin
    return delta.days if not isinstance(end, dt.datetime) else delta.total_seconds() / 86400


FILTERS = {
    "add_days": add_days,
    "add_hours": add_hours,
    "add_working_days": add_working_days,
    "add_months": add_months,
    "start_of": start_of,
    "end_of": end_of,
    "at_time": at_time,
    "days_since": days_since,
}
