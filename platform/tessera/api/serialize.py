"""Records and audit entries as JSON.

A record is ``{"id", <fields in declaration order>, "created_at", "updated_at",
"created_by", "updated_by", "version"}``; each field value is its type's
``to_json`` (decimals as strings, dates ISO 8601), timestamps are ISO 8601 in UTC.
Columns that are not declared fields (archived ones) never leave the server.
An expanded link holds the linked record (same shape) instead of its id; a polymorphic
link (``{"type", "id"}``) expands to ``{"type", "id", "title", "record"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from tessera.fields import for_field, polylinks
from tessera.meta.model import App, RecordType, thaw

TRAILING = ("created_at", "updated_at", "created_by", "updated_by", "version")


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC (SQLite hands back naive UTC datetimes)."""
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat()


def record_json(
    rt: RecordType,
    row: Mapping[str, Any],
    only: Iterable[str] | None = None,
) -> dict[str, Any]:
    """One record as JSON; ``only`` limits the keys (``id`` is always kept)."""
    wanted = None if only is None else {"id", *only}
    out: dict[str, Any] = {"id": row.get("id")}
    for f in rt.fields:
        if f.key in row and (wanted is None or f.key in wanted):
            value = row[f.key]
            out[f.key] = None if value is None else for_field(f).to_json(f, value)
    for key in TRAILING:
        if key in row and (wanted is None or key in wanted):
            value = row[key]
            out[key] = timestamp(value) if isinstance(value, datetime) else value
    return out


def expand_links(
    app: App, rt: RecordType, out: dict[str, Any], expanded: Mapping[str, Mapping[int, dict]]
) -> dict[str, Any]:
    """Replace the ids of expanded link fields in ``out`` by the linked records."""
    for key, found in expanded.items():
        if rt.field(key).type == "poly_link":
            out[key] = _expand_poly(app, out.get(key), found)
            continue
        linked_id = out.get(key)
        if linked_id is not None and linked_id in found:
            target = app.record_type(rt.field(key).opt("to"))
            out[key] = record_json(target, found[linked_id])
    return out


def _expand_poly(app: App, value: Any, found: Mapping[str, dict]) -> Any:
    """``{"type", "id", "title", "record"}`` for an expanded polymorphic link."""
    if not isinstance(value, Mapping):
        return value
    row = found.get(polylinks.join(value["type"], value["id"]))
    if row is None:  # gone, or not readable by this user: the bare reference stays
        return value
    target = app.record_type(value["type"])
    record = record_json(target, row)
    title = record.get(target.title) if target.title else None
    return {**value, "title": title, "record": record}


def history_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One audit entry: action, moment, actor and field-level changes."""
    return {
        "id": entry["id"],
        "action": entry["action"],
        "at": timestamp(entry["at"]),
        "actor": {
            "kind": entry["actor_kind"],
            "ref": entry["actor_ref"],
            "user_id": entry["user_id"],
        },
        "changes": {k: {"old": v[0], "new": v[1]} for k, v in entry["changes"].items()},
    }


def label(value: Any) -> Any:
    """A Meta label (read-only mapping) as plain JSON."""
    return thaw(value)
