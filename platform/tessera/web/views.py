"""Views generated from the template: table, kanban, calendar, chart; bulk actions and variants.

Each view reads through ``Queries`` (filter + the user's quick filters + search + sort)
and writes only through ``Records``. Query-string settings: ``sort`` (``-field,field``),
``q`` (search), ``page``, ``f.<field>`` (a quick filter on a select field), ``variant``
(a saved personal variant), and for calendars ``date`` and ``mode`` (month|week).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.datastructures import MultiDict

from tessera import prefs, timezones
from tessera.errors import Conflict, NotFound, RecordError, ValidationFailed
from tessera.meta.model import App, Field, RecordType, View, thaw
from tessera.records.service import summary
from tessera.storage.naming import SYSTEM_COLUMNS
from tessera.web import charts, common, dashboards, inline_edit, present, table_sums
from tessera.web.hostile import db_int, maybe_int, page_number
from tessera.web.i18n import ago, label, translated, user_zone
from tessera.web.kanban import lane_values, lanes_json, sum_fields, totals
from tessera.web.kanban import lanes as lanes_of
from tessera.web.security import safe_next

bp = Blueprint("views", __name__)
common.protect(bp)

PAGE_SIZE = 25
BOARD_LIMIT = 500
QUICK_TYPES = ("select", "boolean", "user", "link")
SETTABLE_TYPES = ("select", "boolean", "user")


@bp.get("/a/<app_id>/v/<view_key>")
def show(app_id: str, view_key: str):
    """Render a view of any type."""
    app = common.meta(app_id)
    v = common.view(app, view_key)
    variant = _variant_redirect(app, v)
    if variant is not None:
        return variant
    if v.type == "dashboard":
        return dashboards.page(app, v)
    rt = app.record_type(v.record_type)
    _needs_visible_fields(rt, v)
    render = {"table": table, "kanban": kanban, "calendar": calendar, "chart": chart}.get(v.type)
    if render is None:
        abort(404, _("Views of type “%(type)s” cannot be shown yet.", type=v.type))
    return render(app, rt, v)


def _needs_visible_fields(rt: RecordType, v: View) -> None:
    """A board, calendar or chart built on a field the user's roles hide is refused."""
    hidden = hidden_fields(rt, v)
    if hidden:
        abort(403, _("This view is built on a field your roles hide: %(f)s.", f=hidden[0]))


def hidden_fields(rt: RecordType, v: View) -> list[str]:
    """The fields a view is built on that the user's roles hide."""
    keys = [v.group_by, v.date_field, v.options.get("x"), v.options.get("value")]
    hidden = [k for k in keys if isinstance(k, str) and not rt.has_field(k.split(".")[0])]
    return [k for k in hidden if k not in SYSTEM_COLUMNS]


@bp.get("/a/<app_id>/r/<rt_key>")
def all_records(app_id: str, rt_key: str):
    """Every record of a record type as a plain table."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    return table(app, rt, common.all_view(rt))


# -- shared query settings ---------------------------------------------------------------------
def quick_fields(rt: RecordType) -> list[Field]:
    """Fields offered as quick filters (select, yes/no, user and link fields)."""
    return [f for f in rt.fields if f.type in QUICK_TYPES]


def quick_filter(rt: RecordType, args=None) -> list[dict]:
    """Conditions from the ``f.<field>`` query arguments (of this request, or ``args``)."""
    args = request.args if args is None else args
    leaves = []
    for f in quick_fields(rt):
        value = args.get(f"f.{f.key}", "")
        if value == "__empty__":
            leaves.append({"field": f.key, "op": "is_empty"})
        elif value:
            leaves.append({"field": f.key, "op": "eq", "value": value})
    return leaves


def offered(app: App, quick: list[Field]) -> dict[str, Any]:
    """The toolbar's ``quick`` fields and ``quick_links`` choices (a link with no
    choices to offer, e.g. to thousands of customers, gets no dropdown)."""
    links = quick_links(app, quick)
    return {
        "quick": [f for f in quick if f.type != "link" or links.get(f.key)],
        "quick_links": links,
    }


def quick_links(app: App, quick: list[Field]) -> dict[str, list[tuple[int, str]]]:
    """For each link quick filter: (id, title) of the target records offered as choices."""
    out = {}
    for f in quick:
        if f.type == "link" and app.has_record_type(f.opt("to")):
            out[f.key] = lane_values(app, f, None)
    return out


def combined_filter(v: View, extra: list[dict]) -> dict | None:
    """The view's own filter AND the extra conditions."""
    parts = ([thaw(v.filter)] if v.filter else []) + extra
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"all": parts}


