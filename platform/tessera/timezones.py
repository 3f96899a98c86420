"""Time zones: moments are stored in UTC and entered and shown in a person's zone.

No Flask here: the web layer asks :func:`zone` for the signed-in user's zone (their own,
else the installation's ``TIME_ZONE`` setting, else UTC) and converts with
:func:`to_local` / :func:`from_local`; automation uses the same functions for the
owner's or the app's zone. Date-only values are never converted (a date is a day on the
calendar, not a moment).

Wall-clock times that a DST change makes ambiguous (01:30 on a night that repeats it)
take the first occurrence; times it skips (02:30 on a night that jumps to 03:00) move
forward by the gap, as a wall clock does.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT = "UTC"


@functools.lru_cache(maxsize=256)
def zone(name: str | None, default: str | None = None) -> dt.tzinfo:
    """The zone named ``name``, else ``default``, else UTC (unknown names are skipped)."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return dt.UTC


def to_local(value: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """A stored moment (aware, or naive meaning UTC) as an aware time in ``tz``."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(tz)


def from_local(value: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """A wall-clock time in ``tz`` (naive) as an aware UTC moment; aware input as is."""
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    local = value.replace(tzinfo=tz, fold=0)
    back = local.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    if back != value:  # skipped by a DST jump: move forward by the gap
        gap = local.replace(fold=1).utcoffset() - local.utcoffset()
        local = (value + abs(gap)).replace(tzinfo=tz)
    return local.astimezone(dt.UTC)


def today(tz: dt.tzinfo, now: dt.datetime | None = None) -> dt.date:
    """The calendar day in ``tz`` at ``now`` (default: the current moment)."""
    return to_local(now or dt.datetime.now(dt.UTC), tz).date()
