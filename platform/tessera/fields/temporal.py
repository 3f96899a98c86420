"""Date and time field types: date, datetime.

``date`` values are ``datetime.date``; input is ``YYYY-MM-DD`` (HTML ``<input
type=date>``) or a date object. Options ``min``/``max`` (ISO dates) bound the range.

``datetime`` values are always timezone-aware UTC ``datetime.datetime`` objects,
stored in a ``DateTime(timezone=True)`` column. Input is ISO 8601: ``2026-11-25T09:00``
(HTML ``datetime-local``), with seconds, with a space instead of ``T``, with ``Z`` or an
offset, or a bare date (midnight). **Naive inputs are taken as UTC**; aware inputs are
converted to UTC. SQLite hands back naive values, which are read as UTC too, so both
databases return the same thing. Options ``min``/``max`` (ISO date-times) bound it.

JSON output is ISO 8601 (``2026-11-25``, ``2026-11-25T09:00:00+00:00``); display
text is ISO too (``2026-11-25``, ``2026-11-25 09:00 UTC``) in every locale.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields import spreadsheet
from tessera.fields.base import FieldType, for_field
from tessera.messages import Msg
from tessera.meta.model import Field

DATE_OPERATORS = frozenset(
    {
        "eq",
        "ne",
        "lt",
        "lte",
        "gt",
        "gte",
        "in",
        "not_in",
        "between",
        "is_empty",
        "is_not_empty",
        "within_last_days",
        "within_next_days",
        "before_today",
        "after_today",
    }
)


def parse_date(raw: Any) -> dt.date:
    """A date from ``YYYY-MM-DD`` or a date object (not a date-time)."""
    if isinstance(raw, dt.datetime):
        raise FieldValueError(Msg("not a date (expected YYYY-MM-DD, without a time)"))
    if isinstance(raw, dt.date):
        return raw
    text = raw.strip() if isinstance(raw, str) else None
    if not text or len(text) != 10:
        raise FieldValueError(Msg("not a date (expected YYYY-MM-DD)"))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FieldValueError(Msg("not a date (expected YYYY-MM-DD)")) from None


def parse_datetime(raw: Any) -> dt.datetime:
    """An aware UTC datetime from ISO text, a datetime or a date; naive means UTC."""
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, dt.date):
        value = dt.datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str) and raw.strip():
        value = _datetime_from_text(raw.strip())
    else:
        raise FieldValueError(Msg("not a date and time (expected YYYY-MM-DDTHH:MM)"))
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _datetime_from_text(text: str) -> dt.datetime:
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise FieldValueError(Msg("not a date and time (expected YYYY-MM-DDTHH:MM)")) from None


def _bound(field: Field, name: str, parse: Any) -> Any:
    """The ``min``/``max`` option parsed like a value (None when absent or unreadable)."""
    raw = field.opt(name)
    if raw is None:
        return None
    try:
        return parse(raw)
    except FieldValueError:
        return None  # the loader reports bad bounds; never crash on a stored one


def range_problem(value: Any, low: Any, high: Any, show: Any) -> str | None:
    """The message for a date outside ``low``..``high``, or None."""
    if low is not None and high is not None and not low <= value <= high:
        return Msg("must be between %(low)s and %(high)s", low=show(low), high=show(high))
    if low is not None and value < low:
        return Msg("must be on or after %(low)s", low=show(low))
    if high is not None and value > high:
        return Msg("must be on or before %(high)s", high=show(high))
    return None


class DateType(FieldType):
    """A calendar date."""

    name = "date"
    operators = DATE_OPERATORS

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Date."""
        return sa.Date()

    def coerce(self, field: Field, raw: Any) -> Any:
        """A date from ``YYYY-MM-DD``."""
        if raw is None or raw == "":
            return None
        return parse_date(raw)

    def from_cell(self, field: Field, cell: Any) -> Any:
        """2024-03-05, 2024/3/5, 2024年3月5日, an Excel serial or a date cell."""
        return spreadsheet.cell_date(cell)

    def validate(self, field: Field, value: Any) -> list[str]:
        """Options min/max."""
        low, high = _bound(field, "min", parse_date), _bound(field, "max", parse_date)
        problem = range_problem(value, low, high, dt.date.isoformat)
        return [problem] if problem else []

    def to_json(self, field: Field, value: Any) -> Any:
        """``2026-11-25``."""
        return None if value is None else value.isoformat()

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``2026-11-25``."""
        return "" if value is None else value.isoformat()

    def convert(self, old_field: Field, new_field: Field, value: Any) -> Any:
        """A date-time becomes its UTC date; anything else as the default."""
        if isinstance(value, dt.datetime):
            return self.coerce_valid(new_field, parse_datetime(value).date())
        return super().convert(old_field, new_field, value)


class DateTimeType(FieldType):
    """A moment in time, stored in UTC."""

    name = "datetime"
    operators = DATE_OPERATORS

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """DateTime(timezone=True)."""
        return sa.DateTime(timezone=True)

    def coerce(self, field: Field, raw: Any) -> Any:
        """An aware UTC datetime; naive input is UTC."""
        if raw is None or raw == "":
            return None
        return parse_datetime(raw)

    def from_cell(self, field: Field, cell: Any) -> Any:
        """A date-time cell, an Excel serial, or ``2024/3/5 14:30`` (naive: UTC)."""
        return spreadsheet.cell_datetime(cell)

    def validate(self, field: Field, value: Any) -> list[str]:
        """Options min/max."""
        low, high = _bound(field, "min", parse_datetime), _bound(field, "max", parse_datetime)
        problem = range_problem(value, low, high, _show)
        return [problem] if problem else []

    def to_json(self, field: Field, value: Any) -> Any:
        """ISO 8601 in UTC: ``2026-11-25T09:00:00+00:00``."""
        return None if value is None else parse_datetime(value).isoformat()

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``2026-11-25 09:00 UTC``."""
        return "" if value is None else _show(parse_datetime(value))

    def convert(self, old_field: Field, new_field: Field, value: Any) -> Any:
        """Dates become midnight UTC; anything else as the default."""
        if for_field(old_field).name == "date" and isinstance(value, dt.date):
            return self.coerce_valid(new_field, value)
        return super().convert(old_field, new_field, value)


def _show(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


builtin = [DateType(), DateTimeType()]
