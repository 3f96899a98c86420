"""Export a view — its filter, sort and columns — to CSV or XLSX, streamed.

Rows are read through the query layer (``Queries.list``, keyset pages of 500), so the
access policy narrows them exactly as it narrows the view on screen; linked titles
are read with one policy-scoped query per link column and page. Memory stays flat:
CSV rows go straight to the output stream (UTF-8 with a BOM so Excel reads Chinese
correctly); XLSX uses openpyxl's write-only workbook, which spools rows to a temporary
file. Text starting with ``=``, ``+``, ``-`` or ``@`` is neutralised: in CSV it gets a
leading ``'``, in XLSX it is written as a plain string cell (never a formula).

Values are written the way a person reads them and the importer reads them back:
option labels, link titles, yes/no in the export's language, ISO dates, plain numbers.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json as json_text
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

import sqlalchemy as sa

from tessera import timezones
from tessera.access.rules import rights, strip, visible_app
from tessera.errors import NotFound
from tessera.fields import for_field
from tessera.meta.model import App, RecordType, View, pick_label, thaw
from tessera.query.listing import parse_sort
from tessera.query.policy import principal, scoped_select

PAGE = 500
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMERIC = ("number", "currency", "percent", "auto_number")
LABELLED = ("select", "multi_select", "boolean", "rating")
SYSTEM_LABELS = {"id": "ID", "created_at": "Created", "updated_at": "Updated", "version": "Version"}


def find_view(app: App, view_key: str) -> View:
    """The declared view ``view_key``; NotFound listing the table views."""
    for v in app.views:
        if v.key == view_key:
            return v
    names = ", ".join(v.key for v in app.views if v.type == "table") or "none"
    raise NotFound(f"app {app.id!r} has no view {view_key!r} (table views: {names})")


def export_view(
    t: Any,
    app_id: str,
    view_key: str | View,
    fmt: str,
    out: IO[bytes],
    *,
    user_id: int | None,
    locale: str = "en",
    extra_filter: dict | None = None,
    sort: Any = None,
    q: str | None = None,
    zone: dt.tzinfo | None = None,
) -> int:
    """Write the view's rows to ``out`` as ``csv`` or ``xlsx``; how many rows."""
    headers, rows, sheet = view_rows(
        t, app_id, view_key, user_id=user_id, locale=locale, extra_filter=extra_filter,
        sort=sort, q=q, zone=zone,
    )  # fmt: skip
    writer = write_xlsx if fmt == "xlsx" else write_csv
    return writer(headers, rows, out, sheet=sheet)


def view_rows(
    t, app_id, view_key, *, user_id, locale="en", extra_filter=None, sort=None, q=None, zone=None
):
    """(headers, lazy rows, sheet title) of a view: the rows are read page by page.

    Scoped to what ``user_id`` may read: rows through the access policy, columns of
    fields they may not read left out. Date-times are written in ``zone`` (the reader's;
    default UTC), as the wall-clock time a spreadsheet shows; dates stay dates.
    """
    full, _, _ = t.records.resolve(app_id, _rt_key(t, app_id, view_key))
    v = view_key if isinstance(view_key, View) else find_view(full, view_key)
    user_id = principal(t.engine, user_id)  # resolved once; the reads below are scoped to it
    app = visible_app(full, user_id)  # fields the user may not read are not in it
    rt = app.record_type(v.record_type)
    columns = [c for c in v.columns if _visible(app, rt, c)] or [f.key for f in rt.fields][:6]
    filt = _combined(v, extra_filter)
    order = sort if sort is not None else _view_sort(v)
    _, _, table = t.records.resolve(app.id, rt.key)
    t.queries.where(app, rt, table, filter=filt, q=q, user_id=user_id)  # bad input: now,
    parse_sort(rt, order)  # not half-way through a streamed download
    rows = _rows(t, app, rt, columns, filt, order, q, user_id, locale, zone)
    if zone is not None:
        rows = _in_zone(rows, zone)
    headers = [column_label(app, rt, c, locale) for c in columns]
    return headers, rows, pick_label(v.label, locale, v.key)


