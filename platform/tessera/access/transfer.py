"""Transferring records to a new owner, optionally with their open linked records.

Every change goes through the records service as the acting user, so the usual checks
apply: they must be allowed to update each record and its owner field, and the new
owner must keep it inside their update scope (a rep cannot give a customer away; their
manager can move it within the team, an admin anywhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tessera.access.rules import owner_field
from tessera.errors import BadRequest
from tessera.records.actor import Actor


def transfer(
    t,
    app_id: str,
    rt_key: str,
    ids: Iterable[int],
    to_user: int,
    actor: Actor,
    *,
    field: str | None = None,
    children: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> dict[str, list[int]]:
    """Set the owner of records ``ids`` (and of their children matching a condition).

    ``children`` maps a record type linking here to the condition its records must meet
    to move too (None: all), e.g. ``{"follow_up": {"field": "done", "op": "ne", "value":
    true}}``. Returns the changed ids per record type. Records are moved one by one;
    a refusal stops the transfer and raises (the ones before it stay moved).
    """
    app, rt, _table = t.records.resolve(app_id, rt_key)
    key = field or _owner(app, rt)
    moved: dict[str, list[int]] = {rt_key: []}
    for record_id in ids:
        t.records.update(app_id, rt_key, record_id, {key: to_user}, actor)
        moved[rt_key].append(record_id)
        for child_key, when in (children or {}).items():
            moved.setdefault(child_key, []).extend(
                _move_children(t, app, rt_key, record_id, child_key, when, to_user, actor)
            )
    return moved


def _owner(app, rt) -> str:
    for role in app.roles:
        perm = role.permission(rt.key)
        if perm is not None and owner_field(perm, rt) != "created_by":
            return owner_field(perm, rt)
    if rt.has_field("owner") and rt.field("owner").type == "user":
        return "owner"
    raise BadRequest(f"{rt.key} has no owner field to transfer", {"field": ["no owner field"]})


def _move_children(t, app, rt_key, record_id, child_key, when, to_user, actor) -> list[int]:
    child = app.record_type(child_key)
    links = [f.key for f in child.fields if f.type == "link" and f.opt("to") == rt_key]
    if not links:
        raise BadRequest(f"{child_key} does not link to {rt_key}", {"children": [child_key]})
    link = {"field": links[0], "op": "eq", "value": record_id}
    cond = {"all": [link, dict(when)]} if when else link
    key = _owner(app, child)
    rows = t.queries.list(app.id, child_key, filter=cond, limit=500, user_id=actor.user_id).rows
    for row in rows:
        t.records.update(app.id, child_key, row["id"], {key: to_user}, actor)
    return [row["id"] for row in rows]