def sort_arg(v: View) -> str:
    """The sort in force: the query string's, else the view's declared sort."""
    if "sort" in request.args:
        return request.args["sort"]
    return ",".join(("-" if s["dir"] == "desc" else "") + s["field"] for s in v.sort)


def _variant_redirect(app: App, v: View):
    variant_id = request.args.get("variant", type=db_int)
    if variant_id is None or prefs.view_params(request.args):
        return None
    found = prefs.get_variant(common.engine_objects().engine, common.me(), variant_id)
    if found is None or found["view_key"] != v.key or found["app_id"] != app.id:
        abort(404, _("That saved view does not exist (any more)."))
    return redirect(
        url_for("views.show", app_id=app.id, view_key=v.key, variant=variant_id, **found["params"])
    )


# -- table ---------------------------------------------------------------------------------
def table(app: App, rt: RecordType, v: View):
    """A page of records with sortable columns, quick filters, search and bulk actions."""
    size = int(v.options.get("page_size", PAGE_SIZE))
    page_no = page_number()
    sort = sort_arg(v)
    group = table_sums.group_field(rt, v)
    filt, q = combined_filter(v, quick_filter(rt)), request.args.get("q") or None
    page = common.engine_objects().queries.list(
        app.id,
        rt.key,
        filter=filt,
        sort=_grouped_sort(group, sort) or None,
        q=q,
        limit=size,
        offset=(page_no - 1) * size,
        user_id=common.who(),
        zone=user_zone(),
        with_total=True,
    )
    columns = [c for c in v.columns if rt.has_field(c.split(".")[0])] or [f.key for f in rt.fields][
        :6
    ]
    present.prime_links(app, rt, page.rows, [*columns, *([group] if group else [])])
    pages = max(1, -(-page.total // size)) if page.total else 1
    return render_template(
        "view_table.html",
        sums=table_sums.compute(app, rt, columns, filt, q, group),
        group=group,
        groupable=table_sums.groupable(rt),
        group_key=table_sums.key_of,
        editable=inline_edit.editable(app, rt, columns),
        edit_value=inline_edit.edit_value,
        select_options=inline_edit.select_options,
        total_html=table_sums.shown,
        app=app,
        rt=rt,
        view=v,
        page=page,
        columns=columns,
        sort=sort,
        page_no=page_no,
        pages=pages,
        size=size,
        **offered(app, quick_fields(rt)),
        settable=_settable(rt),
        variants=_variants(app, v),
        args=request.args,
        sort_link=_sort_link,
        filtered=bool(request.args.get("q") or any(k.startswith("f.") for k in request.args)),
    )


def _grouped_sort(group: str | None, sort: str) -> str:
    """Rows of one group together: the group field first, then the sort in force."""
    if not group or sort.lstrip("-").split(",")[0] == group:
        return sort
    return f"{group},{sort}" if sort else group


def _sort_link(column: str, current: str) -> tuple[str, str]:
    """(the sort argument a header click sets, aria-sort of the column now)."""
    first = current.split(",")[0] if current else ""
    if first == column:
        return "-" + column, "ascending"
    if first == "-" + column:
        return column, "descending"
    return column, "none"


def _settable(rt: RecordType) -> list[tuple[Field, list[tuple[str, str]]]]:
    """Fields a bulk action can set, each with its (value, label) choices."""
    out = []
    for f in rt.fields:
        if f.type == "select":
            out.append((f, [(o["value"], label(o["label"], o["value"])) for o in f.opt("options")]))
        elif f.type == "boolean":
            out.append((f, [("true", _("Yes")), ("false", _("No"))]))
    return out


def _variants(app: App, v: View) -> list[dict]:
    return prefs.list_variants(common.engine_objects().engine, common.me(), app.id, v.key)


# -- kanban --------------------------------------------------------------------------------
def kanban(app: App, rt: RecordType, v: View):
    """Cards in one lane per option of a select, or per record of a link's target type."""
    group = rt.field(v.group_by)
    filt = combined_filter(v, quick_filter(rt))
    q = request.args.get("q") or None
    rows = common.engine_objects().queries.list(
        app.id, rt.key, filter=filt, q=q, sort=sort_arg(v) or None, limit=BOARD_LIMIT,
        user_id=common.who(),
        zone=user_zone(),
    ).rows  # fmt: skip
    shown = [c for c in v.columns if rt.has_field(c.split(".")[0])]
    card_fields = [c for c in shown if c != rt.title][:4] or _card_fields(rt)
    present.prime_links(app, rt, rows, card_fields)
    return render_template(
        "view_kanban.html",
        app=app,
        rt=rt,
        view=v,
        lanes=lanes_of(app, rt, v, rows, totals(app, rt, v, filt, q)),
        group=group,
        card_fields=card_fields,
        sum_fields=sum_fields(rt, v),
        truncated=len(rows) >= BOARD_LIMIT,
        **offered(app, [f for f in quick_fields(rt) if f.key != group.key]),
        args=request.args,
    )


def _card_fields(rt: RecordType) -> list[str]:
    skip = {rt.title, "long_text", "attachment"}
    return [f.key for f in rt.fields if f.key not in skip and f.type not in skip][:3]


@bp.route("/a/<app_id>/v/<view_key>/move", methods=["POST", "PATCH"])
def move(app_id: str, view_key: str):
    """Move a kanban card: set the group-by field of one record (JSON or form post)."""
    app = common.meta(app_id)
    v = common.view(app, view_key)
    if v.type != "kanban":
        abort(404, _("Only kanban views move cards."))
    data = request.get_json(silent=True) if request.is_json else request.form
    if not hasattr(data, "get"):
        abort(400, _('Send the card as an object: {"id": …, "version": …, "value": …}.'))
    record_id, version = _int(data.get("id")), _int(data.get("version"))
    if record_id is None:
        abort(400, _("Which card? Send its id."))
    value = data.get("value") or None
    if value is not None and not isinstance(value, str | int) or isinstance(value, bool):
        abort(400, _("The column to move the card to must be text."))
    try:
        row = common.engine_objects().records.update(
            app.id,
            v.record_type,
            record_id,
            {v.group_by: value},
            common.actor(),
            version=version,
        )
    except (ValidationFailed, Conflict, NotFound) as exc:
        return _move_failed(app, v, exc)
    if common.wants_json():
        return {
            "id": row["id"],
            "version": row["version"],
            "value": row.get(v.group_by),
            "lanes": _fresh_lanes(app, v, data),
        }
    return redirect(url_for("views.show", app_id=app.id, view_key=v.key))


def _fresh_lanes(app: App, v: View, data) -> list[dict]:
    """Counts and totals of every lane after a move, under the board's filters and search
    (the page sends its query string as ``args``), so its headers update without a reload.
    """
    rt = app.record_type(v.record_type)
    args = data.get("args") if isinstance(data.get("args"), str) else ""
    board = MultiDict(parse_qsl(args.lstrip("?"), keep_blank_values=False))
    filt = combined_filter(v, quick_filter(rt, board))
    sums = totals(app, rt, v, filt, board.get("q") or None)
    values = [value for value, _label in lane_values(app, rt.field(v.group_by), v)]
    return lanes_json(rt, v, sums, [*values, None])


def _move_failed(app: App, v: View, exc: RecordError):
    message = translated(exc.message)
    if isinstance(exc, ValidationFailed) and exc.fields:
        message = translated(summary(app.record_type(v.record_type), exc.fields))
    if isinstance(exc, Conflict) and getattr(exc, "details", None):
        d = exc.details
        message = _(
            "%(who)s changed this card %(when)s. Reload to see their change.",
            who=d.get("updated_by") or _("Someone"),
            when=ago(d.get("updated_at")),
        )
    if common.wants_json():
        return {"error": {"code": exc.code, "message": message}}, exc.status
    flash(message, "error")
    return redirect(url_for("views.show", app_id=app.id, view_key=v.key))


def _int(value: Any) -> int | None:
    return maybe_int(value)


# -- calendar ------------------------------------------------------------------------------
def calendar(app: App, rt: RecordType, v: View):
    """A month or week of records placed on their date; click a day to add one there."""
    f = rt.field(v.date_field)
    mode = "week" if request.args.get("mode") == "week" else "month"
    zone = user_zone()
    today = timezones.today(zone)
    anchor = _date_arg(request.args.get("date")) or today
    first, last = _range(anchor, mode)
    within = [
        {"field": f.key, "op": "gte", "value": _bound(f, first, zone)},
        {"field": f.key, "op": "lt", "value": _bound(f, last + timedelta(days=1), zone)},
    ]
    rows = (
        common.engine_objects()
        .queries.list(
            app.id,
            rt.key,
            filter=combined_filter(v, within),
            sort=f.key,
            limit=BOARD_LIMIT,
            user_id=common.who(),
            zone=user_zone(),
        )
        .rows
    )
    by_day: dict[date, list] = {}
    for r in rows:
        value = r.get(f.key)
        day = timezones.to_local(value, zone).date() if isinstance(value, datetime) else value
        by_day.setdefault(day, []).append(r)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    weeks = [days[i : i + 7] for i in range(0, len(days), 7)]
    step = timedelta(days=7) if mode == "week" else None
    return render_template(
        "view_calendar.html",
        app=app,
        rt=rt,
        view=v,
        weeks=weeks,
        by_day=by_day,
        mode=mode,
        anchor=anchor,
        today=today,
        date_field=f,
        prev_date=(anchor - step) if step else _shift_month(anchor, -1),
        next_date=(anchor + step) if step else _shift_month(anchor, 1),
        prefill=lambda d: d.isoformat() if f.type == "date" else f"{d.isoformat()}T09:00",
    )


def _date_arg(raw: str | None) -> date | None:
    """The ``date`` argument; a 400 outside years 2-9998 (a calendar page must fit around it)."""
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    if day is not None and not 2 <= day.year <= 9998:
        abort(400, _("Pick a date between the years 2 and 9998."))
    return day


def _range(anchor: date, mode: str) -> tuple[date, date]:
    if mode == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=6)
    first = anchor.replace(day=1)
    last = _shift_month(first, 1) - timedelta(days=1)
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=6 - last.weekday())
    return start, end


