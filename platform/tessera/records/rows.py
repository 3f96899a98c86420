"""Rows of ``table`` fields, for the records service: read, check, compute and write.

A record's table value is a list of row dicts in order. The service reads them with the
record (:func:`attach`, one query per table field for a whole page), checks the links
in them (:func:`check_refs`, errors keyed ``items[1].product``), computes row formulas
and the record's rollups over them (:func:`compute`), and replaces them when the value
changed (:func:`write`): delete the record's rows, insert the new ones numbered by
``row_order``, in the record's own transaction. The audit entry of the record carries
the old and new rows, so the record's history shows its line changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tessera.fields import for_field
from tessera.messages import Label, Msg
from tessera.meta.children import ORDER, PARENT, child_record_type, is_table, row_fields
from tessera.meta.model import App, Field, RecordType
from tessera.records.values import compute_formulas
from tessera.storage.system import users

Reader = Callable[[RecordType, dict], Callable[[str], Any]]


def table_fields(rt: RecordType) -> tuple[Field, ...]:
    """The table fields of ``rt`` (computed once per frozen record type)."""
    found = rt.__dict__.get("_table_fields")
    if found is None:
        found = tuple(f for f in rt.fields if is_table(f))
        object.__setattr__(rt, "_table_fields", found)
    return found


def table_rollups(rt: RecordType) -> tuple[Field, ...]:
    """Rollup fields of ``rt`` over one of its table fields."""
    return tuple(f for f in rt.fields if f.type == "rollup" and f.opt("table"))


def same(old: Any, new: Any) -> bool:
    """True when a link_many id list or a table's rows did not change."""
    old, new = list(old or []), list(new or [])
    if any(isinstance(v, Mapping) for v in (*old, *new)):
        return old == new
    return sorted(old) == sorted(new)


def attach(conn: sa.Connection, registry, app: App, rt: RecordType, f: Field, rows: list) -> None:
    """Set ``row[f.key]`` to the record's rows (dicts of row fields), in row order."""
    table = registry.table(app.id, child_record_type(rt, f).key)
    keys = [c.key for c in row_fields(f) if for_field(c).stored]
    ids = [r["id"] for r in rows]
    found: dict[int, list[dict]] = {i: [] for i in ids}
    for start in range(0, len(ids), 1000):
        query = (
            sa.select(table.c[PARENT], *(table.c[k] for k in keys))
            .where(table.c[PARENT].in_(ids[start : start + 1000]))
            .order_by(table.c[PARENT], table.c[ORDER], table.c.id)
        )
        for r in conn.execute(query).mappings():
            found[r[PARENT]].append({k: r[k] for k in keys})
    for r in rows:
        r[f.key] = found.get(r["id"], [])


def write(
    conn: sa.Connection, registry, app: App, rt: RecordType, f: Field, record_id: int, rows: list
) -> None:
    """Replace the rows of record ``record_id``'s table field ``f`` with ``rows``."""
    table = registry.table(app.id, child_record_type(rt, f).key)
    conn.execute(table.delete().where(table.c[PARENT] == record_id))
    keys = [c.key for c in row_fields(f) if for_field(c).stored]
    if rows:
        conn.execute(
            table.insert(),
            [
                {PARENT: record_id, ORDER: i, **{k: row.get(k) for k in keys}}
                for i, row in enumerate(rows)
            ],
        )


def compute(rt: RecordType, record: dict, reader: Reader) -> dict[str, Any]:
    """Fill row formulas in ``record``'s rows (in place); return the table rollups' values."""
    for f in table_fields(rt):
        child = child_record_type(rt, f)
        if not any(c.type == "formula" for c in child.fields):
            continue
        for row in record.get(f.key) or ():
            compute_formulas(child, row, reader(child, row))
    return {r.key: rollup(r, record.get(r.opt("table")) or []) for r in table_rollups(rt)}


def rollup(f: Field, rows: list[dict]) -> Any:
    """The value of rollup ``f`` over ``rows`` (count and sum of no rows are 0)."""
    agg = f.opt("aggregate", "count")
    if agg == "count":
        return len(rows)
    values = [Decimal(str(r[f.opt("field")])) for r in rows if r.get(f.opt("field")) is not None]
    if agg == "sum":
        value: Any = sum(values, Decimal(0))
    elif not values:
        return None
    elif agg == "avg":
        value = sum(values, Decimal(0)) / len(values)
    else:
        value = min(values) if agg == "min" else max(values)
    return for_field(f).coerce(f, value)


def check_refs(conn: sa.Connection, registry, app: App, rt: RecordType, cleaned, errors) -> None:
    """Links and users in rows must name existing records (errors ``items[1].product``)."""
    for f in table_fields(rt):
        for cell in row_fields(f):
            if cell.type not in ("link", "user"):
                continue
            wanted = {
                (i, j): row.get(cell.key)
                for i, (_values, many) in enumerate(cleaned)
                for j, row in enumerate(many.get(f.key) or ())
                if row.get(cell.key) is not None
            }
            if not wanted:
                continue
            target = users if cell.type == "user" else registry.table(app.id, cell.opt("to"))
            ids = set(wanted.values())
            found = set(conn.scalars(sa.select(target.c.id).where(target.c.id.in_(ids))))
            what = (
                Msg("user")
                if cell.type == "user"
                else (
                    Label(app.record_type(cell.opt("to")).label, cell.opt("to"))
                    if app.has_record_type(cell.opt("to") or "")
                    else cell.opt("to")
                )
            )
            for (i, j), rid in wanted.items():
                if rid not in found:
                    key = f"{f.key}[{j}].{cell.key}"
                    errors.setdefault(i, {}).setdefault(key, []).append(
                        Msg("no %(what)s with id %(ids)s", what=what, ids=str(rid))
                    )


def blockers_message(parent: RecordType, f: Field, cell: Field, blockers: list) -> str:
    """Why a record that rows link to cannot be deleted (their parents named)."""
    ids = ", ".join(f"#{i}" for i in dict.fromkeys(b[PARENT] for b in blockers[:5]))
    return (
        f"cannot delete: {parent.key} records {ids} link here in their "
        f"'{f.key}' rows ('{cell.key}'); change or remove those rows first"
    )
