"""Turning raw input into clean column values, and computing formula fields.

Every error is collected per field (``{"email": ["not a valid e-mail address"]}``);
the caller writes nothing when any exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from tessera import expr
from tessera.errors import FieldValueError
from tessera.fields import for_field
from tessera.fields.tables import RowErrors
from tessera.messages import Msg
from tessera.meta.model import Field, RecordType
from tessera.records import defaults as field_defaults
from tessera.storage.naming import SYSTEM_COLUMNS

Errors = dict[str, list[str]]
#: field types whose values are not columns of the record (link_many ids, table rows)
MANY = frozenset({"link_many", "table"})


def clean_input(
    rt: RecordType,
    raw: Mapping[str, Any],
    *,
    creating: bool,
    now: dt.datetime | None = None,
    me: int | None = None,
) -> tuple[dict, dict, Errors]:
    """Split raw input into (column values, link_many id lists and table rows, errors).

    On create, absent fields get their defaults (records/defaults: ``$me`` is ``me``,
    ``today``/``now`` come from ``now``, an ``{expr}`` sees the values given).
    """
    values: dict[str, Any] = {}
    many: dict[str, list[int]] = {}
    errors: Errors = {}
    writable, defaults = _plan(rt)
    for key, raw_value in raw.items():
        step = writable.get(key)
        if step is None:
            errors[key] = [_input_problem(key, rt.field_map.get(key))]
            continue
        _clean_one(step, raw_value, values, many, errors)
    if creating:
        for f, ft, is_many, default in defaults:
            if f.key in raw:
                continue
            if default is not None:
                if field_defaults.is_computed(f):
                    default = field_defaults.resolve(
                        f, now=now or dt.datetime.now(dt.UTC), me=me, values=values
                    )
                if default is None:
                    if f.required:
                        errors[f.key] = [Msg("required")]
                    continue
                _clean_one((f, ft, is_many), default, values, many, errors)
            elif f.type == "table" and f.opt("min_rows"):  # "needs at least 2 rows"
                _clean_one((f, ft, is_many), [], values, many, errors)
            elif f.required:
                errors[f.key] = [Msg("required")]
    return values, many, errors


def _plan(rt: RecordType) -> tuple[dict[str, tuple], list[tuple]]:
    """Per record type, computed once: the writable fields by key as (field, its type,
    is link_many), and the fields a create fills when absent (with their defaults).

    Kept in the frozen RecordType's ``__dict__`` (like ``field_map``): cleaning runs per
    row of every bulk write, and looking the same things up per value dominated it.
    """
    plan = rt.__dict__.get("_clean_plan")
    if plan is None:
        writable, defaults = {}, []
        for f in rt.fields:
            ft = for_field(f)
            if ft.computed:
                continue
            if _input_problem(f.key, f) is None:
                writable[f.key] = (f, ft, f.type in MANY)
            defaults.append((f, ft, f.type in MANY, f.default))
        plan = (writable, defaults)
        object.__setattr__(rt, "_clean_plan", plan)
    return plan


def _input_problem(key: str, f: Field | None) -> str | None:
    if key in SYSTEM_COLUMNS:
        return Msg("is set by the system and cannot be written")
    if f is None:
        return Msg("unknown field")
    if for_field(f).computed:
        return Msg("is computed and cannot be set")
    return None


def _clean_one(step: tuple, raw_value: Any, values: dict, many: dict, errors: Errors) -> None:
    f, ft, is_many = step
    try:
        value = ft.clean(f, raw_value)
    except RowErrors as exc:  # a table's problems, per row and cell (items[1].qty)
        for key, messages in exc.errors.items():
            errors.setdefault(key, []).extend(messages)
        many[f.key] = exc.rows  # still checked (links) so every problem shows at once
        return
    except FieldValueError as exc:
        errors.setdefault(f.key, []).append(str(exc))
        return
    if is_many:
        many[f.key] = list(value or [])
    else:
        values[f.key] = value


@lru_cache(maxsize=512)
def _parsed(source: str) -> expr.Expression:
    return expr.parse(source)


def formula_fields(rt: RecordType) -> list[Field]:
    """Formula fields in an order where each comes after the formulas it reads."""
    ordered = rt.__dict__.get("_formula_order")
    if ordered is None:  # computed once per (frozen) record type
        ordered = tuple(_formula_order(rt))
        object.__setattr__(rt, "_formula_order", ordered)
    return list(ordered)


def _formula_order(rt: RecordType) -> list[Field]:
    formulas = {f.key: f for f in rt.fields if f.type == "formula"}
    ordered: list[Field] = []
    seen: set[str] = set()

    def visit(key: str) -> None:
        if key in seen:
            return
        seen.add(key)
        for name in _parsed(formulas[key].opt("formula")).names:
            if name in formulas:
                visit(name)
        ordered.append(formulas[key])

    for key in formulas:
        visit(key)
    return ordered


def compute_formulas(rt: RecordType, record: dict, linked: Callable[[str], Any]) -> dict:
    """Evaluate formula fields over ``record`` (updated in place); returns the new values.

    ``linked(dotted_name)`` supplies values of dotted names such as ``customer.tier``.
    A formula that fails on this record's values stores NULL rather than refusing the
    write: the template validator already proved it well-formed.
    """
    out = {}
    for f in formula_fields(rt):
        parsed = _parsed(f.opt("formula"))
        scope = {n: (linked(n) if "." in n else record.get(n)) for n in parsed.names}
        try:
            value = for_field(f).coerce(f, parsed.evaluate(scope))
        except (FieldValueError, expr.ExpressionError, ArithmeticError, TypeError, ValueError):
            value = None
        record[f.key] = out[f.key] = value
    return out