def csv_chunks(headers: list[str], rows) -> Iterator[bytes]:
    """The CSV of :func:`write_csv` as chunks of bytes, for a streamed HTTP response."""
    chunks: list[bytes] = []

    class _Collect:
        def write(self, b: bytes) -> None:
            chunks.append(b)

    def paged():
        for n, row in enumerate(rows, start=1):
            yield row
            if n % PAGE == 0:
                yield None  # a page boundary: hand what is written so far to the caller

    sink = _Collect()
    sink.write(codecs.BOM_UTF8)
    text = _TextSink(sink)
    writer = csv.writer(text)
    writer.writerow([neutralise(h) for h in headers])
    for row in paged():
        if row is None:
            text.flush()
            yield b"".join(chunks)
            chunks.clear()
            continue
        writer.writerow([_csv_text(v) for v in row])
    text.flush()
    yield b"".join(chunks)


def _visible(app: App, rt: RecordType, path: str) -> bool:
    """True when every step of a (dotted) column is a field the user may read."""
    head, _, rest = path.partition(".")
    if not rt.has_field(head):
        return path in SYSTEM_LABELS
    f = rt.field(head)
    if not rest:
        return True
    return f.type == "link" and _visible(app, app.record_type(f.opt("to")), rest)


def _rt_key(t, app_id: str, view_key) -> str:
    if isinstance(view_key, View):
        return view_key.record_type
    app = t.registry.apps.get(app_id)
    if app is None:
        raise NotFound(f"no app {app_id!r} is installed")
    return find_view(app, view_key).record_type


def _combined(v: View, extra: dict | None) -> dict | None:
    parts = ([thaw(v.filter)] if v.filter else []) + ([extra] if extra else [])
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"all": parts}


def _view_sort(v: View) -> str | None:
    return ",".join(("-" if s["dir"] == "desc" else "") + s["field"] for s in v.sort) or None


def column_label(app: App, rt: RecordType, path: str, locale: str) -> str:
    """The column header: the field's label (``Customer / Tier`` for a dotted path)."""
    head, _, rest = path.partition(".")
    if not rt.has_field(head):
        return SYSTEM_LABELS.get(path, path)
    f = rt.field(head)
    text = pick_label(f.label, locale, f.key)
    if rest and f.type == "link":
        return f"{text} / {column_label(app, app.record_type(f.opt('to')), rest, locale)}"
    return text


def _in_zone(rows: Iterator[list[Any]], zone: dt.tzinfo) -> Iterator[list[Any]]:
    """Rows with their (naive UTC) date-time cells as naive wall-clock times in ``zone``."""
    for row in rows:
        yield [
            timezones.to_local(c, zone).replace(tzinfo=None) if isinstance(c, dt.datetime) else c
            for c in row
        ]


def _rows(t, app, rt, columns, filt, sort, q, user_id, locale, zone=None) -> Iterator[list[Any]]:
    cursor = None
    plan = [_cell_reader(app, rt, c, locale) for c in columns]
    while True:
        page = t.queries.list(
            app.id, rt.key, filter=filt, sort=sort, q=q, limit=PAGE, cursor=cursor,
            user_id=user_id, zone=zone,
        )  # fmt: skip
        linked = _linked(t, app, rt, columns, page.rows, user_id)
        for row in page.rows:
            yield [read(row, linked) for read in plan]
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def _linked(t, app, rt, columns, rows, user_id) -> dict[str, dict[int, dict]]:
    """Linked records per link field among ``columns``: one scoped query per field."""
    out: dict[str, dict[int, dict]] = {}
    for path in columns:
        head = path.split(".")[0]
        if head in out or not rt.has_field(head):
            continue
        f = rt.field(head)
        if f.type not in ("link", "link_many", "user"):
            continue
        ids: set[int] = set()
        for row in rows:
            value = row.get(head)
            ids.update(value if isinstance(value, list) else [value] if value else [])
        out[head] = _load(t, app, f, ids, user_id) if ids else {}
    return out


def _load(t, app, f, ids: set[int], user_id) -> dict[int, dict]:
    from tessera.storage.system import users

    with t.engine.connect() as conn:
        if f.type == "user":
            query = sa.select(users.c.id, users.c.display_name, users.c.username)
            query = query.where(users.c.id.in_(ids))
            return {r.id: {"_title": r.display_name or r.username} for r in conn.execute(query)}
        full = t.registry.apps[app.id]  # the rules compile over every field, hidden or not
        target = full.record_type(f.opt("to"))
        table = t.registry.table(app.id, target.key)
        query = scoped_select(full, target, table, user_id).where(table.c.id.in_(ids))
        seen = rights(full, target, user_id)
        found = {}
        for r in conn.execute(query).mappings():
            row = strip(seen, dict(r))
            row["_title"] = row.get(target.title) if target.title else f"#{row['id']}"
            found[row["id"]] = row
        return found


