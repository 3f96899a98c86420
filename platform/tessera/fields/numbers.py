"""Number-like field types: number, currency, percent, rating.

Python values: ``int`` for whole numbers (number with scale 0, rating) and
``decimal.Decimal`` quantized to the field's scale otherwise — never float, so money
adds up exactly. JSON floats are read through ``repr`` (``0.1`` stays ``0.1``).

JSON output (decision): whole numbers are JSON integers; every Decimal (decimal
numbers, currency, percent) is a JSON *string* such as ``"1234.50"``, because JSON
numbers are binary floats in most clients and would lose cents. Input accepts both.

Form strings: blanks trimmed, ``1,234.50`` thousands separators and a leading
currency sign (``¥ $ € £``) are accepted; percent also accepts a trailing ``%``.
A percent value is the number shown before the ``%`` (``12.5`` means 12.5 %).

Columns: number with scale 0 is ``BigInteger`` (an Integer type, 64-bit so large
counts fit on PostgreSQL), otherwise ``Numeric(precision, scale)`` (precision
defaults to 18); currency ``Numeric(18, 2)``; percent ``Numeric(12, scale)`` (scale
defaults to 2); rating ``Integer``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields import spreadsheet
from tessera.fields.base import FieldType
from tessera.messages import Msg
from tessera.meta.model import Field

NUMBER_OPERATORS = frozenset(
    {"eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between", "is_empty", "is_not_empty"}
)
INT64_MAX = 2**63 - 1
DEFAULT_PRECISION = 18
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_PLAIN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_decimal(raw: Any, *, suffix: str = "") -> Decimal:
    """A Decimal from a JSON number or a form string; FieldValueError(Msg("not a number"))."""
    if isinstance(raw, bool):
        raise FieldValueError(Msg("not a number"))
    if isinstance(raw, int | Decimal):
        return Decimal(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise FieldValueError(Msg("not a number"))
        return Decimal(repr(raw))
    if not isinstance(raw, str):
        raise FieldValueError(Msg("not a number"))
    text = raw.strip().lstrip("¥$€£").strip()
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)].strip()
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    if not _PLAIN.fullmatch(text):
        raise FieldValueError(Msg("not a number"))
    return Decimal(text)


def range_problem(value: Any, low: Any, high: Any) -> str | None:
    """The min/max message for ``value``, or None when it is in range."""
    low = None if low is None else Decimal(str(low))
    high = None if high is None else Decimal(str(high))
    too_low = low is not None and value < low
    too_high = high is not None and value > high
    if not (too_low or too_high):
        return None
    if low is not None and high is not None:
        return Msg("must be between %(low)s and %(high)s", low=_plain(low), high=_plain(high))
    if too_low:
        return Msg("must be at least %(low)s", low=_plain(low))
    return Msg("must be at most %(high)s", high=_plain(high))


def _plain(number: Decimal) -> str:
    """``100`` rather than ``1E+2`` or ``100.0`` in messages."""
    text = format(number.normalize(), "f")
    return text


class NumberType(FieldType):
    """A number: options ``scale`` (decimal places, default 0), ``precision``, min, max."""

    name = "number"
    operators = NUMBER_OPERATORS
    #: suffix accepted after form input (percent: "%")
    suffix: ClassVar[str] = ""

    def scale(self, field: Field) -> int:
        """Decimal places kept (0 = whole numbers)."""
        return int(field.opt("scale", 0) or 0)

    def precision(self, field: Field) -> int:
        """Total significant digits of the column."""
        return int(field.opt("precision", DEFAULT_PRECISION) or DEFAULT_PRECISION)

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """BigInteger for whole numbers, else Numeric(precision, scale)."""
        if self.scale(field) == 0 and not field.opt("precision"):
            return sa.BigInteger()
        return sa.Numeric(self.precision(field), self.scale(field), asdecimal=True)

    def coerce(self, field: Field, raw: Any) -> Any:
        """int (scale 0) or Decimal quantized to the scale."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        number = parse_decimal(raw, suffix=self.suffix)
        scale = self.scale(field)
        try:
            exact = number.quantize(Decimal(1).scaleb(-scale), rounding="ROUND_DOWN")
        except InvalidOperation:  # more digits than Decimal's context holds
            raise FieldValueError(Msg("is too large")) from None
        if number != exact:
            if scale == 0:
                raise FieldValueError(Msg("must be a whole number"))
            raise FieldValueError(Msg("must have at most %(n)s decimal places", n=scale))
        return int(exact) if scale == 0 else exact

    def from_cell(self, field: Field, cell: Any) -> Any:
        """Separators, currency signs, full-width digits, ``%`` (see fields/spreadsheet)."""
        return spreadsheet.cell_number(cell, percent_field=bool(self.suffix))

    def validate(self, field: Field, value: Any) -> list[str]:
        """Size of the column, then min/max."""
        problem = self._size_problem(field, value) or range_problem(
            value, field.opt("min"), field.opt("max")
        )
        return [problem] if problem else []

    def _size_problem(self, field: Field, value: Any) -> str | None:
        if isinstance(value, int):
            return None if abs(value) <= INT64_MAX else Msg("is too large")
        whole_digits = self.precision(field) - self.scale(field)
        if abs(value) >= Decimal(10) ** whole_digits:
            return f"is too large (at most {whole_digits} digits before the decimal point)"
        return None

    def to_json(self, field: Field, value: Any) -> Any:
        """int stays int; Decimal becomes a string (see module docstring)."""
        if value is None or isinstance(value, int):
            return value
        return str(value)

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """Grouped thousands, the field's decimal places: ``1,234.50``."""
        if value is None:
            return ""
        if isinstance(value, int):
            return f"{value:,}"
        return f"{Decimal(value):,.{self.scale(field)}f}"


