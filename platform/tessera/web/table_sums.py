"""Totals and row groups of a table view, computed in SQL over the whole filtered set.

Both come from ``Queries.aggregate`` (the same filter, search and access policy as the
page's rows), so a total never counts a record the user may not read, and a subtotal
covers every record of the group, not just the rows on this page.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import request

from tessera.errors import BadRequest
from tessera.meta.model import App, RecordType, View
from tessera.web import common, present

SUMMABLE = frozenset({"number", "currency"})


def summable(rt: RecordType, columns: list[str]) -> list[str]:
    """The shown columns that get a total: the record type's own number/currency fields."""
    return [c for c in columns if rt.has_field(c) and rt.field(c).type in SUMMABLE]


def groupable(rt: RecordType) -> list:
    """Fields a table can group its rows by (select, boolean, link to one type, user)."""
    return [
        f
        for f in rt.fields
        if f.type in ("select", "boolean", "user")
        or (f.type == "link" and isinstance(f.opt("to"), str))
    ]


def group_field(rt: RecordType, v: View) -> str | None:
    """The grouping in force: ``?group=`` (empty: none), else the view's ``group_by``."""
    chosen = request.args.get("group", v.group_by if v.type == "table" else None)
    keys = {f.key for f in groupable(rt)}
    return chosen if chosen in keys else None


def key_of(value: Any) -> str:
    """One spelling for a group value from a row and from an aggregate (bools, ids, None)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


@dataclass
class Sums:
    """The totals row and, when grouped, each group's count and subtotals."""

    columns: list[str]
    totals: dict[str, Any]
    groups: dict[str, dict[str, Any]]


def compute(app: App, rt: RecordType, columns: list[str], filt, q, group: str | None) -> Sums:
    """Sums over every record the filter, search and the user's access let through."""
    cols = summable(rt, columns)
    measures = [("count", None)] + [("sum", c) for c in cols]
    queries = common.engine_objects().queries
    ask = dict(filter=filt, q=q, user_id=common.who(), measures=measures)
    try:
        total = queries.aggregate(app.id, rt.key, **ask)
        grouped = queries.aggregate(app.id, rt.key, group_by=group, **ask) if group else []
    except BadRequest:  # a filter the page itself reports; no sums then
        return Sums([], {}, {})
    totals = {c: _num(total[0].get(f"sum_{c}")) for c in cols} if total else {}
    groups = {
        key_of(g["group"]): {"count": g["count"], **{c: _num(g.get(f"sum_{c}")) for c in cols}}
        for g in grouped
    }
    return Sums(cols, totals, groups)


def _num(value: Any) -> Any:
    """SQLite hands sums of decimals back as floats: show them with the column's places."""
    if isinstance(value, float):
        return Decimal(str(round(value, 6)))
    return value


def shown(app: App, rt: RecordType, column: str, value: Any) -> str:
    """A total formatted like the column's cells (currency symbol, places)."""
    if value is None:
        return "–"
    return present.value_html(app, rt, rt.field(column), value)
