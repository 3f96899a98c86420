"""Durations, cron next-fire times and date-trigger due times (all aware datetimes in UTC)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

_DURATION = re.compile(r"^([+-]?)(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: Any) -> timedelta | None:
    """``"-1d"``, ``"2h"``, ``"30m"``, ``"+1w"``, ``"10s"`` as a timedelta; None if malformed."""
    match = _DURATION.match(str(text).strip()) if text is not None else None
    if not match:
        return None
    sign, amount, unit = match.groups()
    delta = timedelta(**{_UNITS[unit]: int(amount)})
    return -delta if sign == "-" else delta


def next_cron(expr: str, after: datetime, timezone: str | None = None) -> datetime:
    """The first firing of cron ``expr`` (in ``timezone``, default UTC) strictly after ``after``."""
    zone = ZoneInfo(timezone) if timezone else UTC
    return croniter(expr, after.astimezone(zone)).get_next(datetime).astimezone(UTC)


def date_due(
    value: Any, trigger: dict[str, Any], default_zone: str | None = None
) -> datetime | None:
    """When a date trigger fires for a record whose field holds ``value`` (None: never)."""
    if value is None:
        return None
    zone = ZoneInfo(trigger.get("timezone") or default_zone or "UTC")
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        moment = moment.astimezone(zone)
    else:
        moment = datetime.combine(value, time(0, 0), zone)
    moment += parse_duration(trigger.get("offset") or "0m") or timedelta()
    if trigger.get("at"):
        hour, minute = map(int, trigger["at"].split(":"))
        moment = moment.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return moment.astimezone(UTC)
