"""Computed field types: auto_number, formula, rollup. Users never supply their values.

- auto_number: a label ``<prefix><n zero-padded>`` (``CUS-000123``) in a
  ``String(64)`` column; :func:`next_label` builds it. The counter itself (unique under
  concurrent inserts) is kept by the records layer; ``start`` is its first value.
  A naming series (option ``format``, see :mod:`tessera.fields.series`) replaces prefix
  and padding with a pattern such as ``CRM-LEAD-{YYYY}-{#####}`` whose counter restarts
  each period its date parts name.
- formula: option ``formula`` (expression text, see :mod:`tessera.expr`) and
  ``result`` (number | text | boolean | date | currency, default number). The value is
  computed on write with :meth:`FormulaType.compute` and stored in a column of the
  result's type. Numbers are rounded half-up to ``scale`` (default 2; currency 2) —
  unlike user input, which is refused when it has too many decimals, because a
  computed ``7 / 3`` must still be storable. JSON/format follow the result type.
- rollup: ``aggregate`` (count | sum | min | max | avg) of ``field`` over the records of
  type ``from`` whose link ``via`` points here, kept current by the records layer.
  count is a ``BigInteger``, the others ``Numeric(18, scale)`` (scale default 2) —
  except min/max over a date or datetime field, which the compiler marks with
  ``result: date|datetime`` so the column, parsing and display follow that type
  ("last contact", "last purchase").
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from tessera import expr
from tessera.errors import FieldValueError
from tessera.fields import series
from tessera.fields.base import FieldType, get
from tessera.fields.numbers import DEFAULT_PRECISION, NUMBER_OPERATORS, parse_decimal
from tessera.fields.temporal import DATE_OPERATORS, parse_datetime
from tessera.fields.text import TEXT_OPERATORS
from tessera.messages import Msg
from tessera.meta.model import Field, freeze

RESULTS = ("number", "text", "boolean", "date", "currency")
AGGREGATES = ("count", "sum", "min", "max", "avg")
TEMPORAL_RESULTS = ("date", "datetime")


def next_label(field: Field, n: int) -> str:
    """The auto-number label for counter value ``n``: ``CUS-000123``."""
    padding = int(field.opt("padding", 6))
    return f"{field.opt('prefix', '')}{n:0{padding}d}"


class AutoNumberType(FieldType):
    """A sequential label; options ``prefix``, ``padding`` (default 6), ``start`` (1)."""

    name = "auto_number"
    computed = True
    operators = TEXT_OPERATORS

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """String(64)."""
        return sa.String(64)

    def start(self, field: Field) -> int:
        """The first counter value."""
        return int(field.opt("start", 1))

    def next_label(self, field: Field, n: int, when: dt.datetime | None = None) -> str:
        """The label for counter value ``n`` given at ``when`` (a series' date parts)."""
        fmt = field.opt("format")
        if fmt:
            return series.render(fmt, n, series.local(when, field.opt("timezone")))
        return next_label(field, n)

    def counter(self, field: Field, base: str, when: dt.datetime) -> str:
        """The name of the counter numbering a record created at ``when``.

        ``base`` without a series period (so a plain auto_number, or a series without
        date parts, keeps counting where it was); ``base@2026`` for a yearly series,
        ``base@2026-03`` monthly, ``base@2026-03-05`` daily.
        """
        fmt = field.opt("format")
        period = series.period(fmt, series.local(when, field.opt("timezone"))) if fmt else ""
        return f"{base}@{period}" if period else base

    def coerce(self, field: Field, raw: Any) -> Any:
        """The label as text (the engine makes it; imports may carry one)."""
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise FieldValueError(Msg("must be text"))
        return str(raw).strip() or None

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """The label itself; a bare counter value gets its prefix and padding."""
        if value is None:
            return ""
        return next_label(field, value) if isinstance(value, int) else str(value)


@lru_cache(maxsize=1024)
def _parsed(source: str) -> expr.Expression:
    return expr.parse(source)


def _result_field(field: Field, result: str, scale: int) -> Field:
    """A stand-in field of the result type, so that type formats and stores it."""
    options = {"scale": scale, "precision": int(field.opt("precision", 18))}
    if field.opt("currency"):
        options["currency"] = field.opt("currency")
    return Field(key=field.key, type=result, label=field.label, options=freeze(options))


class FormulaType(FieldType):
    """A value computed from the record's fields by a safe expression."""

    name = "formula"
    computed = True
    # the union: the query layer should ask operators_for(field) for the exact set
    operators = NUMBER_OPERATORS | TEXT_OPERATORS | DATE_OPERATORS

    def result(self, field: Field) -> str:
        """The declared result type (default number)."""
        return field.opt("result", "number")

    def result_field(self, field: Field) -> Field:
        """A field of the result type standing in for this one."""
        return _result_field(field, self.result(field), int(field.opt("scale", 2)))

    def result_type(self, field: Field) -> FieldType:
        """The field type of the result."""
        return get(self.result(field))

    def operators_for(self, field: Field) -> frozenset[str]:
        """The result type's operators."""
        return self.result_type(field).operators

    def expression(self, field: Field) -> expr.Expression:
        """The parsed formula (cached); raises ExpressionError when it does not parse."""
        return _parsed(field.opt("formula", ""))

    def compute(self, field: Field, values: Any, *, now: dt.datetime | None = None) -> Any:
        """Evaluate the formula for ``values`` and convert to the result type."""
        return self.coerce(field, self.expression(field).evaluate(values, now=now))

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """The result type's column."""
        return self.result_type(field).column_type(self.result_field(field))

    def coerce(self, field: Field, raw: Any) -> Any:
        """Evaluator output (or stored value) as the result type."""
        if raw is None or raw == "":
            return None
        result = self.result(field)
        if result in ("number", "currency"):
            scale = 2 if result == "currency" else int(field.opt("scale", 2))
            return _rounded(raw, scale)
        if result == "boolean":
            return bool(raw) if not isinstance(raw, str) else get("boolean").coerce(field, raw)
        if result == "date":
            return _as_date(raw)
        return _as_text(raw)

    def to_json(self, field: Field, value: Any) -> Any:
        """As the result type."""
        return self.result_type(field).to_json(self.result_field(field), value)

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """As the result type."""
        return self.result_type(field).format(self.result_field(field), value, locale)


def _rounded(raw: Any, scale: int) -> Any:
    """A number rounded half-up to ``scale`` (int when scale is 0)."""
    if isinstance(raw, dt.date):
        raise FieldValueError(Msg("the formula gave a date, not a number"))
    number = parse_decimal(raw)
    try:
        exact = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise FieldValueError(Msg("is too large")) from None
    if abs(exact) >= Decimal(10) ** (DEFAULT_PRECISION - scale):
        raise FieldValueError(Msg("is too large"))  # would not fit the Numeric(18, scale) column
    return int(exact) if scale == 0 else exact


def _as_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return parse_datetime(raw).date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        return get("date").coerce(None, raw)  # type: ignore[arg-type]  # date ignores field
    raise FieldValueError(Msg("the formula did not give a date"))


def _as_text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, dt.date):
        return raw.isoformat()
    return str(raw)


