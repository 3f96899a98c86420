"""Chart data: a chart view's aggregates as categories × series, ready for ECharts.

The numbers come from ``Queries.aggregate`` (permission-scoped, grouped in SQL, date
buckets included); this module only names, orders and formats them, and links each
bar, slice or funnel stage to the records behind it (``views.drill``). The browser
draws the payload with ECharts (``static/charts.js``); the same payload renders as a
plain table under the chart, so the numbers read without script too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency, format_decimal
from flask import abort, url_for
from flask_babel import gettext as _

from tessera.fields import for_field
from tessera.meta.model import App, Field, RecordType, View, thaw
from tessera.query import buckets
from tessera.query.dates import is_relative
from tessera.web import common, people, present
from tessera.web.i18n import label, label_locale, ui_locale

EMPTY = "__empty__"  # the drill-through value of records with the field empty
MAX_BUCKETS = 400  # gaps between periods are filled up to this many categories
FILLED_WITH_ZERO = ("count", "sum")  # an empty period counts 0; it has no average


def payload(app: App, rt: RecordType, v: View, extra: list[dict] | None = None) -> dict:
    """Everything a chart shows: categories, series, formats, drill links, KPI numbers."""
    fn, value = v.options.get("aggregate", "count"), v.options.get("value")
    vf = rt.field(value) if value and rt.has_field(value) else None
    ratio = "ratio" in v.options
    base = {
        "key": v.key,
        "type": v.options.get("chart_type", "bar"),
        "title": label(v.label, v.key),
        "measure": measure_label(fn, vf, ratio),
        "locale": "zh-CN" if ui_locale() == "zh_CN" else "en",
        "number": number_format(fn, vf, ratio),
    }
    filt = combined(v, extra)
    if base["type"] == "kpi":
        return {**base, "kpi": kpi(app, rt, v, filt, fn, value, vf)}
    return {**base, **grid(app, rt, v, filt, fn, value, vf)}


def combined(v: View, extra: list[dict] | None) -> dict | None:
    """The chart's own filter AND the extra conditions."""
    parts = ([thaw(v.filter)] if v.filter else []) + list(extra or [])
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"all": parts}


def _queries():
    return common.engine_objects().queries


def x_bucket(rt: RecordType, v: View) -> tuple[Field, str | None]:
    """The x field and its period (a date x without ``bucket`` is grouped by month)."""
    xf = rt.field(v.options["x"])
    bucket = v.options.get("bucket")
    if xf.type in ("date", "datetime"):
        return xf, bucket or "month"
    return xf, None


def grid(app, rt, v: View, filt, fn: str, value: str | None, vf) -> dict:
    """Categories (x) × series (group_by) of one measure, with drill-through links."""
    xf, bucket = x_bucket(rt, v)
    series_key = v.group_by
    sf = rt.field(series_key) if series_key and rt.has_field(series_key) else None
    ratio = v.options.get("ratio")

    def read(cond):
        rows = _queries().aggregate(
            app.id,
            rt.key,
            group_by=xf.key,
            bucket=bucket,
            series=sf.key if sf else None,
            measures=[(fn, None if fn == "count" else value)],
            filter=cond,
            user_id=common.who(),
        )
        column = "count" if fn == "count" else f"{fn}_{value}"
        return rows, {(r["group"], r.get("series")): _number(r[column]) for r in rows}

    rows, cells = read(filt)
    if ratio:
        _rows, part = read(_and(filt, thaw(ratio)))
        cells = {k: _share(part.get(k), whole) for k, whole in cells.items()}
    xs = _ordered(app, xf, {r["group"] for r in rows}, bucket, fill=fn in FILLED_WITH_ZERO)
    if bucket and v.options.get("chart_type") == "line":
        xs = [(k, text) for k, text in xs if k is not None]  # a time line has no "no date"
    ss = _ordered(app, sf, {r.get("series") for r in rows}, None) if sf else [(None, "")]
    zero = 0 if fn in FILLED_WITH_ZERO and not ratio else None
    if v.options.get("limit") and not bucket:
        xs = _largest(xs, ss, cells, int(v.options["limit"]))
    categories = [{"key": _json(k), "label": text} for k, text in xs]
    series = []
    for skey, sname in ss:
        values = [cells.get((k, skey), zero) for k, _text in xs]
        hrefs = [_drill(app, v, k, skey if sf else None, sf is not None) for k, _text in xs]
        name = sname if sf else measure_label(fn, vf, bool(ratio))
        series.append({"key": _json(skey), "name": name, "values": values, "hrefs": hrefs})
    return {
        "categories": categories,
        "series": series,
        "x_label": present.column_label(app, rt, xf.key),
        "series_label": present.column_label(app, rt, sf.key) if sf else "",
        "bucket": bucket,
        "table": _table(categories, series, fn, vf, bool(ratio)),
    }


