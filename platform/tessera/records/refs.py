"""Link references by value: ``{"by": "email", "value": "a@b.cn"}`` instead of an id.

The REST API, imports and workflows may name a linked record by its title or by any
stored field of the target type: ``{"customer": {"by": "email", "value": "a@b.cn"}}``,
``{"customer": {"by": "title", "value": "Acme"}}``; a ``user`` field by ``username``
or ``email``; a ``link_many`` list may mix ids and such references. Resolution is
set-based: one query per link field and ``by`` for a whole batch of rows, never one
per row. A value matching no record, or more than one, is a per-row, per-field error.
A polymorphic link's reference also names the type:
``{"regarding": {"type": "customer", "by": "email", "value": "a@b.cn"}}``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from tessera.fields import for_field
from tessera.fields.polylinks import targets
from tessera.meta.model import App, Field, RecordType, freeze
from tessera.storage.system import users

LINK_TYPES = ("link", "link_many", "user", "poly_link")
USER_KEYS = ("username", "email")


def is_ref(value: Any) -> bool:
    """True for a ``{"by": ..., "value": ...}`` reference (a text field name, a plain value).

    Anything else shaped like one (a list or object as the value) is left to the field
    type, which refuses it with its usual message.
    """
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("by"), str)
        and isinstance(value.get("value"), str | int | float)
        and not isinstance(value.get("value"), bool)
        and "id" not in value
    )


def has_refs(rt: RecordType, rows: Iterable[Mapping[str, Any]]) -> bool:
    """True when any row names a linked record by value (cheap check before a query)."""
    keys = [f.key for f in rt.fields if f.type in LINK_TYPES]
    for row in rows:
        for key in keys:
            value = row.get(key) if isinstance(row, Mapping) else None
            if is_ref(value) or (isinstance(value, list) and any(is_ref(v) for v in value)):
                return True
    return False


def target_column(registry, app: App, f, by: str) -> tuple[sa.Table, sa.ColumnElement, Any]:
    """(table, column, field) a reference ``by`` names on ``f``'s target; ValueError if none."""
    if f.type == "user":
        if by not in USER_KEYS:
            raise ValueError(f'a user is named "by" one of: {", ".join(USER_KEYS)}')
        return users, users.c[by], None
    target = app.record_type(f.opt("to"))
    key = target.title if by == "title" else by
    if not key or not target.has_field(key) or not for_field(target.field(key)).stored:
        raise ValueError(f"{target.key} has no stored field {by!r} to find records by")
    table = registry.table(app.id, target.key)
    return table, table.c[key], target.field(key)


def lookup(conn, registry, app: App, f, by: str, values: Iterable[Any]) -> dict[Any, list[int]]:
    """{value: [ids]} for the target records whose ``by`` field equals one of ``values``."""
    table, column, target_field = target_column(registry, app, f, by)
    wanted = {_normal(target_field, v, by) for v in values} - {None}
    caseless = by == "email" or (target_field is not None and target_field.type == "email")
    compared = sa.func.lower(column) if caseless else column
    found: dict[Any, list[int]] = {}
    for chunk in _chunks(sorted(wanted, key=str), 1000):
        query = sa.select(column, table.c.id).where(compared.in_(chunk)).order_by(table.c.id)
        for value, rid in conn.execute(query):
            found.setdefault(_normal(target_field, value, by), []).append(rid)
    return found


def _normal(target_field, value: Any, by: str = "") -> Any:
    """The value as the target field stores it; e-mail addresses compare lower-cased."""
    if value is None:
        return value
    if target_field is not None:
        with contextlib.suppress(Exception):  # an unreadable value simply matches nothing
            value = for_field(target_field).coerce(target_field, value)
    email = by == "email" or (target_field is not None and target_field.type == "email")
    return value.lower() if email and isinstance(value, str) else value


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def resolve(registry, app: App, rt: RecordType, rows: list[Any]) -> tuple[list, dict]:
    """Rows with references replaced by ids, and ``{row index: {field: [message]}}``.

    A reference that cannot be resolved becomes None in the returned row (the message
    replaces whatever the field type would have said about it).
    """
    out = [dict(r) if isinstance(r, Mapping) else r for r in rows]
    errors: dict[int, dict[str, list[str]]] = {}
    with registry.engine.connect() as conn:
        for f in rt.fields:
            if f.type == "poly_link":
                _resolve_poly(conn, registry, app, f, out, errors)
            elif f.type in LINK_TYPES:
                _resolve_field(conn, registry, app, f, out, errors)
    return out, errors


