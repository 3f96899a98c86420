"""Stable ids for record types, fields and select options, kept through renames.

Ids live beside each stored version (``app_versions.ids``), so template authors never
write them. The map is flat: ``{"deal": id, "deal.amount": id, "deal.stage=won": id}``
keyed by the names of that version. :func:`carry` gives a new version the ids of the
previous one, following ``renamed_from`` the same way the migration planner does, and
new ids to anything new.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from tessera.meta.model import App, Field, RecordType

Ids = dict[str, str]


def new_id() -> str:
    """A fresh id (random: ids made on two sides of a merge never collide)."""
    return uuid.uuid4().hex[:12]


def rt_name(rt: str) -> str:
    """The id-map name of a record type."""
    return rt


def field_name(rt: str, field: str) -> str:
    """The id-map name of a field."""
    return f"{rt}.{field}"


def option_name(rt: str, field: str, value: str) -> str:
    """The id-map name of a select option."""
    return f"{rt}.{field}={value}"


def options_of(f: Field) -> list[Mapping[str, Any]]:
    """The option mappings of a select/multi_select field (empty for other types)."""
    return [o for o in f.opt("options") or () if isinstance(o, Mapping) and "value" in o]


def _renamed_sources(item_renamed_from: Any) -> list[str]:
    if isinstance(item_renamed_from, str):
        return [item_renamed_from]
    return [s for s in item_renamed_from or () if isinstance(s, str)]


def _match(key: str, renamed_from: Any, old_keys: set[str], new_keys: set[str]) -> str | None:
    """The old name of an item: its own key, else a renamed_from the new version dropped."""
    if key in old_keys:
        return key
    for src in _renamed_sources(renamed_from):
        if src in old_keys and src not in new_keys:
            return src
    return None


def carry(old: App | None, old_ids: Mapping[str, str] | None, new: App) -> Ids:
    """Ids for ``new``: those of ``old`` for what it keeps (renames followed), fresh ones else."""
    old_ids = dict(old_ids or {})
    if old is not None and not old_ids:
        old_ids = carry(None, None, old)
    out: Ids = {}
    old_rts = {rt.key: rt for rt in old.record_types} if old else {}
    new_keys = {rt.key for rt in new.record_types}
    for rt in new.record_types:
        src = _match(rt.key, rt.renamed_from, set(old_rts), new_keys)
        out[rt_name(rt.key)] = old_ids.get(rt_name(src)) if src else None
        _carry_fields(out, old_ids, old_rts.get(src) if src else None, src, rt)
    return {k: v or new_id() for k, v in out.items()}


def _carry_fields(out: dict, old_ids: Mapping, old_rt: RecordType | None, src: str | None, rt):
    old_fields = {f.key: f for f in old_rt.fields} if old_rt else {}
    new_keys = {f.key for f in rt.fields}
    for f in rt.fields:
        fsrc = _match(f.key, f.renamed_from, set(old_fields), new_keys)
        out[field_name(rt.key, f.key)] = old_ids.get(field_name(src, fsrc)) if fsrc else None
        old_f = old_fields.get(fsrc) if fsrc else None
        old_values = {o["value"] for o in options_of(old_f)} if old_f else set()
        new_values = {o["value"] for o in options_of(f)}
        for o in options_of(f):
            osrc = _match(o["value"], o.get("renamed_from"), old_values, new_values)
            name = option_name(rt.key, f.key, o["value"])
            out[name] = old_ids.get(option_name(src, fsrc, osrc)) if osrc else None