class RollupType(FieldType):
    """An aggregate over the records linking here; options from, via, aggregate, field."""

    name = "rollup"
    computed = True
    operators = NUMBER_OPERATORS

    def aggregate(self, field: Field) -> str:
        """count, sum, min, max or avg."""
        return field.opt("aggregate", "count")

    def scale(self, field: Field) -> int:
        """Decimal places kept (count: 0)."""
        return 0 if self.aggregate(field) == "count" else int(field.opt("scale", 2))

    @staticmethod
    def temporal(field: Field) -> FieldType | None:
        """The date/datetime type a min/max rollup over such a field takes after."""
        result = field.opt("result")
        return get(result) if result in TEMPORAL_RESULTS else None

    def operators_for(self, field: Field) -> frozenset[str]:
        """Date operators (relative dates too) for a temporal min/max, else numeric ones."""
        kind = self.temporal(field)
        return kind.operators if kind is not None else NUMBER_OPERATORS

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """BigInteger for count, the source's type for a temporal min/max, else Numeric."""
        if (kind := self.temporal(field)) is not None:
            return kind.column_type(field)
        if self.aggregate(field) == "count":
            return sa.BigInteger()
        return sa.Numeric(18, self.scale(field), asdecimal=True)

    def coerce(self, field: Field, raw: Any) -> Any:
        """The aggregate as int (count), a date/datetime, or Decimal rounded to the scale."""
        if raw is None or raw == "":
            return None
        if (kind := self.temporal(field)) is not None:
            return kind.coerce(field, raw)
        return _rounded(raw, self.scale(field))

    def to_json(self, field: Field, value: Any) -> Any:
        """count: int; dates: ISO text; others: decimal string."""
        if value is not None and (kind := self.temporal(field)) is not None:
            return kind.to_json(field, value)
        return value if value is None or isinstance(value, int) else str(value)

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """Grouped thousands: ``1,234.50``; with the currency code when one is set."""
        if value is None:
            return ""
        if (kind := self.temporal(field)) is not None:
            return kind.format(field, value, locale)
        text = f"{value:,}" if isinstance(value, int) else f"{value:,.{self.scale(field)}f}"
        code = field.opt("currency")
        return f"{code} {text}" if code else text


builtin = [AutoNumberType(), FormulaType(), RollupType()]