def _shift_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _bound(f: Field, day: date, zone) -> str:
    """A day's first instant in the reader's zone (a date field: the day itself)."""
    if f.type == "date":
        return day.isoformat()
    return timezones.from_local(datetime.combine(day, time.min), zone).isoformat()


# -- chart ---------------------------------------------------------------------------------
def chart(app: App, rt: RecordType, v: View):
    """A chart drawn by ECharts from the view's aggregates, with its numbers as a table."""
    data = charts.payload(app, rt, v, quick_filter(rt))
    return render_template("view_chart.html", app=app, rt=rt, view=v, chart=data)


@bp.get("/a/<app_id>/v/<view_key>/records")
def drill(app_id: str, view_key: str):
    """The records behind one bar, slice or stage of a chart (``x``, ``s``: its keys)."""
    app = common.meta(app_id)
    v = common.view(app, view_key)
    if v.type != "chart":
        abort(404, _("Only charts lead to the records behind them."))
    rt = app.record_type(v.record_type)
    _needs_visible_fields(rt, v)
    x, s = request.args.get("x"), request.args.get("s")
    where = charts.drill_filter(rt, v, x, s)
    base = common.all_view(rt)
    shown = replace(
        base,
        label=_drill_label(app, rt, v, x, s),
        filter=charts.combined(v, where),
    )
    return table(app, rt, shown)


