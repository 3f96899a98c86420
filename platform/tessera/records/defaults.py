"""Field defaults, resolved when a record is created (and when a new form is shown).

A field's ``default`` is a literal (a number, a text, an option value, a record id for
a link), or computed when the record is created:

- ``$me``: the user creating the record (user fields; empty for the system or a public form);
- ``today`` and the relative dates of conditions (``+7d``, ``start_of_month``...) for dates;
- ``now`` for date-times (stored in UTC) and times of day;
- ``{expr: "today() + 7"}``: a formula over the values given so far (the same safe
  evaluator as formula fields, never ``eval``); a formula that fails leaves it empty.

The result is raw input: the field type cleans it like any value a user typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from tessera import expr
from tessera.meta.model import Field
from tessera.query import dates

ME = "$me"


@lru_cache(maxsize=256)
def _parsed(source: str) -> expr.Expression:
    return expr.parse(source)


def expression(default: Any) -> str | None:
    """The formula of an ``{expr: ...}`` default, else None."""
    if isinstance(default, Mapping) and isinstance(default.get("expr"), str):
        return default["expr"]
    return None


def is_computed(f: Field) -> bool:
    """True when ``f``'s default depends on who creates the record, when, or other values."""
    d = f.default
    return (
        expression(d) is not None
        or d == ME
        or (f.type == "date" and dates.is_relative(d))
        or (f.type in ("datetime", "time") and d == "now")
    )


def resolve(
    f: Field, *, now: dt.datetime, me: int | None = None, values: Mapping[str, Any] | None = None
) -> Any:
    """The raw value ``f`` starts with in a record created at ``now`` by user ``me``."""
    default = f.default
    source = expression(default)
    if source is not None:
        try:
            return _parsed(source).evaluate(values or {}, now=now)
        except (expr.ExpressionError, ArithmeticError, TypeError, ValueError):
            return None
    if default == ME and f.type == "user":
        return me
    if f.type == "date" and dates.is_relative(default):
        return dates.relative_day(default, now)
    if f.type == "datetime" and default == "now":
        return dates.aware(now).astimezone(dt.UTC)
    if f.type == "time" and default == "now":
        return dates.aware(now).astimezone(dt.UTC).time().replace(second=0, microsecond=0)
    return default
