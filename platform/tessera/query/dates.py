"""Relative dates for conditions: "today", "-7d", "start_of_month"... resolved from a given ``now``.

Everything here is a pure function of the ``now`` passed in, so filters and their tests are
deterministic. "Today" is the calendar day of ``now`` in ``now``'s own time zone (a naive ``now``
is taken as UTC); datetime bounds are returned as aware UTC datetimes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

#: words accepted as relative dates (besides +Nd / -Nd / +Nw / -Nw offsets from today)
WORDS = (
    "today",
    "tomorrow",
    "yesterday",
    "now",
    "start_of_week",
    "start_of_month",
    "start_of_year",
)
_OFFSET = re.compile(r"^([+-])(\d{1,6})([dw])$")


def is_relative(value: object) -> bool:
    """True when ``value`` is a relative-date token ("today", "+3d", "start_of_month"...)."""
    return isinstance(value, str) and (value in WORDS or bool(_OFFSET.match(value)))


def aware(now: datetime) -> datetime:
    """``now`` as an aware datetime (naive values are taken as UTC)."""
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def today(now: datetime) -> date:
    """The calendar day of ``now`` in its own time zone."""
    return aware(now).date()


def shift(day: date, days: int) -> date:
    """``day`` moved by ``days``, clamped to the representable range instead of overflowing."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def relative_day(token: str, now: datetime) -> date:
    """The calendar day a token names ("now" names today)."""
    day = today(now)
    match token:
        case "today" | "now":
            return day
        case "tomorrow":
            return shift(day, 1)
        case "yesterday":
            return shift(day, -1)
        case "start_of_week":
            return shift(day, -day.weekday())
        case "start_of_month":
            return day.replace(day=1)
        case "start_of_year":
            return day.replace(month=1, day=1)
    sign, amount, unit = _OFFSET.match(token).groups()
    days = int(amount) * (7 if unit == "w" else 1)
    return shift(day, days if sign == "+" else -days)


def day_start(day: date, now: datetime) -> datetime:
    """The first instant of ``day`` in ``now``'s time zone, as aware UTC."""
    tz = aware(now).tzinfo
    try:
        return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    except OverflowError:
        # near date.min/date.max the zone shift leaves datetime's range: clamp
        return datetime.min.replace(tzinfo=UTC) if day.year == 1 else _max_utc()


def day_end(day: date, now: datetime) -> datetime:
    """The first instant after ``day`` (exclusive upper bound), as aware UTC."""
    if day == date.max:
        return _max_utc()
    return day_start(day + timedelta(days=1), now)


def _max_utc() -> datetime:
    return datetime.max.replace(tzinfo=UTC)


def to_utc(value: datetime) -> datetime:
    """An aware UTC datetime (naive values are taken as UTC)."""
    return aware(value).astimezone(UTC)
