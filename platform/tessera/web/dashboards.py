"""Dashboards: several views of an app laid out as tiles on a 12-column grid.

A tile shows a chart (drawn like the chart page), the first rows of a table, the lanes of
a kanban with their counts and sums, or the next entries of a calendar, each linking to
its full view. Every tile reads through the query layer as the signed-in user, so
``$me`` in a view's filter means them and their roles decide what a tile shows; a tile
over a record type they cannot read is left out, one built on a field their roles hide
says so. The app's ``home:`` dashboard is what the home page shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import render_template, url_for
from flask_babel import gettext as _

from tessera.errors import RecordError
from tessera.meta.model import App, View, thaw
from tessera.web import charts, common, kanban, present
from tessera.web.i18n import label

TRANSLATIONS = Path(__file__).resolve().parent / "translations_charts"
TABLE_ROWS = 5
MAX_COLUMNS = 4


def page(app: App, v: View):
    """The dashboard page of view ``v``."""
    return render_template("view_dashboard.html", app=app, view=v, tiles=tiles(app, v))


def tiles(app: App, v: View) -> list[dict[str, Any]]:
    """The tiles of dashboard ``v`` the user may see, each with its data."""
    views = {w.key: w for w in app.views}
    out = []
    for widget in v.options.get("widgets", ()):
        target = views.get(widget["view"])
        if target is None or target.record_type is None:
            continue  # not among the views this user's roles show
        if not app.has_record_type(target.record_type) or not common.readable(
            app, app.record_type(target.record_type)
        ):
            continue
        out.append(tile(app, target, widget))
    return out


def tile(app: App, v: View, widget: dict) -> dict[str, Any]:
    """One tile: its title, width, link and the data of its view's type."""
    from tessera.web.views import hidden_fields

    rt = app.record_type(v.record_type)
    base = {
        "key": v.key,
        "type": v.type,
        "title": label(widget.get("title") or v.label, v.key),
        "width": int(widget.get("width", 6)),
        "href": url_for("views.show", app_id=app.id, view_key=v.key),
    }
    if hidden_fields(rt, v):
        return {**base, "hidden": True}
    fill = {"chart": _chart, "table": _table, "kanban": _kanban, "calendar": _calendar}[v.type]
    try:
        return {**base, **fill(app, rt, v, widget)}
    except RecordError as exc:  # a view the data no longer fits: say so in its tile
        return {**base, "error": exc.message}


def _chart(app, rt, v: View, widget: dict) -> dict:
    return {"chart": charts.payload(app, rt, v)}


def _table(app, rt, v: View, widget: dict) -> dict:
    page = common.engine_objects().queries.list(
        app.id,
        rt.key,
        filter=thaw(v.filter),
        sort=",".join(("-" if s["dir"] == "desc" else "") + s["field"] for s in v.sort) or None,
        limit=int(widget.get("rows", TABLE_ROWS)),
        user_id=common.who(),
        with_total=True,
    )
    columns = [c for c in v.columns if rt.has_field(c.split(".")[0])] or [
        f.key for f in rt.fields if f.type not in ("long_text", "attachment")
    ]
    columns = [c for c in columns if c != rt.title][: MAX_COLUMNS - 1]
    present.prime_links(app, rt, page.rows, columns)
    return {"rt": rt, "rows": page.rows, "columns": columns, "total": page.total}


def _kanban(app, rt, v: View, widget: dict) -> dict:
    """The board's lanes as bars: count and totals per lane, with the board's filter."""
    sums = kanban.totals(app, rt, v, thaw(v.filter), None)
    values = kanban.lane_values(app, rt.field(v.group_by), v)
    if None in sums:
        values.append((None, _("(none)")))
    lanes = []
    for value, text in values:
        numbers = kanban.lane_numbers(rt, v, sums.get(value, {}))
        total = " · ".join(t for _f, t in numbers["sums"])
        lanes.append({"label": text, "count": numbers["count"], "sum": total})
    top = max((lane["count"] for lane in lanes), default=0) or 1
    for lane in lanes:
        lane["share"] = round(lane["count"] / top * 100)
    return {"lanes": lanes}


def _calendar(app, rt, v: View, widget: dict) -> dict:
    f = rt.field(v.date_field)
    upcoming = {"field": f.key, "op": "gte", "value": "today"}
    filt = {"all": [thaw(v.filter), upcoming]} if v.filter else upcoming
    page = common.engine_objects().queries.list(
        app.id,
        rt.key,
        filter=filt,
        sort=f.key,
        limit=int(widget.get("rows", TABLE_ROWS)),
        user_id=common.who(),
        with_total=True,
    )
    return {"rt": rt, "rows": page.rows, "date_field": f, "total": page.total}


def home_dashboards(apps: list[App]) -> list[dict[str, Any]]:
    """The ``home:`` dashboard of each app the user sees that declares one."""
    out = []
    for app in apps:
        home = next((v for v in app.views if v.key == app.home), None) if app.home else None
        if home is not None and home.type == "dashboard":
            out.append({"app": app, "view": home, "tiles": tiles(app, home)})
    return out
