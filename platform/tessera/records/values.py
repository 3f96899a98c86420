"""Turning raw input into clean column values, and computing formula fields.

Every error is collected per field (``{"email": ["not a valid e-mail address"]}``);
the caller writes nothing when any exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from tessera import expr
from tessera.errors import FieldValueError
from tessera.fields import for_field
from tessera.meta.model import Field, RecordType
from tessera.storage.naming import SYSTEM_COLUMNS

Errors = dict[str, list[str]]


def clean_input(
    rt: RecordType, raw: Mapping[str, Any], *, creating: bool
) -> tuple[dict, dict, Errors]:
    """Split raw input into (column values, link_many id lists, errors)."""
    values: dict[str, Any] = {}
    many: dict[str, list[int]] = {}
    errors: Errors = {}
    fields = rt.field_map
    for key, raw_value in raw.items():
        f = fields.get(key)
        problem = _input_problem(key, f)
        if problem:
            errors[key] = [problem]
            continue
        _clean_one(f, raw_value, values, many, errors)
    if creating:
        _apply_defaults(rt, raw, values, many, errors)
    return values, many, errors


def _input_problem(key: str, f: Field | None) -> str | None:
    if key in SYSTEM_COLUMNS:
        return "is set by the system and cannot be written"
    if f is None:
        return "unknown field"
    if for_field(f).computed:
        return "is computed and cannot be set"
    return None


def _clean_one(f: Field, raw_value: Any, values: dict, many: dict, errors: Errors) -> None:
    try:
        value = for_field(f).clean(f, raw_value)
    except FieldValueError as exc:
        errors.setdefault(f.key, []).append(str(exc))
        return
    if f.type == "link_many":
        many[f.key] = list(value or [])
    else:
        values[f.key] = value


def _apply_defaults(rt: RecordType, raw: Mapping, values: dict, many: dict, errors: Errors) -> None:
    for f in rt.fields:
        if f.key in raw or for_field(f).computed:
            continue
        if f.default is not None:
            _clean_one(f, f.default, values, many, errors)
        elif f.required:
            errors[f.key] = ["required"]


@lru_cache(maxsize=512)
def _parsed(source: str) -> expr.Expression:
    return expr.parse(source)


def formula_fields(rt: RecordType) -> list[Field]:
    """Formula fields in an order where each comes after the formulas it reads."""
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