def _ordered(app, f: Field, keys: set, bucket: str | None, fill: bool = False) -> list[tuple]:
    """(key, label) of a field's values in a reading order: options, time, then text."""
    keys = set(keys)
    if f.type == "link":  # every title in one read (group_label then hits the cache)
        present.linked_rows(app, f.opt("to"), keys - {None})
    if bucket:
        days = sorted(d for d in (buckets.parse(k) for k in keys if k) if d)
        if fill and days:
            days = _fill(days, bucket)
        out = [(d.isoformat(), buckets.label(d, bucket, label_locale())) for d in days]
    elif f.type == "select":
        order = [o["value"] for o in f.opt("options")]
        known = [k for k in order if k in keys]
        out = [(k, group_label(app, f, k)) for k in known + sorted(keys - set(order) - {None})]
    else:
        named = [(k, group_label(app, f, k)) for k in keys if k is not None]
        out = sorted(named, key=lambda p: p[0] if f.type in _BY_VALUE else p[1].lower())
    if None in keys:
        out.append((None, _("(none)")))
    return out


_BY_VALUE = ("number", "currency", "percent", "rating", "date", "datetime", "boolean")


def _largest(xs: list[tuple], ss: list[tuple], cells: dict, n: int) -> list[tuple]:
    """The ``n`` categories with the largest totals (over every series), largest first."""

    def total(key: Any) -> float:
        return sum(float(cells.get((key, s)) or 0) for s, _name in ss)

    return sorted(xs, key=lambda p: total(p[0]), reverse=True)[:n]


def _fill(days: list[date], bucket: str) -> list[date]:
    """Every period from the first to the last (so a line has its empty months at 0)."""
    out, day = [], days[0]
    while day <= days[-1] and len(out) < MAX_BUCKETS:
        out.append(day)
        day = buckets.period(day, bucket)[1]
    return out


def group_label(app: App, f: Field, value: Any) -> str:
    """How one category or series value reads: option label, user name, record title."""
    if value is None:
        return _("(none)")
    if f.type == "user":
        return people.directory().get(value, f"#{value}")
    if f.type == "link":
        target = app.record_type(f.opt("to"))
        return present.title(target, present.linked_rows(app, target.key, {value}).get(value))
    return for_field(f).format(f, value, label_locale())


