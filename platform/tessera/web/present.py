"""How records look on a page: labels, titles and one cell's HTML per field type.

Display text comes from each field type's own ``format`` (the registry's single place for
it); this module adds only what needs the page: links to linked records, user names,
option colours and attachment downloads.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any

from flask import current_app, g, url_for
from markupsafe import Markup, escape

from tessera import timezones
from tessera.errors import FieldValueError
from tessera.fields import for_field, polylinks, richtext
from tessera.fields.choice import option_label
from tessera.meta.children import child_record_type, row_fields
from tessera.meta.model import App, Field, RecordType
from tessera.web import people
from tessera.web.i18n import label, label_locale, local_time, moment_title

SYSTEM_LABELS = {"id": "ID", "created_at": "Created", "updated_at": "Updated", "version": "Version"}
MAX_LINKED = 500


def field_at(app: App, rt: RecordType, path: str) -> tuple[RecordType, Field | None]:
    """The record type and field a (possibly dotted) column path ends at."""
    head, _, rest = path.partition(".")
    if not rt.has_field(head):
        return rt, None
    f = rt.field(head)
    if rest and f.type == "link" and app.has_record_type(f.opt("to")):
        return field_at(app, app.record_type(f.opt("to")), rest)
    return rt, f


def column_label(app: App, rt: RecordType, path: str) -> str:
    """The header text of a column (dotted paths read ``Customer › Tier``)."""
    head, _, rest = path.partition(".")
    if not rt.has_field(head):
        return SYSTEM_LABELS.get(path, path)
    f = rt.field(head)
    text = label(f.label, f.key)
    if rest and f.type == "link" and app.has_record_type(f.opt("to")):
        return f"{text} › {column_label(app, app.record_type(f.opt('to')), rest)}"
    return text


def title(rt: RecordType, row: dict[str, Any] | None) -> str:
    """A record's display title: its title field, else ``<Type> #id``."""
    if not row:
        return ""
    value = row.get(rt.title) if rt.title else None
    if value not in (None, ""):
        f = rt.field(rt.title)
        return for_field(f).format(f, value, label_locale())
    return f"{label(rt.label, rt.key)} #{row.get('id')}"


def rt_label(app_id: str | None, rt_key: str | None) -> str:
    """A record type's label in the reader's language, by app id and key (the key if gone)."""
    app = current_app.extensions["tessera"].registry.apps.get(app_id or "")
    if app is None or not app.has_record_type(rt_key or ""):
        return rt_key or ""
    rt = app.record_type(rt_key)
    return label(rt.label, rt.key)