def _resolve_poly(conn, registry, app, f: Field, rows: list, errors: dict) -> None:
    """References of a polymorphic link: resolved per named type, as a plain link would."""
    by_type: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        ref = row.get(f.key) if isinstance(row, Mapping) else None
        if not is_ref(ref):
            continue
        if ref.get("type") not in targets(f):
            named = ref.get("type")
            errors.setdefault(i, {}).setdefault(f.key, []).append(
                f"name the record type too: {{type: {' | '.join(targets(f))}, by: …, value: …}}"
                if named is None
                else f"{named!r} is not a record type this link points at"
            )
            row[f.key] = None
            continue
        by_type.setdefault(ref["type"], []).append(i)
    for rt_key, idxs in by_type.items():
        one = Field(key=f.key, type="link", label=f.label, options=freeze({"to": rt_key}))
        sub = [{f.key: rows[i][f.key]} for i in idxs]
        sub_errors: dict[int, dict[str, list[str]]] = {}
        _resolve_field(conn, registry, app, one, sub, sub_errors)
        for j, i in enumerate(idxs):
            if j in sub_errors:
                errors.setdefault(i, {}).update(sub_errors[j])
                rows[i][f.key] = None
            else:
                rows[i][f.key] = {"type": rt_key, "id": sub[j][f.key]}


def _resolve_field(conn, registry, app, f, rows, errors) -> None:
    wanted: dict[str, set] = {}
    for row in rows:
        for ref in _refs_in(row, f):
            wanted.setdefault(str(ref["by"]), set()).add(ref["value"])
    found: dict[str, dict] = {}
    for by, values in wanted.items():
        try:
            found[by] = _normalised_keys(
                registry, app, f, by, lookup(conn, registry, app, f, by, values)
            )
        except ValueError as exc:
            found[by] = exc
    for i, row in enumerate(rows):
        if isinstance(row, Mapping) and f.key in row:
            row[f.key] = _replace(row[f.key], f, found, errors.setdefault(i, {}))
            if not errors[i]:
                del errors[i]


def _normalised_keys(registry, app, f, by, found):
    _, _, target_field = target_column(registry, app, f, by)
    return {"field": target_field, "ids": found}


def _refs_in(row: Any, f) -> list[Mapping]:
    if not isinstance(row, Mapping):
        return []
    value = row.get(f.key)
    if is_ref(value):
        return [value]
    if isinstance(value, list):
        return [v for v in value if is_ref(v)]
    return []


def _replace(value: Any, f, found, errs) -> Any:
    if is_ref(value):
        return _one(value, f, found, errs)
    if isinstance(value, list) and any(is_ref(v) for v in value):
        ids = [_one(v, f, found, errs) if is_ref(v) else v for v in value]
        return None if f.key in errs else ids
    return value


def _one(ref: Mapping, f, found, errs) -> int | None:
    by, value = str(ref["by"]), ref["value"]
    result = found.get(by)
    if isinstance(result, ValueError):
        errs.setdefault(f.key, []).append(str(result))
        return None
    ids = result["ids"].get(_normal(result["field"], value, by), [])
    what = "user" if f.type == "user" else f.opt("to")
    if not ids:
        errs.setdefault(f.key, []).append(f"no {what} with {by} {value!r}")
        return None
    if len(ids) > 1:
        shown = ", ".join(f"#{i}" for i in ids[:5])
        errs.setdefault(f.key, []).append(
            f"{len(ids)} {what} records have {by} {value!r} ({shown}): use a unique field or an id"
        )
        return None
    return ids[0]
