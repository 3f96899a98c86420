"""Kanban lanes: one per option of a select field or per record a link field points at.

A board grouped by a link (``group_by: status`` where ``status`` links to a status record
type) has one lane per target record, ordered by the view's ``lane_order`` field of the
target, else a number field named order/sort/position/sequence, else the title. Lane
headers show the count and the totals of the view's ``sums`` (default: the first currency
field); :func:`totals` computes them with the board's own filters, so the move endpoint
can return fresh numbers after a drag and the page updates them without a reload.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from tessera.fields import for_field
from tessera.fields.choice import option_label
from tessera.meta.model import App, Field, RecordType, View
from tessera.web import common, present
from tessera.web.i18n import label_locale, user_zone

#: Chinese of the strings added with link kanbans and polymorphic links
TRANSLATIONS = Path(__file__).resolve().parent / "translations_polylink"
MAX_LANES = 100
ORDER_NAMES = ("order", "sort", "position", "sequence", "sort_order")
NUMERIC = ("number", "currency", "percent", "rating", "rollup")


def sum_fields(rt: RecordType, v: View) -> list[Field]:
    """The fields totalled in lane headers: the view's ``sums``, else the first currency."""
    named = [rt.field(k) for k in v.options.get("sums") or () if rt.has_field(k)]
    if v.options.get("sums"):
        return [f for f in named if for_field(f).stored]
    money = [f for f in rt.fields if f.type == "currency" and for_field(f).stored]
    return money[:1]


def totals(app: App, rt: RecordType, v: View, filt: dict | None, q: str | None) -> dict:
    """``{group value: {"count": n, "sum_<key>": total, ...}}`` of the board's records."""
    measures = [("count", None)] + [("sum", f.key) for f in sum_fields(rt, v)]
    rows = common.engine_objects().queries.aggregate(
        app.id, rt.key, group_by=v.group_by, measures=measures, filter=filt, q=q,
        user_id=common.who(), zone=user_zone(),
    )  # fmt: skip
    return {r["group"]: r for r in rows}


def lane_values(app: App, group: Field, v: View | None) -> list[tuple[Any, str]]:
    """(value, label) of every lane, in order (the empty lane is added by :func:`lanes`).

    Also the choices of a link's quick filter (``v`` None: the target's default order).
    """
    if group.type == "select":
        locale = label_locale()
        return [(o["value"], option_label(group, o["value"], locale)) for o in group.opt("options")]
    target = app.record_type(group.opt("to"))
    # read by primary key (cheap on any table), order here: lanes and quick-filter choices
    # are meant for small lists of records (stages, statuses); a big target type offers
    # no quick-filter dropdown and a board shows its first MAX_LANES lanes
    rows = (
        common.engine_objects()
        .queries.list(app.id, target.key, sort="id", limit=MAX_LANES + 1, user_id=common.who())
        .rows
    )
    if v is None and len(rows) > MAX_LANES:
        return []
    order = lane_order(target, v)
    rows = sorted(rows[:MAX_LANES], key=lambda r: _order_key(r.get(order) if order else None))
    return [(r["id"], present.title(target, r)) for r in rows]


def _order_key(value: Any) -> tuple:
    """Empty values last; numbers by value, anything else by its text."""
    if value is None or value == "":
        return (2, 0, "")
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def lane_order(target: RecordType, v: View | None) -> str | None:
    """The field of the lanes' record type that orders them (None: by id)."""
    declared = v.options.get("lane_order") if v is not None else None
    if declared:
        return declared
    for f in target.fields:
        if f.key in ORDER_NAMES and f.type in ("number", "rating"):
            return f.key
    return target.title


def lanes(app: App, rt: RecordType, v: View, rows: list[dict], sums: dict) -> list[dict]:
    """The lanes of the board with their cards, counts and formatted totals."""
    group = rt.field(v.group_by)
    values = lane_values(app, group, v)
    if any(r.get(group.key) is None for r in rows) or None in sums:
        values.append((None, _("(none)")))
    out = []
    for value, text in values:
        out.append(
            {
                "value": value,
                "label": text,
                "rows": [r for r in rows if r.get(group.key) == value],
                **lane_numbers(rt, v, sums.get(value, {})),
            }
        )
    return out


def lane_numbers(rt: RecordType, v: View, total: dict) -> dict:
    """``{"count": n, "sums": [(label, text), ...]}`` of one lane."""
    fields = sum_fields(rt, v)
    return {
        "count": total.get("count", 0),
        "sums": [(f, _money(f, total.get(f"sum_{f.key}"))) for f in fields],
    }


def lanes_json(rt: RecordType, v: View, sums: dict, values: list[Any]) -> list[dict]:
    """Counts and totals per lane for the page's script: ``[{value, count, sums}]``."""
    out = []
    for value in values:
        numbers = lane_numbers(rt, v, sums.get(value, {}))
        out.append(
            {
                "value": "" if value is None else str(value),
                "count": numbers["count"],
                "sums": [text for _f, text in numbers["sums"]],
            }
        )
    return out


def _money(f: Field, value: Any) -> str:
    return for_field(f).format(f, value or 0, label_locale())