def linked_rows(app: App, rt_key: str, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Rows of ``rt_key`` by id, read through Queries (cached for the request)."""
    cache = g.setdefault("linked_rows", {})
    wanted = sorted(i for i in ids if i is not None and (rt_key, i) not in cache)
    queries = current_app.extensions["tessera"].queries
    for start in range(0, len(wanted), MAX_LINKED):
        chunk = wanted[start : start + MAX_LINKED]
        page = queries.list(
            app.id,
            rt_key,
            filter={"field": "id", "op": "in", "value": chunk},
            limit=MAX_LINKED,
            user_id=g.get("principal"),  # set by common.meta(): only what the user may read
        )
        for row in page.rows:
            cache[(rt_key, row["id"])] = row
    return {i: cache[(rt_key, i)] for i in ids if (rt_key, i) in cache}


def prime_links(app: App, rt: RecordType, rows: list[dict], paths: list[str]) -> None:
    """Load the records that link fields among ``paths`` point to, one query per field."""
    for path in paths:
        head = path.split(".")[0]
        if not rt.has_field(head):
            continue
        f = rt.field(head)
        if f.type in ("link", "link_many") and app.has_record_type(f.opt("to")):
            ids: set[int] = set()
            for row in rows:
                value = row.get(head)
                ids.update(value if isinstance(value, list) else [value] if value else [])
            linked_rows(app, f.opt("to"), ids)
        elif f.type == "poly_link":
            prime_poly(app, f, rows)


def prime_poly(app: App, f: Field, rows: list[dict]) -> None:
    """Load the records a polymorphic link points to: one query per target type."""
    by_type: dict[str, set[int]] = {}
    for row in rows:
        parts = polylinks.split(row.get(f.key))
        if parts and app.has_record_type(parts[0]):
            by_type.setdefault(parts[0], set()).add(parts[1])
    for rt_key, ids in by_type.items():
        linked_rows(app, rt_key, ids)


def cell(app: App, rt: RecordType, path: str, row: dict[str, Any]) -> Markup:
    """One table cell / record page value as HTML (dotted paths follow links)."""
    head, _, rest = path.partition(".")
    if not rt.has_field(head):
        return _system(row.get(path))
    f = rt.field(head)
    if rest and f.type == "link" and app.has_record_type(f.opt("to")):
        target = app.record_type(f.opt("to"))
        linked = linked_rows(app, target.key, {row.get(head)} - {None})
        return cell(app, target, rest, linked.get(row.get(head)) or {})
    return value_html(app, rt, f, row.get(head), row)


def value_html(app: App, rt: RecordType, f: Field, value: Any, row: dict | None = None) -> Markup:
    """The HTML of one field value."""
    if value is None or value == [] or value == "":
        return Markup('<span class="muted">—</span>')
    renderer = _RENDERERS.get(f.type)
    if renderer:
        return renderer(app, rt, f, value, row or {})
    return escape(for_field(f).format(f, value, label_locale()))


def fixed_html(app: App, rt: RecordType, f: Field, value: Any, values: dict) -> Markup:
    """A read-only field on a form, shown as on the record page.

    ``value`` is the form string (or list) the form carries; ``values`` all of them (a
    per-record currency reads its code there).
    """
    try:
        coerced = for_field(f).coerce(f, value)
    except (FieldValueError, TypeError, ValueError):
        coerced = value
    return value_html(app, rt, f, coerced, values)


def _select(app, rt, f, value, row) -> Markup:
    color = next((o.get("color") for o in f.opt("options", ()) if o["value"] == value), None)
    style = f' data-color="{escape(color)}"' if color else ""
    text = option_label(f, value, label_locale())
    return Markup(f'<span class="chip"{style}>{escape(text)}</span>')


def _multi(app, rt, f, value, row) -> Markup:
    return Markup(" ").join(_select(app, rt, f, v, row) for v in value)


def _link(app, rt, f, value, row) -> Markup:
    target = app.record_type(f.opt("to"))
    ids = value if isinstance(value, list) else [value]
    linked = linked_rows(app, target.key, set(ids))
    parts = []
    for i in ids:
        href = url_for("records.show", app_id=app.id, rt_key=target.key, record_id=i)
        parts.append(
            Markup('<a href="{}">{}</a>').format(href, title(target, linked.get(i)) or f"#{i}")
        )
    return Markup(", ").join(parts)


def _poly(app, rt, f, value, row) -> Markup:
    """``Customer · Acme`` linking to the record (its type's label, then its title)."""
    parts = polylinks.split(value)
    if parts is None or not app.has_record_type(parts[0]):
        return escape(for_field(f).format(f, value, label_locale()))
    target = app.record_type(parts[0])
    found = linked_rows(app, target.key, {parts[1]}).get(parts[1])
    href = url_for("records.show", app_id=app.id, rt_key=target.key, record_id=parts[1])
    return Markup(
        '<a href="{}" class="poly-link"><span class="chip poly-type">{}</span> {}</a>'
    ).format(href, label(target.label, target.key), title(target, found) or f"#{parts[1]}")


def poly_text(app: App, f: Field, value: Any) -> str:
    """Plain text of a polymorphic link: ``Customer · Acme``."""
    parts = polylinks.split(value)
    if parts is None or not app.has_record_type(parts[0]):
        return for_field(f).format(f, value, label_locale())
    target = app.record_type(parts[0])
    found = linked_rows(app, target.key, {parts[1]}).get(parts[1])
    return f"{label(target.label, target.key)} · {title(target, found) or f'#{parts[1]}'}"


def _user(app, rt, f, value, row) -> Markup:
    return escape(people.directory().get(value, f"#{value}"))


def _boolean(app, rt, f, value, row) -> Markup:
    return Markup('<span class="yes">✓</span>') if value else Markup('<span class="muted">✗</span>')


def _rating(app, rt, f, value, row) -> Markup:
    text = for_field(f).format(f, value, label_locale())
    return Markup('<span class="stars" aria-label="{} / {}">{}</span>').format(
        value, f.opt("max", 5), text
    )


def _attachment(app, rt, f, value, row) -> Markup:
    files = value if isinstance(value, list) else [value]
    if not row.get("id"):
        return escape(for_field(f).format(f, value, label_locale()))
    parts = []
    for n, meta in enumerate(files):
        href = url_for(
            "records.download", app_id=app.id, rt_key=rt.key, record_id=row["id"], field=f.key, n=n
        )
        parts.append(Markup('<a href="{}" download>{}</a>').format(href, meta["name"]))
    return Markup(", ").join(parts)


def _url(app, rt, f, value, row) -> Markup:
    safe = str(value) if str(value).startswith(("http://", "https://")) else None
    if not safe:
        return escape(value)
    return Markup('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>').format(
        safe, value
    )


def _email(app, rt, f, value, row) -> Markup:
    return Markup('<a href="mailto:{}">{}</a>').format(value, value)


def _long_text(app, rt, f, value, row) -> Markup:
    return Markup('<span class="pre">{}</span>').format(value)


def _currency(app, rt, f, value, row) -> Markup:
    ft = for_field(f)
    return escape(ft.format_in(f, value, ft.code_of(f, row)))


def _rich_text(app, rt, f, value, row) -> Markup:
    # stored values are sanitised on write; sanitising again costs little and also
    # covers rows written before a field became rich text
    return Markup('<div class="rich-text">{}</div>').format(Markup(richtext.sanitize(value)))


def _lookup(app, rt, f, value, row) -> Markup:
    link = rt.field(f.opt("link")) if rt.has_field(f.opt("link") or "") else None
    if link is None or not app.has_record_type(link.opt("to")):
        return escape(for_field(f).format(f, value, label_locale()))
    target = app.record_type(link.opt("to"))
    if not target.has_field(f.opt("field")):
        return escape(for_field(f).format(f, value, label_locale()))
    return value_html(app, target, target.field(f.opt("field")), value, {})


def _datetime(app, rt, f, value, row) -> Markup:
    """The moment in the reader's zone; the exact UTC time is the ``datetime`` attribute."""
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        timezones.to_local(value, dt.UTC).isoformat(), moment_title(value), local_time(value)
    )


NUMERIC_CELLS = frozenset({"number", "currency", "percent", "formula"})


def _table(app, rt, f, value, row) -> Markup:
    """A table field's rows as a small table (link cells show their records' titles)."""
    child, cells = child_record_type(rt, f), row_fields(f)
    for c in cells:
        if c.type == "link" and app.has_record_type(c.opt("to")):
            linked_rows(app, c.opt("to"), {r.get(c.key) for r in value} - {None})

    def th(c: Field) -> Markup:
        cls = ' class="num"' if c.type in NUMERIC_CELLS else ""
        return Markup('<th scope="col"{}>{}</th>').format(Markup(cls), label(c.label, c.key))

    def td(c: Field, r: dict) -> Markup:
        cls = ' class="num"' if c.type in NUMERIC_CELLS else ""
        return Markup("<td{}>{}</td>").format(Markup(cls), value_html(app, child, c, r.get(c.key)))

    head = Markup("").join(th(c) for c in cells)
    body = Markup("").join(
        Markup("<tr><td>{}</td>{}</tr>").format(n, Markup("").join(td(c, r) for c in cells))
        for n, r in enumerate(value, 1)
    )
    return Markup(
        '<table class="rows-view" data-rows="{}"><thead><tr><th scope="col">#</th>{}</tr></thead>'
        "<tbody>{}</tbody></table>"
    ).format(f.key, head, body)


_RENDERERS = {
    "datetime": _datetime,
    "table": _table,
    "lookup": _lookup,
    "select": _select,
    "multi_select": _multi,
    "link": _link,
    "link_many": _link,
    "poly_link": _poly,
    "user": _user,
    "boolean": _boolean,
    "rating": _rating,
    "attachment": _attachment,
    "url": _url,
    "email": _email,
    "long_text": _long_text,
    "currency": _currency,
    "rich_text": _rich_text,
}


def _system(value: Any) -> Markup:
    if isinstance(value, datetime):
        return escape(local_time(value))
    if isinstance(value, date):
        return escape(value.isoformat())
    return escape("" if value is None else value)
