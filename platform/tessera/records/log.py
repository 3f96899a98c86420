"""Audit entries and outbox events, written in the caller's transaction.

Both rows are inserted on the same connection as the record change, so they commit
or roll back with it: no change without its audit entry and its event, and no event
for a change that did not happen.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa

from tessera.fields import for_field
from tessera.fields.base import FieldType
from tessera.meta.model import RecordType
from tessera.records.actor import Actor
from tessera.storage.events import audit_log, outbox

EVENT_FOR = {"create": "record.created", "update": "record.updated", "delete": "record.deleted"}


def json_values(rt: RecordType, values: dict[str, Any]) -> dict[str, Any]:
    """Field values as JSON (field types' to_json); unknown keys pass through."""
    converters = _converters(rt)
    out = {}
    for key, value in values.items():
        convert = converters.get(key)
        out[key] = convert(value) if convert is not None and value is not None else value
    return out


def created(rt: RecordType, values: dict[str, Any], many: dict[str, Any]) -> dict[str, list]:
    """The changes of a create: ``diff({}, json_values(rt, {**values, **many}))``, in one
    pass per row (bulk creates build one per record)."""
    converters = _converters(rt)
    out = {}
    for part in (values, many):
        for key, value in part.items():
            if value is None:
                continue
            convert = converters.get(key)
            if convert is not None:
                value = convert(value)
                if value is None:
                    continue
            out[key] = [None, value]
    return out


def _converters(rt: RecordType) -> dict[str, Any]:
    """Per record type, computed once: field key -> ``value -> JSON`` for the fields
    whose type converts (types keeping the base ``to_json`` pass values through)."""
    converters = rt.__dict__.get("_json_converters")
    if converters is None:
        converters = {}
        for f in rt.fields:
            ft = for_field(f)
            if type(ft).to_json is not FieldType.to_json:
                converters[f.key] = partial(ft.to_json, f)
        object.__setattr__(rt, "_json_converters", converters)
    return converters


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Field-level changes ``{field: [old, new]}`` between two JSON value dicts."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: [old.get(k), new.get(k)] for k in keys}


def write(
    conn: sa.Connection,
    *,
    app_id: str,
    rt_key: str,
    record_id: int,
    action: str,
    changes: dict[str, list[Any]],
    actor: Actor,
    at: datetime,
) -> None:
    """Insert one audit entry and one outbox event for a record change."""
    write_many(
        conn,
        app_id=app_id,
        rt_key=rt_key,
        entries=[(record_id, changes)],
        action=action,
        actor=actor,
        at=at,
    )


def write_many(
    conn: sa.Connection,
    *,
    app_id: str,
    rt_key: str,
    entries: list[tuple[int, dict]],
    action: str,
    actor: Actor,
    at: datetime,
    events: bool = True,
) -> None:
    """Bulk form of :func:`write`: one audit entry and (unless ``events=False``) one event
    per record."""
    if not entries:
        return
    actor_json = {"kind": actor.kind, "ref": actor.ref, "user_id": actor.user_id}
    conn.execute(
        audit_log.insert(),
        [
            {
                "app_id": app_id,
                "record_type": rt_key,
                "record_id": rid,
                "action": action,
                "changes": ch,
                "actor_kind": actor.kind,
                "actor_ref": actor.ref,
                "user_id": actor.user_id,
                "at": at,
            }
            for rid, ch in entries
        ],
    )
    if not events:
        return
    conn.execute(
        outbox.insert(),
        [
            {
                "event": EVENT_FOR[action],
                "app_id": app_id,
                "record_type": rt_key,
                "record_id": rid,
                "payload": {"changes": ch, "actor": actor_json},
                "depth": actor.depth,
                "created_at": at,
            }
            for rid, ch in entries
        ],
    )


def history(conn: sa.Connection, app_id: str, rt_key: str, record_id: int) -> list[dict]:
    """Every audit entry of one record, oldest first."""
    query = (
        sa.select(audit_log)
        .where(
            audit_log.c.app_id == app_id,
            audit_log.c.record_type == rt_key,
            audit_log.c.record_id == record_id,
        )
        .order_by(audit_log.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def replay(entries: list[dict], at: datetime) -> dict[str, Any] | None:
    """A record's JSON values as of ``at``, rebuilt from its audit entries (None: absent)."""
    state: dict[str, Any] | None = None
    for entry in entries:
        if _aware(entry["at"]) > _aware(at):
            break
        if entry["action"] == "delete":
            state = None
            continue
        state = dict(state or {})
        state.update({k: v[1] for k, v in entry["changes"].items()})
    return state


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)