def _cell_reader(app, rt, path: str, locale: str):
    """A fast reader for one column: plain stored fields skip the per-cell dispatch."""
    if "." in path or not rt.has_field(path):
        return lambda row, linked: cell_value(app, rt, path, row, linked, locale)
    f = rt.field(path)
    if f.type in NUMERIC:
        return lambda row, linked: row.get(path)
    if f.type == "select":
        labels = {o: for_field(f).format(f, o, locale) for o in _option_values(f)}
        return lambda row, linked: labels.get(row.get(path), row.get(path))
    if f.type in ("text", "long_text", "email", "phone", "url", "date"):
        return lambda row, linked: row.get(path)
    return lambda row, linked: cell_value(app, rt, path, row, linked, locale)


def _option_values(f) -> list[str]:
    from tessera.fields.choice import option_values

    return option_values(f)


def cell_value(app, rt, path: str, row: dict, linked: dict, locale: str) -> Any:
    """One export cell: a label, a title, a number, a date, or text."""
    head, _, rest = path.partition(".")
    value = row.get(head)
    if not rt.has_field(head):
        return _plain(value)
    f = rt.field(head)
    if f.type in ("link", "user") and value is not None:
        target = linked.get(head, {}).get(value)
        if rest and target is not None:
            return cell_value(app, app.record_type(f.opt("to")), rest, target, {}, locale)
        return None if rest else (target or {}).get("_title", f"#{value}")
    if f.type == "link_many":
        titles = [
            str((linked.get(head, {}).get(i) or {}).get("_title", f"#{i}")) for i in value or []
        ]
        return ", ".join(titles) or None
    return field_value(f, value, locale)


def field_value(f, value: Any, locale: str) -> Any:
    """A stored value as an export cell (plain numbers, labels, ISO dates)."""
    if value is None or value == []:
        return None
    ft = for_field(f)
    if f.type in NUMERIC and isinstance(value, int | Decimal):
        return value
    if f.type in LABELLED:
        return ft.format(f, value, locale)
    if f.type == "table":  # the rows as JSON text, which an import reads back
        return json_text.dumps(ft.to_json(f, value), ensure_ascii=False)
    if f.type == "poly_link":
        return value  # "customer:3": what an import reads back
    if f.type == "formula":
        json = ft.to_json(f, value)
        return Decimal(json) if isinstance(json, str) and _is_number(json) else json
    return _plain(ft.to_json(f, value) if not isinstance(value, dt.date) else value)


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


def neutralise(text: str) -> str:
    """``'=1+1`` for ``=1+1``: a spreadsheet shows it as text instead of running it."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return str(value)
    return neutralise(str(value))


def write_csv(headers: list[str], rows, out: IO[bytes], *, sheet: str = "") -> int:
    """UTF-8 CSV with a BOM, streamed to a binary stream; how many rows."""
    out.write(codecs.BOM_UTF8)
    text = _TextSink(out)
    writer = csv.writer(text)
    writer.writerow([neutralise(h) for h in headers])
    n = 0
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
        n += 1
        if n % PAGE == 0:
            text.flush()
    text.flush()
    return n


class _TextSink:
    """A minimal text writer over a binary stream (csv.writer needs ``write(str)``)."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.buffer: list[str] = []

    def write(self, s: str) -> None:
        self.buffer.append(s)

    def flush(self) -> None:
        if self.buffer:
            self.out.write("".join(self.buffer).encode("utf-8"))
            self.buffer.clear()


def write_xlsx(headers: list[str], rows, out: IO[bytes], *, sheet: str = "Export") -> int:
    """An XLSX workbook via openpyxl's write-only mode; how many rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    ws = book.create_sheet(title=_sheet_title(sheet))
    ws.append([_xlsx_cell(ws, h, WriteOnlyCell) for h in headers])
    n = 0
    for row in rows:
        ws.append([_xlsx_cell(ws, v, WriteOnlyCell) for v in row])
        n += 1
    book.save(out)
    return n


def _xlsx_cell(ws, value: Any, cell_class) -> Any:
    if isinstance(value, str):
        cell = cell_class(ws, value=value)
        if value.startswith(FORMULA_START):
            cell.data_type = "s"  # text, never a formula
        return cell
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    return value


def _sheet_title(name: str) -> str:
    cleaned = "".join(c for c in name if c not in "[]:*?/\\")
    return (cleaned or "Export")[:31]
