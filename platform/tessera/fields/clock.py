"""Clock field types: duration (a length of time) and time (a time of day).

``duration`` values are whole seconds (``int``, a ``BigInteger`` column, compared and
summed like numbers). Input: a JSON number of seconds, or text as people type it —
``1h 30m``, ``90m``, ``1:30`` (hours:minutes), ``1:30:15``, ``2d 4h``, ``45s``,
``1.5h``, Chinese ``1小时30分``. A bare number in text is minutes (``"90"`` = 90 min:
what a form's user means), a JSON number is seconds (what an API client stores).
Display: ``1h 30m`` in English, ``1小时30分`` in Chinese; JSON: the seconds.
Options ``min``/``max`` bound it (written like a value: ``15m``, ``8h``).

``time`` values are ``datetime.time`` (a ``Time`` column), minutes precision unless
seconds are typed. Input ``HH:MM`` or ``HH:MM:SS`` (HTML ``<input type=time>``) or a
``time`` object; ``9:05`` is accepted. JSON and display ``09:05`` (``09:05:30`` with
seconds). A time of day has no zone: it is the wall-clock time the user typed.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields.base import FieldType
from tessera.fields.numbers import NUMBER_OPERATORS
from tessera.messages import Msg
from tessera.meta.model import Field

UNITS = {
    "d": 86400, "day": 86400, "days": 86400, "天": 86400,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "小时": 3600, "时": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "分钟": 60, "分": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "秒": 1,
}  # fmt: skip
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+|小时|分钟|[天时分秒])", re.IGNORECASE)
_CLOCK = re.compile(r"(\d+):([0-5]\d)(?::([0-5]\d))?")
MAX_SECONDS = 10**12  # ~31,000 years: far beyond any real duration, inside BigInteger
_DURATION_HINT = 'not a duration (expected e.g. "1h 30m", "90m" or "1:30")'
_WORDS = {
    "en": (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)),
    "zh": (("天", 86400), ("小时", 3600), ("分", 60), ("秒", 1)),
}


def parse_duration(raw: Any) -> int:
    """Seconds from a JSON number (seconds) or text such as ``1h 30m``, ``90m``, ``1:30``."""
    if isinstance(raw, bool):
        raise FieldValueError(_DURATION_HINT)
    if isinstance(raw, int | float | Decimal):
        seconds = Decimal(str(raw))
    elif isinstance(raw, str):
        seconds = _text_seconds(raw.strip().lower())
    else:
        raise FieldValueError(_DURATION_HINT)
    if seconds < 0 or seconds > MAX_SECONDS:
        raise FieldValueError(Msg("must be between 0 and a few thousand years"))
    return int(seconds.to_integral_value())


def _text_seconds(text: str) -> Decimal:
    if not text:
        raise FieldValueError(_DURATION_HINT)
    clock = _CLOCK.fullmatch(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return Decimal(int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0))
    try:
        return Decimal(text) * 60  # a bare number typed in a form: minutes
    except InvalidOperation:
        pass
    parts = _PART.findall(text)
    rest = _PART.sub("", text).replace(",", "").replace("and", "").strip()
    if not parts or rest or any(unit not in UNITS for _, unit in parts):
        raise FieldValueError(_DURATION_HINT)
    return sum((Decimal(n) * UNITS[unit] for n, unit in parts), Decimal(0))


def format_duration(seconds: int, locale: str = "en") -> str:
    """``1h 30m`` / ``1小时30分``; zero is ``0m`` / ``0分``."""
    zh = locale.split("-")[0] == "zh"
    units = _WORDS["zh" if zh else "en"]
    parts, left = [], int(seconds)
    for word, size in units:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{word}")
    if not parts:
        parts = [f"0{units[2][0]}"]
    return "".join(parts) if zh else " ".join(parts)


class DurationType(FieldType):
    """A length of time, stored as whole seconds."""

    name = "duration"
    operators = NUMBER_OPERATORS

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """BigInteger seconds."""
        return sa.BigInteger()

    def coerce(self, field: Field, raw: Any) -> Any:
        """Seconds from a number or typed text."""
        if raw is None or raw == "":
            return None
        return parse_duration(raw)

    def from_cell(self, field: Field, cell: Any) -> Any:
        """A spreadsheet duration (a time or timedelta cell) as seconds; text as typed."""
        if isinstance(cell, dt.timedelta):
            return int(cell.total_seconds())
        if isinstance(cell, dt.time):
            return cell.hour * 3600 + cell.minute * 60 + cell.second
        return super().from_cell(field, cell)

    def validate(self, field: Field, value: Any) -> list[str]:
        """Options min/max (written as durations)."""
        low, high = _bound(field, "min"), _bound(field, "max")
        if low is not None and value < low:
            return [f"must be at least {format_duration(low)}"]
        if high is not None and value > high:
            return [f"must be at most {format_duration(high)}"]
        return []

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``1h 30m`` / ``1小时30分``."""
        return "" if value is None else format_duration(value, locale)

    def json_schema(self, field: Field) -> dict[str, Any]:
        """Seconds on read; seconds or text such as "1h 30m" on write."""
        return {"type": "integer", "minimum": 0, "description": "seconds"}