class CurrencyType(NumberType):
    """Money in one currency (option ``currency``, an ISO code); always 2 decimal places."""

    name = "currency"

    def scale(self, field: Field) -> int:
        """Always cents."""
        return 2

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Numeric(18, 2)."""
        return sa.Numeric(self.precision(field), 2, asdecimal=True)

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``CNY 1,234.50`` (the field's fixed ``currency``)."""
        return self.format_in(field, value, field.opt("currency"))

    def format_in(self, field: Field, value: Any, code: Any) -> str:
        """``USD 1,234.50``: the amount with the currency ``code`` (none: the bare amount)."""
        if value is None:
            return ""
        amount = f"{Decimal(value):,.2f}"
        return f"{code} {amount}" if code else amount

    def code_of(self, field: Field, record: Mapping[str, Any] | None) -> Any:
        """The currency of ``field`` in ``record``: its ``currency_field``'s value, else
        the fixed ``currency`` (a record without a code shows the fixed one, or none)."""
        source = field.opt("currency_field")
        if source and record and record.get(source):
            return str(record[source]).upper()
        return field.opt("currency")


class PercentType(NumberType):
    """A percentage, stored as the number before the % sign; scale defaults to 2."""

    name = "percent"
    suffix = "%"

    def scale(self, field: Field) -> int:
        """Decimal places kept (default 2)."""
        return int(field.opt("scale", 2))

    def precision(self, field: Field) -> int:
        """12 digits: room for percentages far above 100 %."""
        return int(field.opt("precision", 12))

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Numeric(12, scale)."""
        return sa.Numeric(self.precision(field), self.scale(field), asdecimal=True)

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``12.5%`` (trailing zeros dropped)."""
        if value is None:
            return ""
        return f"{_plain(Decimal(value))}%"


class RatingType(FieldType):
    """A whole-number rating from 1 to ``max`` (default 5), shown as stars."""

    name = "rating"
    operators = NUMBER_OPERATORS

    def top(self, field: Field) -> int:
        """The highest rating."""
        return int(field.opt("max", 5))

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Integer."""
        return sa.Integer()

    def coerce(self, field: Field, raw: Any) -> Any:
        """An int from 4, "4" or "4.0"."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        number = parse_decimal(raw)
        if number != number.to_integral_value():
            raise FieldValueError(Msg("must be a whole number"))
        return int(number)

    def from_cell(self, field: Field, cell: Any) -> Any:
        """A number cell, full-width digits, or stars (``★★★☆☆`` is 3)."""
        text = spreadsheet.cell_text(cell)
        if text and set(text) <= {"★", "☆"}:
            return text.count("★")
        return spreadsheet.cell_number(cell)

    def validate(self, field: Field, value: Any) -> list[str]:
        """1..max."""
        return (
            []
            if 1 <= value <= self.top(field)
            else [Msg("must be between %(low)s and %(high)s", low=1, high=self.top(field))]
        )

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``★★★☆☆``."""
        if value is None:
            return ""
        top = self.top(field)
        filled = max(0, min(value, top))
        return "★" * filled + "☆" * (top - filled)


builtin = [NumberType(), CurrencyType(), PercentType(), RatingType()]
