"""The 360° view of a record: its key numbers and one timeline of everything about it.

The timeline merges the record's own audit entries (created, changed...) with the records
that link to it (plain or polymorphic links) — follow-ups, deals, orders, tickets —
discovered from the reverse links of the Meta, each read through the query layer as the
signed-in user (so only what they may see), newest first. ``kind`` narrows it to the
record's own changes (``self``) or to one linking record type. Key numbers are the
fields the record type lists under ``summary:`` (typically rollups), formatted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import url_for
from markupsafe import Markup

from tessera.fields import polylinks
from tessera.meta.model import App, Field, RecordType
from tessera.web import common, present
from tessera.web.i18n import label

SELF = "self"
PER_KIND = 20  # newest linking records read per (record type, link field)
MAX_ENTRIES = 60
FACTS = 3  # fields shown under a linking record's title
SKIP_FACT_TYPES = ("long_text", "attachment", "link_many", "multi_select")


def key_numbers(app: App, rt: RecordType, record: dict) -> list[tuple[str, Markup]]:
    """(label, value HTML) of each ``summary`` field the user may read."""
    out = []
    for key in rt.summary:
        if rt.has_field(key):
            f = rt.field(key)
            out.append(
                (label(f.label, f.key), present.value_html(app, rt, f, record.get(key), record))
            )
    return out


def reverse_links(app: App, rt: RecordType) -> list[tuple[RecordType, Field]]:
    """(record type, link field) pairs pointing at ``rt`` (links and polymorphic links
    that may point at it), of record types the user may read."""
    return [
        (src, f)
        for src in app.record_types
        for f in src.fields
        if _points_at(f, rt) and common.readable(app, src)
    ]


def _points_at(f: Field, rt: RecordType) -> bool:
    if f.type == "poly_link":
        return rt.key in polylinks.targets(f)
    return f.type == "link" and f.opt("to") == rt.key


def build(
    app: App, rt: RecordType, record_id: int, own: list[dict], kind: str | None = None
) -> dict[str, Any]:
    """The timeline entries (newest first), the kinds to filter by, and the kind in force."""
    kinds = [{"key": SELF, "label": None, "count": len(own)}]
    entries = [_own(e) for e in own] if kind in (None, SELF) else []
    for src, link in reverse_links(app, rt):
        page = common.engine_objects().queries.list(
            app.id,
            src.key,
            filter={"field": link.key, "op": "eq", "value": _value(link, rt, record_id)},
            sort="-created_at",
            limit=PER_KIND,
            user_id=common.who(),
            with_total=True,
        )
        found = next((k for k in kinds if k["key"] == src.key), None)
        if found is None:
            kinds.append({"key": src.key, "label": label(src.label, src.key), "count": 0})
            found = kinds[-1]
        found["count"] += page.total or 0
        if kind in (None, src.key):
            facts = _fact_fields(src, link.key)
            present.prime_links(app, src, page.rows, facts)
            entries += [_linked(app, src, link, row, facts) for row in page.rows]
    entries.sort(key=lambda e: (_aware(e["at"]), e["order"]), reverse=True)
    return {"entries": entries[:MAX_ENTRIES], "kinds": kinds, "kind": kind}


def _value(link: Field, rt: RecordType, record_id: int):
    """What the link holds when it points at this record (``{type, id}`` for a poly link)."""
    return {"type": rt.key, "id": record_id} if link.type == "poly_link" else record_id


def _own(entry: dict) -> dict:
    return {**entry, "source": SELF, "order": entry.get("id", 0)}


def _linked(app: App, src: RecordType, link: Field, row: dict, facts: list[str]) -> dict:
    return {
        "source": "linked",
        "kind": src.key,
        "kind_label": label(src.label, src.key),
        "via": label(link.label, link.key),
        "at": row.get("created_at"),
        "order": row["id"],
        "title": present.title(src, row),
        "href": url_for("records.show", app_id=app.id, rt_key=src.key, record_id=row["id"]),
        "facts": [
            (present.column_label(app, src, c), present.cell(app, src, c, row))
            for c in facts
            if row.get(c) not in (None, "", [])
        ],
        "row": row,
    }


def _fact_fields(src: RecordType, link_key: str) -> list[str]:
    keys = [
        f.key
        for f in src.fields
        if f.key not in (link_key, src.title) and f.type not in SKIP_FACT_TYPES
    ]
    return keys[:FACTS]


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
