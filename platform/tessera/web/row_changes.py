"""A table field's change in a record's history, row by row (not the whole grid twice).

The audit log keeps a table's old and new rows whole; the activity list shows only what
differs: per changed row the cells that changed (``Lines, row 2 · Qty: 2 → 3``), and
added or removed rows as a one-line summary of their cells.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup

from tessera.meta.children import child_record_type, row_fields
from tessera.meta.model import Field, RecordType
from tessera.web.i18n import label

CellHtml = Callable[[RecordType, Field, Any], Markup]
NOTHING = Markup('<span class="muted">—</span>')


def table_changes(
    rt: RecordType, f: Field, old: Any, new: Any, cell_html: CellHtml
) -> list[tuple[Field, Markup, Markup]]:
    """(pseudo field named "Lines, row 2 · Qty", old HTML, new HTML) per changed cell or row."""
    child, cells = child_record_type(rt, f), row_fields(f)
    old, new = list(old or ()), list(new or ())
    out = []
    for n in range(max(len(old), len(new))):
        before = old[n] if n < len(old) else None
        after = new[n] if n < len(new) else None
        where = _("%(table)s, row %(n)s", table=label(f.label, f.key), n=n + 1)
        if before is None or after is None:
            shown = _summary(child, cells, before or after, cell_html)
            pair = (NOTHING, shown) if before is None else (shown, NOTHING)
            out.append((_named(f, where), *pair))
            continue
        for c in cells:
            if before.get(c.key) != after.get(c.key):
                name = f"{where} · {label(c.label, c.key)}"
                old_html = cell_html(child, c, before.get(c.key))
                out.append((_named(c, name), old_html, cell_html(child, c, after.get(c.key))))
    return out


def _summary(child: RecordType, cells, row: dict, cell_html: CellHtml) -> Markup:
    parts = [cell_html(child, c, row.get(c.key)) for c in cells if row.get(c.key) is not None]
    return Markup(" · ").join(parts)


def _named(f: Field, text: str) -> Field:
    """``f`` under a display name (already in the page's language)."""
    return Field(key=f.key, type=f.type, label=MappingProxyType({"en": text}))