def _drill_label(app: App, rt: RecordType, v: View, x: str | None, s: str | None) -> dict:
    parts = [label(v.label, v.key)]
    if x is not None and v.options.get("chart_type") != "kpi":
        xf, bucket = charts.x_bucket(rt, v)
        parts.append(charts.value_text(app, xf, x, bucket))
    series = v.group_by
    if s is not None and series and rt.has_field(series):
        parts.append(charts.value_text(app, rt.field(series), s, None))
    return {"en": " · ".join(parts)}


# -- bulk actions ----------------------------------------------------------------------------
@bp.post("/a/<app_id>/v/<view_key>/bulk")
def bulk(app_id: str, view_key: str):
    """Delete the selected records, or set one field on them, one by one through Records."""
    app = common.meta(app_id)
    v = common.view(app, view_key)
    ids = [i for i in (_int(x) for x in request.form.getlist("ids")) if i is not None]
    back = safe_next(request.form.get("next"), url_for("views.show", app_id=app.id, view_key=v.key))
    if not ids:
        flash(_("Select at least one record first."), "error")
        return redirect(back)
    action = request.form.get("action")
    if action == "delete":
        done, failed = _bulk_each(
            ids, lambda i: _records().delete(app.id, v.record_type, i, common.actor())
        )
    elif action == "set":
        key, _sep, value = request.form.get("set", "").partition("=")
        done, failed = _bulk_each(
            ids, lambda i: _records().update(app.id, v.record_type, i, {key: value}, common.actor())
        )
    else:
        abort(400, _("Choose an action: delete, or set a field."))
    _bulk_report(action, done, failed)
    return redirect(back)


