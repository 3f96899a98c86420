"""Semantic checks of field behaviour: defaults, read_only/set_once, per-record currency,
and the values of duration and time fields.

Called by ``checks.Checker.check_field`` for every field; problems carry the path of the
offending key (the loader adds file:line) and a hint saying what to write instead.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from tessera import expr
from tessera.errors import FieldValueError
from tessera.query import dates

if TYPE_CHECKING:
    from tessera.meta.checks import Checker

#: field types a currency_field may name (they hold a code such as USD)
CODE_TYPES = {"text", "select"}


def check(checker: Checker, path: str, f: dict, rt_key: str) -> None:
    """Every behaviour check of one field."""
    _behaviour(checker, path, f)
    _default(checker, path, f, rt_key)
    if f.get("type") == "currency" and "currency_field" in f:
        _currency_field(checker, path, f, rt_key)
    if f.get("type") == "duration":
        _durations(checker, path, f)
    if f.get("type") == "time":
        _times(checker, path, f)


def _behaviour(checker: Checker, path: str, f: dict) -> None:
    # read_only/set_once on a computed type (formula...) is an unknown key for the schema
    if f.get("read_only") is True and f.get("set_once") is True:
        checker.add(
            f"{path}.set_once",
            "a field cannot be both read_only and set_once",
            "read_only: only workflows and imports write it; set_once: people write it once",
        )
    if f.get("read_only") is True and f.get("required") is True and f.get("default") is None:
        checker.add(
            f"{path}.required",
            "a read_only field that is required needs a default: people cannot fill it in",
            "add a default (e.g. default: now), or drop required and let a workflow set it",
        )


def _default(checker: Checker, path: str, f: dict, rt_key: str) -> None:
    default, ftype = f.get("default"), f.get("type")
    where = f"{path}.default"
    if default is None:
        return
    if isinstance(default, dict) and "expr" in default:
        _expression(checker, where, default.get("expr"), f, rt_key)
    elif default == "$me" and ftype != "user":
        checker.add(where, f"$me is the current user: it only suits a user field, not a {ftype}")
    elif ftype == "user" and default != "$me":
        checker.add(where, f'a user field\'s default must be "$me", not {default!r}')
    elif ftype == "date" and isinstance(default, str) and not _date_ok(default):
        hint = "write YYYY-MM-DD, today, +7d, start_of_month, or {expr: today() + 7}"
        checker.add(where, f'"{default}" is not a date', hint)
    elif ftype == "datetime" and isinstance(default, str) and not _datetime_ok(default):
        checker.add(where, f'"{default}" is not a date-time', "write YYYY-MM-DDTHH:MM or now")


def _date_ok(text: str) -> bool:
    if dates.is_relative(text):
        return True
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _datetime_ok(text: str) -> bool:
    if text == "now":
        return True
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _expression(checker: Checker, where: str, source: Any, f: dict, rt_key: str) -> None:
    if f.get("type") in ("link", "link_many", "user", "attachment"):
        checker.add(where, f"a {f.get('type')} field takes no expression default")
        return
    try:
        parsed = expr.parse(source)
    except expr.ExpressionError as exc:
        checker.add(f"{where}.expr", f"default expression does not parse: {exc}")
        return
    for name in sorted(parsed.names):
        if name == f.get("key"):
            checker.add(f"{where}.expr", f'a default cannot read its own field "{name}"')
        else:
            checker.field_exists(name, f"{where}.expr", rt_key, what="default expression")


def _currency_field(checker: Checker, path: str, f: dict, rt_key: str) -> None:
    where = f"{path}.currency_field"
    source = checker.field_exists(f.get("currency_field"), where, rt_key)
    if source is not None and source.get("type") not in CODE_TYPES:
        checker.add(
            where,
            f'"{source.get("key")}" is a {source.get("type")}: a currency code is text',
            "name a text or select field holding codes such as CNY, USD",
        )


def _durations(checker: Checker, path: str, f: dict) -> None:
    from tessera.fields.clock import parse_duration

    found = {}
    for key in ("min", "max", "default"):
        raw = f.get(key)
        if raw is None or isinstance(raw, dict):
            continue
        try:
            found[key] = parse_duration(raw)
        except FieldValueError:
            checker.add(f"{path}.{key}", f'"{raw}" is not a duration', 'write e.g. "1h 30m"')
    if "min" in found and "max" in found and found["min"] > found["max"]:
        checker.add(f"{path}.min", f"min ({f['min']}) is longer than max ({f['max']})")


def _times(checker: Checker, path: str, f: dict) -> None:
    from tessera.fields.clock import parse_time

    for key in ("min", "max", "default"):
        raw = f.get(key)
        if raw is None or (key == "default" and raw == "now"):
            continue
        try:
            parse_time(raw)
        except FieldValueError:
            checker.add(f"{path}.{key}", f'"{raw}" is not a time of day', "write HH:MM")