def _json(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _drill(app: App, v: View, x: Any, s: Any, with_series: bool) -> str:
    args = {"x": EMPTY if x is None else _json(x)}
    if with_series:
        args["s"] = EMPTY if s is None else _json(s)
    return url_for("views.drill", app_id=app.id, view_key=v.key, **args)


def _and(cond: dict | None, more: dict) -> dict:
    return {"all": [cond, more]} if cond else more


def _share(part: Any, whole: Any) -> float | None:
    """``part`` as a percentage of ``whole`` (None when there is no whole)."""
    if not whole:
        return None
    return round(float(part or 0) / float(whole) * 100, 1)


def _table(categories: list[dict], series: list[dict], fn: str, vf, ratio: bool = False) -> dict:
    """The numbers as rows (one per category) of formatted cells, one per series."""
    rows = []
    for i, c in enumerate(categories):
        cells = [format_number(s["values"][i], fn, vf, ratio) for s in series]
        rows.append({"label": c["label"], "cells": cells, "hrefs": [s["hrefs"][i] for s in series]})
    return {"columns": [s["name"] for s in series], "rows": rows}


# -- KPI ------------------------------------------------------------------------------------
def kpi(app, rt, v: View, filt, fn: str, value: str | None, vf) -> dict:
    """One number, and with ``compare: previous_period`` the same over the period before."""
    measures = [(fn, None if fn == "count" else value)]
    column = "count" if fn == "count" else f"{fn}_{value}"
    queries = _queries()

    ratio = v.options.get("ratio")

    def read(cond, now: datetime | None):
        [row] = queries.aggregate(
            app.id, rt.key, measures=measures, filter=cond, user_id=common.who(), now=now
        )
        return _number(row[column])

    def at(now: datetime | None):
        whole = read(filt, now)
        return _share(read(_and(filt, thaw(ratio)), now), whole) if ratio else whole

    comparing = v.options.get("compare") == "previous_period"
    if comparing:
        filt = to_date(filt)
    current = at(None)
    text = format_number(current, fn, vf, bool(ratio))
    out = {"value": current, "text": text, "href": _all_href(app, v)}
    if comparing:
        before = previous_now(v.filter, queries.clock())
        prev = at(before) if before else None
        out.update(previous=prev, previous_text=format_number(prev, fn, vf, bool(ratio)))
        out["change"] = _change(current, prev)
    return out


def to_date(cond: dict | None) -> dict | None:
    """``cond`` with each open-ended relative lower bound capped at ``now``.

    ``closed_on >= start_of_month`` becomes "this month up to now", so this period and
    the previous one (the same days a month earlier) compare like with like.
    """
    leaves = _leaves(cond)
    lower = {
        c["field"] for c in leaves if c.get("op") in ("gte", "gt") and is_relative(c.get("value"))
    }
    upper = {c["field"] for c in leaves if c.get("op") in ("lte", "lt")}
    caps = [{"field": f, "op": "lte", "value": "now"} for f in sorted(lower - upper)]
    if not caps:
        return cond
    return {"all": [cond, *caps]}


def _all_href(app: App, v: View) -> str:
    return url_for("views.drill", app_id=app.id, view_key=v.key)


def _change(current: Any, previous: Any) -> float | None:
    """Relative change in percent (None when there is nothing to compare with)."""
    if current is None or not previous:
        return None
    return round((float(current) - float(previous)) / abs(float(previous)) * 100, 1)


def previous_now(cond: Any, now: datetime) -> datetime | None:
    """The moment that makes the filter's relative dates name the previous period.

    ``start_of_month`` steps back a month, ``start_of_week`` a week, ``start_of_year`` a
    year, ``today``/``yesterday`` a day, ``-30d``/``within_last_days 30`` thirty days:
    evaluating the same filter "as of" that moment gives the period before.
    """
    days, months = 0, 0
    for leaf in _leaves(thaw(cond) if cond else None):
        token, op = leaf.get("value"), leaf.get("op")
        if op in ("within_last_days", "within_next_days") and isinstance(token, int):
            days = max(days, token)
        elif token == "start_of_month":
            months = max(months, 1)
        elif token == "start_of_year":
            months = max(months, 12)
        elif token == "start_of_week":
            days = max(days, 7)
        elif token in ("today", "yesterday", "tomorrow"):
            days = max(days, 1)
        elif is_relative(token) and token not in ("now",):
            n = int(token[1:-1]) * (7 if token.endswith("w") else 1)
            days = max(days, n)
    if months:
        return _months_back(now, months)
    return now - timedelta(days=days) if days else None


def _leaves(cond: Any) -> list[dict]:
    if isinstance(cond, list):
        return [leaf for c in cond for leaf in _leaves(c)]
    if not isinstance(cond, dict):
        return []
    found = _leaves(cond.get("all")) + _leaves(cond.get("any")) + _leaves(cond.get("not"))
    return found + ([cond] if "field" in cond else [])


def _months_back(now: datetime, months: int) -> datetime:
    """The same day and time ``months`` earlier (the 31st becomes the month's last day)."""
    first = buckets.shift_months(now.date(), -months)
    nxt = buckets.shift_months(first, 1)
    day = min(now.day, (nxt - timedelta(days=1)).day)
    return now.replace(year=first.year, month=first.month, day=day)


# -- formats --------------------------------------------------------------------------------
def number_format(fn: str, vf: Field | None, ratio: bool = False) -> dict:
    """How the browser formats values: currency code, decimals, a % sign."""
    if ratio:
        return {"style": "percent", "decimals": 1}
    if fn == "count" or vf is None:
        return {"style": "decimal", "decimals": 0}
    kind, scale = _kind(vf)
    decimals = max(scale, 1) if fn == "avg" and kind != "currency" else scale
    if kind == "currency" and vf.opt("currency"):
        return {"style": "currency", "currency": vf.opt("currency"), "decimals": decimals}
    return {"style": "percent" if kind == "percent" else "decimal", "decimals": decimals}


def _kind(vf: Field) -> tuple[str, int]:
    """What a measured field holds (a formula's or rollup's result) and its decimals."""
    kind = vf.opt("result", "number") if vf.type == "formula" else vf.type
    if kind == "currency":
        return kind, 2
    if vf.type in ("formula", "rollup"):
        default = 0 if vf.opt("aggregate") == "count" else 2
        return ("number", int(vf.opt("scale", default) or 0))
    if kind in ("number", "percent"):
        return kind, int(vf.opt("scale", 0) or 0)
    return "number", 0


def format_number(value: Any, fn: str, vf: Field | None, ratio: bool = False) -> str:
    """A measured value in the UI's locale: ``¥1,234.50`` / ``CN¥1,234.50``, ``12.5%``."""
    if value is None:
        return "–"
    fmt = number_format(fn, vf, ratio)
    locale = ui_locale()
    digits = fmt["decimals"]
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    if fmt["style"] == "currency":
        return format_currency(
            value, fmt["currency"], locale=locale, format_type="standard", decimal_quantization=True
        )
    text = format_decimal(value, format=pattern, locale=locale)
    return f"{text}%" if fmt["style"] == "percent" else text


def measure_label(fn: str, vf: Field | None, ratio: bool = False) -> str:
    """The measure in words: "Number of records", "Sum: Amount", "Share of records (%)"."""
    if ratio:
        if fn == "count" or vf is None:
            return _("Share of records (%)")
        return _("Share of %(measure)s (%%)", measure=measure_label(fn, vf))
    if fn == "count" or vf is None:
        return _("Number of records")
    names = {"sum": _("Sum"), "avg": _("Average"), "min": _("Minimum"), "max": _("Maximum")}
    return f"{names.get(fn, fn)}: {label(vf.label, vf.key)}"


def drill_filter(rt: RecordType, v: View, x: str | None, s: str | None) -> list[dict]:
    """Conditions selecting the records behind one category (and series) of a chart."""
    out = []
    if x is not None and v.options.get("chart_type") != "kpi":
        xf, bucket = x_bucket(rt, v)
        out += _value_filter(xf, x, bucket)
    series = v.group_by
    if s is not None and series and rt.has_field(series):
        out += _value_filter(rt.field(series), s, None)
    return out


def _value_filter(f: Field, raw: str, bucket: str | None) -> list[dict]:
    if raw == EMPTY:
        return [{"field": f.key, "op": "is_empty"}]
    if bucket:
        start = buckets.parse(raw)
        if start is None:
            return [{"field": f.key, "op": "is_empty"}, {"not": {"field": f.key, "op": "is_empty"}}]
        try:
            first, end = buckets.period(start, bucket)
        except (ValueError, OverflowError):  # a hand-typed 9999-12: its period ends past 9999
            abort(400, _("The chart point “%(x)s” is out of the range of dates.", x=raw))
        return [
            {"field": f.key, "op": "gte", "value": _bound(f, first)},
            {"field": f.key, "op": "lt", "value": _bound(f, end)},
        ]
    return [{"field": f.key, "op": "eq", "value": raw}]


def value_text(app: App, f: Field, raw: str, bucket: str | None) -> str:
    """A drill-through argument in words (a period, an option label, a name)."""
    if raw == EMPTY:
        return _("(none)")
    if bucket:
        start = buckets.parse(raw)
        return buckets.label(start, bucket, label_locale()) if start else raw
    try:
        value = for_field(f).coerce(f, raw)
    except Exception:  # noqa: BLE001 - a hand-typed argument: show it as typed
        return raw
    return group_label(app, f, value)


def _bound(f: Field, day: date) -> str:
    return day.isoformat() if f.type == "date" else f"{day.isoformat()}T00:00:00+00:00"