def _records():
    return common.engine_objects().records


def _bulk_each(ids: list[int], do) -> tuple[int, list[str]]:
    done, failed = 0, []
    for record_id in ids:
        try:
            do(record_id)
            done += 1
        except RecordError as exc:
            failed.append(f"#{record_id}: {exc.message}")
    return done, failed


def _bulk_report(action: str, done: int, failed: list[str]) -> None:
    if done:
        text = (
            ngettext("Deleted %(num)d record.", "Deleted %(num)d records.", done)
            if action == "delete"
            else ngettext("Updated %(num)d record.", "Updated %(num)d records.", done)
        )
        flash(text, "ok")
    for message in failed[:10]:
        flash(message, "error")


# -- saved variants --------------------------------------------------------------------------
@bp.post("/a/<app_id>/v/<view_key>/variants")
def save_variant(app_id: str, view_key: str):
    """Save the current filters, sort and search as one of the user's own views."""
    app = common.meta(app_id)
    v = common.view(app, view_key)
    params = prefs.view_params(request.form)
    try:
        variant_id = prefs.save_variant(
            common.engine_objects().engine,
            common.me(),
            app.id,
            v.key,
            request.form.get("name", ""),
            params,
        )
    except prefs.PrefsError as exc:
        flash(str(exc), "error")
        return redirect(url_for("views.show", app_id=app.id, view_key=v.key, **params))
    flash(_("Saved “%(name)s”.", name=request.form.get("name", "").strip()), "ok")
    return redirect(
        url_for("views.show", app_id=app.id, view_key=v.key, variant=variant_id, **params)
    )


@bp.post("/a/<app_id>/v/<view_key>/variants/<int:variant_id>/delete")
def delete_variant(app_id: str, view_key: str, variant_id: int):
    """Delete one of the user's saved variants."""
    app = common.meta(app_id)
    v = common.view(app, view_key)
    if not prefs.delete_variant(common.engine_objects().engine, common.me(), variant_id):
        abort(404, _("That saved view does not exist (any more)."))
    flash(_("Saved view deleted."), "ok")
    return redirect(url_for("views.show", app_id=app.id, view_key=v.key))
