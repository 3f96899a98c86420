"""Duplicate finder and merge.

:func:`find_duplicates` reads a record type through the query layer (so a user sees
only groups among records they may read) and groups records sharing a normalised
phone, e-mail, or name — Chinese company names compare without their legal-form
suffix (``华为技术有限公司`` = ``华为技术`` = ``华为技术股份``), others ignoring case, blanks
and punctuation. Groups are connected components: A~B by phone and B~C by name make
one group.

:func:`merge` keeps one record, gives it the chosen value of each field, re-points
every link and ``link_many`` junction row from the others to it, then deletes the
others — all through the records service, so every step is validated and audited
(the merged records' history stays readable, ending in a delete entry whose actor
reference names the merge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tessera.dataio.dedupe import norm_company, norm_phone, norm_text
from tessera.errors import BadRequest
from tessera.fields import for_field
from tessera.records.actor import Actor

PAGE = 500
MAX_GROUPS = 200


@dataclass
class Group:
    """Records that look like the same one, and why."""

    ids: list[int]
    reasons: set[str] = field(default_factory=set)
    records: list[dict[str, Any]] = field(default_factory=list)


def key_fields(rt) -> list[tuple[str, Any]]:
    """(field key, normaliser) of the fields duplicates are found by."""
    out = []
    for f in rt.fields:
        if f.type == "phone":
            out.append((f.key, norm_phone))
        elif f.type == "email":
            out.append((f.key, norm_text))
        elif f.key == rt.title or f.key == "company":
            out.append((f.key, norm_company))
    return out


def find_duplicates(t: Any, app_id: str, rt_key: str, user_id: int | None) -> list[Group]:
    """Likely duplicate groups (largest first, at most MAX_GROUPS)."""
    _, rt, _ = t.records.resolve(app_id, rt_key)
    keys = key_fields(rt)
    if not keys:
        return []
    parent: dict[int, int] = {}
    first: dict[tuple[str, str], int] = {}
    reasons: dict[tuple[int, int], str] = {}
    for row in _scan(t, app_id, rt_key, user_id):
        parent.setdefault(row["id"], row["id"])
        for key, norm in keys:
            value = norm(row.get(key))
            if not value:
                continue
            seen = first.setdefault((key, value), row["id"])
            if seen != row["id"]:
                _union(parent, seen, row["id"])
                reasons[(seen, row["id"])] = key
    return _groups(t, app_id, rt_key, parent, reasons, user_id)


def _scan(t, app_id, rt_key, user_id):
    cursor = None
    while True:
        page = t.queries.list(app_id, rt_key, limit=PAGE, cursor=cursor, user_id=user_id)
        yield from page.rows
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def _find(parent: dict[int, int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _union(parent: dict[int, int], a: int, b: int) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


def _groups(t, app_id, rt_key, parent, reasons, user_id) -> list[Group]:
    members: dict[int, list[int]] = {}
    for rid in parent:
        members.setdefault(_find(parent, rid), []).append(rid)
    groups = {root: Group(sorted(ids)) for root, ids in members.items() if len(ids) > 1}
    for (a, _b), key in reasons.items():
        groups[_find(parent, a)].reasons.add(key)
    ordered = sorted(groups.values(), key=lambda g: (-len(g.ids), g.ids[0]))[:MAX_GROUPS]
    for g in ordered:
        g.records = [t.records.get(app_id, rt_key, rid, user_id) for rid in g.ids]
    return ordered


def merge(
    t: Any,
    app_id: str,
    rt_key: str,
    keep: int,
    others: list[int],
    chosen: dict[str, int],
    actor: Actor,
) -> dict[str, Any]:
    """Merge ``others`` into ``keep``; ``chosen``: field -> id of the record whose value wins.

    Returns the surviving record. Fields not in ``chosen`` keep the survivor's value,
    or take the first non-empty value among the others when the survivor has none.
    """
    app, rt, _ = t.records.resolve(app_id, rt_key)
    others = [int(o) for o in dict.fromkeys(others) if int(o) != int(keep)]
    if not others:
        raise BadRequest("choose at least two different records to merge")
    records = {rid: t.records.get(app_id, rt_key, rid) for rid in [keep, *others]}
    values = _surviving_values(rt, records, keep, others, chosen)
    unique = {k: v for k, v in values.items() if rt.field(k).unique}
    plain = {k: v for k, v in values.items() if k not in unique}
    merge_actor = Actor(user_id=actor.user_id, kind=actor.kind, ref=f"merge:{keep}",
                        locale=actor.locale)  # fmt: skip
    if plain:
        t.records.update(app_id, rt_key, keep, plain, merge_actor)
    _repoint(t, app, rt, keep, others, merge_actor)
    for rid in others:
        t.records.delete(app_id, rt_key, rid, merge_actor)
    if unique:  # values another record held: free only now
        t.records.update(app_id, rt_key, keep, unique, merge_actor)
    return t.records.get(app_id, rt_key, keep)


def _surviving_values(rt, records, keep, others, chosen) -> dict[str, Any]:
    out = {}
    for f in rt.fields:
        ft = for_field(f)
        if ft.computed or not ft.stored and f.type != "link_many":
            continue
        source = chosen.get(f.key)
        if source is not None and int(source) not in records:
            raise BadRequest(f"{f.key}: record #{source} is not one of those merged")
        if source is None:
            if not ft.is_empty(records[keep].get(f.key)):
                continue
            source = next((o for o in others if not ft.is_empty(records[o].get(f.key))), None)
            if source is None:
                continue
        value = records[int(source)].get(f.key)
        if int(source) != keep and value != records[keep].get(f.key):
            out[f.key] = ft.to_json(f, value) if value is not None else None
    return out


def _repoint(t, app, rt, keep: int, others: list[int], actor: Actor) -> None:
    """Links and junction rows pointing at ``others`` now point at ``keep``."""
    for src in app.record_types:
        for f in src.fields:
            if f.type == "poly_link" and rt.key in (f.opt("to") or ()):
                about = [{"type": rt.key, "id": o} for o in others]
                cond = {"field": f.key, "op": "in", "value": about}
                moved = {f.key: {"type": rt.key, "id": keep}}
                changes = [(r["id"], moved) for r in _all(t, app.id, src.key, cond)]
            elif f.opt("to") != rt.key:
                continue
            elif f.type == "link":
                cond = {"field": f.key, "op": "in", "value": others}
                changes = [(r["id"], {f.key: keep}) for r in _all(t, app.id, src.key, cond)]
            elif f.type == "link_many":
                changes = _many_changes(t, app.id, src.key, f.key, keep, others)
            else:
                continue
            for i in range(0, len(changes), 1000):
                t.records.bulk_update(app.id, src.key, changes[i : i + 1000], actor)


def _many_changes(t, app_id, src_key, key, keep, others) -> list[tuple[int, dict]]:
    """New id lists for the records whose ``link_many`` holds one of ``others``.

    The condition language cannot filter on link_many, so the sources are read from
    the junction table (a read only: the change goes through ``bulk_update``).
    """
    import sqlalchemy as sa

    junction = t.registry.junction(app_id, src_key, key)
    query = sa.select(junction.c.source_id).where(junction.c.target_id.in_(others)).distinct()
    with t.engine.connect() as conn:
        sources = sorted(conn.scalars(query))
    out = []
    for rid in sources:
        current = t.records.get(app_id, src_key, rid).get(key) or []
        ids = [keep if i in others else i for i in current]
        out.append((rid, {key: list(dict.fromkeys(ids))}))
    return out


def _all(t, app_id, rt_key, cond) -> list[dict]:
    rows, cursor = [], None
    while True:
        page = t.queries.list(app_id, rt_key, filter=cond, limit=PAGE, cursor=cursor)
        rows += page.rows
        if not page.next_cursor:
            return rows
        cursor = page.next_cursor