def _bound(field: Field, name: str) -> int | None:
    raw = field.opt(name)
    if raw is None:
        return None
    try:
        return parse_duration(raw)
    except FieldValueError:
        return None  # the loader reports bad bounds; never crash on a stored one


def parse_time(raw: Any) -> dt.time:
    """A time of day from ``HH:MM[:SS]`` or a ``time`` object."""
    if isinstance(raw, dt.datetime):
        raise FieldValueError(Msg("not a time of day (expected HH:MM, without a date)"))
    if isinstance(raw, dt.time):
        return raw.replace(tzinfo=None, microsecond=0)
    text = raw.strip() if isinstance(raw, str) else ""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if not match:
        raise FieldValueError(Msg("not a time of day (expected HH:MM)"))
    hour, minute, second = (int(g or 0) for g in match.groups())
    try:
        return dt.time(hour, minute, second)
    except ValueError:
        raise FieldValueError(Msg("not a time of day (expected HH:MM, 00:00 to 23:59)")) from None


def format_time(value: dt.time) -> str:
    """``09:05``, or ``09:05:30`` when it has seconds."""
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


class TimeType(FieldType):
    """A time of day (wall-clock, no zone, no date)."""

    name = "time"
    operators = frozenset(
        {"eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between"}
        | {"is_empty", "is_not_empty"}
    )

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Time."""
        return sa.Time()

    def coerce(self, field: Field, raw: Any) -> Any:
        """A ``datetime.time`` from ``HH:MM``."""
        if raw is None or raw == "":
            return None
        return parse_time(raw)

    def from_cell(self, field: Field, cell: Any) -> Any:
        """A time cell, or the time of a date-time cell a spreadsheet made of it."""
        if isinstance(cell, dt.datetime):
            return cell.time()
        return super().from_cell(field, cell)

    def validate(self, field: Field, value: Any) -> list[str]:
        """Options min/max (``HH:MM``)."""
        for name, bad, word in (("min", value.__lt__, "after"), ("max", value.__gt__, "before")):
            bound = field.opt(name)
            try:
                limit = parse_time(bound) if bound is not None else None
            except FieldValueError:
                limit = None
            if limit is not None and bad(limit):
                return [f"must be at or {word} {format_time(limit)}"]
        return []

    def to_json(self, field: Field, value: Any) -> Any:
        """``09:05``."""
        return None if value is None else format_time(value)

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``09:05``."""
        return "" if value is None else format_time(value)

    def json_schema(self, field: Field) -> dict[str, Any]:
        """``HH:MM`` text."""
        return {"type": "string", "pattern": "^[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?$"}


builtin = [DurationType(), TimeType()]
