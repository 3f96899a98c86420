"""Reading values the way spreadsheets hold them, shared by the field types' ``from_cell``.

Chinese and international spreadsheets write dates as ``2024-03-05``, ``2024/3/5``,
``2024年3月5日`` or an Excel serial number (``45356``); numbers with thousands
separators, currency signs (``¥ ￥ $ € £``, ``元``), full-width digits (``１２３``) and
percent signs; booleans as ``是/否``, ``yes/no``, ``1/0``, ``✓``. Each helper either returns
a value the field type's ``coerce`` accepts, or raises FieldValueError saying exactly
what is wrong (``2024-02-30: February 2024 has 29 days``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal
from typing import Any

from tessera.errors import FieldValueError

#: Excel's day zero in the 1900 date system (serial 1 = 1900-01-01, with Lotus's leap bug)
EXCEL_EPOCH = dt.date(1899, 12, 30)
EXCEL_MAX_SERIAL = 2_958_465  # 9999-12-31
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_DATE = re.compile(
    r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[ T]+(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2})(?:\.\d+)?)?)?"
)
_COMPACT_DATE = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})")
_SERIAL = re.compile(r"\d{1,7}(\.\d+)?")
_CURRENCY = re.compile(r"^(?:[¥￥$€£]|RMB|CNY|USD|EUR)\s*|\s*(?:元|RMB|CNY|USD|EUR)$", re.I)
_TRUE = frozenset({"true", "yes", "y", "1", "on", "t", "是", "对", "有", "√", "✓", "✔", "☑"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "f", "否", "错", "无", "×", "✗", "✘", "☐"})
_LIST_SEPARATORS = re.compile(r"[,;、，；|\n]")


def halfwidth(text: str) -> str:
    """Full-width ASCII (``１２３，４５６``) and the ideographic space as plain ASCII."""
    return text.translate(_FULLWIDTH)


def cell_text(cell: Any) -> str | None:
    """A cell as trimmed half-width text; None when blank. Integral floats lose ``.0``."""
    if cell is None:
        return None
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = halfwidth(str(cell)).strip()
    return text or None


def cell_date(cell: Any) -> dt.date | None:
    """A date from a date cell, an Excel serial, or text in the common formats."""
    if cell is None or isinstance(cell, dt.date | dt.datetime):
        return _date_part(cell)
    if isinstance(cell, bool):
        raise FieldValueError("not a date")
    if isinstance(cell, int | float | Decimal):
        return excel_serial(cell)
    text = cell_text(cell)
    if text is None:
        return None
    if _SERIAL.fullmatch(text) and len(text.split(".")[0]) <= 5:
        return excel_serial(Decimal(text))
    moment = _parse_text_moment(text)
    if moment.time() != dt.time():
        raise FieldValueError(f"{text}: a date without a time is expected")
    return moment.date()


def cell_datetime(cell: Any) -> dt.datetime | None:
    """A naive date-time (the field type reads naive as UTC) from a cell."""
    if cell is None or isinstance(cell, dt.datetime):
        return cell
    if isinstance(cell, dt.date):
        return dt.datetime.combine(cell, dt.time())
    if isinstance(cell, int | float | Decimal) and not isinstance(cell, bool):
        days = Decimal(str(cell))
        base = dt.datetime.combine(excel_serial(int(days)), dt.time())
        return base + dt.timedelta(seconds=round(float(days - int(days)) * 86400))
    text = cell_text(cell)
    return None if text is None else _parse_text_moment(text)


def _date_part(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time():
            raise FieldValueError(f"{value:%Y-%m-%d %H:%M}: a date without a time is expected")
        return value.date()
    return value


def excel_serial(number: Any) -> dt.date:
    """The date of an Excel serial day number (1900 system)."""
    value = Decimal(str(number))
    if value != value.to_integral_value() or not 1 <= value <= EXCEL_MAX_SERIAL:
        raise FieldValueError(
            f"{number}: not a date (an Excel day number is 1..{EXCEL_MAX_SERIAL})"
        )
    return EXCEL_EPOCH + dt.timedelta(days=int(value))


def _parse_text_moment(text: str) -> dt.datetime:
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match is None:
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            raise FieldValueError(
                f"{text}: not a date (expected 2024-03-05, 2024/3/5 or 2024年3月5日)"
            ) from None
    parts = match.groupdict()
    day = _checked_date(text, int(parts["y"]), int(parts["m"]), int(parts["d"]))
    hour, minute, second = (int(parts.get(k) or 0) for k in ("H", "M", "S"))
    if hour > 23 or minute > 59 or second > 59:
        raise FieldValueError(f"{text}: {hour:02}:{minute:02}:{second:02} is not a time of day")
    return dt.datetime.combine(day, dt.time(hour, minute, second))


def _checked_date(text: str, year: int, month: int, day: int) -> dt.date:
    if not 1 <= month <= 12:
        raise FieldValueError(f"{text}: there is no month {month}")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        name = calendar.month_name[month]
        raise FieldValueError(f"{text}: {name} {year} has {last} days")
    return dt.date(year, month, day)


def cell_number(cell: Any, *, percent_field: bool = False) -> Decimal | None:
    """A Decimal from a number cell or text with separators, currency signs and ``%``.

    In a percent field ``12.5%`` is 12.5 (the field stores the number before the sign);
    in any other number field it is 0.125.
    """
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise FieldValueError("not a number")
    if isinstance(cell, int | Decimal):
        return Decimal(cell)
    if isinstance(cell, float):
        return Decimal(repr(cell))
    text = cell_text(cell)
    if text is None:
        return None
    return _number_text(text.replace(" ", "").replace("\u00a0", ""), percent_field)


def _number_text(text: str, percent_field: bool) -> Decimal:
    original = text
    text = _CURRENCY.sub("", text)
    percent = text.endswith("%")
    text = text.rstrip("%")
    if text.count(",") and not re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", text):
        raise FieldValueError(
            f"{original}: not a number (a comma may only separate groups of three digits)"
        )
    try:
        number = Decimal(text.replace(",", ""))
    except ArithmeticError:
        raise FieldValueError(f"{original}: not a number") from None
    if not number.is_finite():
        raise FieldValueError(f"{original}: not a number")
    return number / 100 if percent and not percent_field else number


def cell_boolean(cell: Any) -> bool | None:
    """True/False from 是/否, yes/no, 1/0, ✓/✗ and the like."""
    if cell is None or isinstance(cell, bool):
        return cell
    text = cell_text(cell)
    if text is None:
        return None
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise FieldValueError(f"{text}: not yes or no (expected 是/否, yes/no, 1/0 or ✓)")


def cell_list(cell: Any) -> list[str] | None:
    """Items of a multi-value cell split on ``,`` ``;`` ``、`` (and their full-width forms)."""
    if isinstance(cell, list | tuple):
        return [str(x) for x in cell] or None
    text = cell_text(cell)
    if text is None:
        return None
    return [part.strip() for part in _LIST_SEPARATORS.split(text) if part.strip()] or None
