"""Undoing a whole import, and the one summary event an import may emit.

Every row an import writes carries the actor kind ``import`` and the import's ref in
its audit entry, so the import's footprint is read back from the audit log: records it
created are deleted, records it updated get their previous values back, audited under
``<ref>:undo`` — set-based, a batch of records per statement. Undo is refused while any
of those records has been changed by anything else since (one query finds out).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tessera.errors import Conflict
from tessera.fields import polylinks
from tessera.records import log
from tessera.records.actor import Actor
from tessera.storage.events import audit_log, outbox

SUMMARY_EVENT = "import.finished"
#: records deleted per transaction when an import is undone
UNDO_BATCH = 1000


def import_entries(conn, app_id: str, ref: str) -> list[dict]:
    """The audit entries written by import ``ref``, oldest first."""
    query = (
        sa.select(audit_log.c.id, audit_log.c.record_type, audit_log.c.record_id,
                  audit_log.c.action, audit_log.c.changes)
        .where(audit_log.c.app_id == app_id, audit_log.c.actor_kind == "import",
               audit_log.c.actor_ref == ref)
        .order_by(audit_log.c.id)
    )  # fmt: skip
    return [dict(r) for r in conn.execute(query).mappings()]


def changed_since(conn, app_id: str, ref: str, limit: int = 6) -> list[str]:
    """``customer #12`` for imported records changed by someone else since (one query).

    A record counts as changed when an audit entry newer than the import's own entry
    for it was written by anything but this import (at most ``limit`` are named).
    """
    mine, later = audit_log.alias("mine"), audit_log.alias("later")
    query = (
        sa.select(later.c.record_type, later.c.record_id)
        .distinct()
        .join(mine, sa.and_(mine.c.app_id == later.c.app_id,
                            mine.c.record_type == later.c.record_type,
                            mine.c.record_id == later.c.record_id))
        .where(mine.c.app_id == app_id, mine.c.actor_kind == "import", mine.c.actor_ref == ref,
               later.c.id > mine.c.id,
               sa.or_(later.c.actor_kind != "import", later.c.actor_ref.is_(None),
                      later.c.actor_ref != ref))
        .order_by(later.c.record_type, later.c.record_id)
        .limit(limit)
    )  # fmt: skip
    return [f"{rt_key} #{rid}" for rt_key, rid in conn.execute(query)]


def undo_import(tessera: Any, app_id: str, ref: str, actor: Actor, *, force: bool = False) -> dict:
    """Delete what import ``ref`` created and restore what it updated; counts.

    Set-based: the "changed since" check is one query; updated records get their old
    values back through ``bulk_update`` and created ones are deleted UNDO_BATCH at a time
    (one transaction, one DELETE, one audit insert per batch; see :func:`_delete_batch`).
    """
    with tessera.engine.connect() as conn:
        if not force:
            changed = changed_since(conn, app_id, ref)
            if changed:
                shown = ", ".join(changed[:5]) + (" and more" if len(changed) > 5 else "")
                raise Conflict(f"cannot undo: {shown} changed since the import")
        entries = import_entries(conn, app_id, ref)
    undo_actor = Actor(user_id=actor.user_id, kind="import", ref=f"{ref}:undo",
                       locale=actor.locale)  # fmt: skip
    restored = _restore_updates(tessera, app_id, entries, undo_actor)
    created: dict[str, list[int]] = {}
    for e in reversed(entries):  # newest first: rows before the link targets made for them
        if e["action"] == "create":
            created.setdefault(e["record_type"], []).append(e["record_id"])
    deleted = 0
    for rt_key, ids in created.items():
        for start in range(0, len(ids), UNDO_BATCH):
            deleted += _delete_batch(tessera, app_id, rt_key, ids[start : start + UNDO_BATCH],
                                     undo_actor)  # fmt: skip
    return {"deleted": deleted, "restored": restored}


def _delete_batch(tessera: Any, app_id: str, rt_key: str, ids: list[int], actor: Actor) -> int:
    """Delete records ``ids`` of one type in one transaction; how many existed.

    When nothing links to them, one DELETE and one audit/outbox insert do it; when some
    record does, each goes through the records service's own delete, so the template's
    on_delete rules (restrict, cascade, set null) apply exactly as for a user's delete.
    """
    from tessera.records.service import MAX_CASCADE

    records = tessera.records
    app, rt, table = records.resolve(app_id, rt_key)
    now = records.clock()
    with tessera.engine.begin() as conn:
        query = sa.select(table).where(table.c.id.in_(ids))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        rows = [dict(r) for r in conn.execute(query).mappings()]
        current = records.attach(conn, app, rt, rows)
        if not current:
            return 0
        if _linked_to(records, conn, app, rt, [c["id"] for c in current]):
            for row in current:
                records._delete(conn, app, rt, table, row, actor, now, [MAX_CASCADE])
        else:
            conn.execute(table.delete().where(table.c.id.in_([c["id"] for c in current])))
            entries = []
            for row in current:
                before = log.json_values(rt, {f.key: row.get(f.key) for f in rt.fields
                                              if f.key in row})  # fmt: skip
                entries.append((row["id"], {k: [v, None] for k, v in before.items()
                                            if v is not None}))  # fmt: skip
            log.write_many(conn, app_id=app.id, rt_key=rt.key, entries=entries,
                           action="delete", actor=actor, at=now)  # fmt: skip
            records._rollups(conn, app, rt, [(row, None) for row in current])
    records._committed()
    return len(current)


def _linked_to(records: Any, conn, app, rt, ids: list[int]) -> bool:
    """True when any record links to one of ``ids`` (one query per incoming link)."""
    for src_rt, link in records._incoming(app, rt.key):
        src = records.registry.table(app.id, src_rt.key)
        values = ids if link.type == "link" else [polylinks.join(rt.key, i) for i in ids]
        if conn.execute(sa.select(src.c.id).where(src.c[link.key].in_(values)).limit(1)).first():
            return True
    return False


def _restore_updates(tessera, app_id: str, entries: list[dict], actor: Actor) -> int:
    by_type: dict[str, dict[int, dict]] = {}
    for e in reversed(entries):  # the oldest value wins when a record was updated twice
        if e["action"] == "update":
            old = {k: v[0] for k, v in (e["changes"] or {}).items()}
            by_type.setdefault(e["record_type"], {}).setdefault(e["record_id"], {}).update(old)
    for rt_key, pairs in by_type.items():
        tessera.records.bulk_update(app_id, rt_key, list(pairs.items()), actor)
    return sum(len(p) for p in by_type.values())


def write_summary_event(
    tessera: Any,
    app_id: str,
    rt_key: str,
    actor: Actor,
    counts: dict,
    file_name: str | None = None,
) -> None:
    """One ``import.finished`` outbox event for the whole import (workflows: summary).

    Its record_type is ``_import`` (record_id 0), so record triggers never mistake it for
    a record change; the payload names the record type, the import, its file and counts.
    Workflows with ``trigger: {on: import.finished}`` on that record type receive it
    (:func:`tessera.automation.workflows.fires_on`) and read it as ``vars.import``.
    """
    with tessera.engine.begin() as conn:
        conn.execute(
            outbox.insert().values(
                event=SUMMARY_EVENT, app_id=app_id, record_type="_import", record_id=0,
                payload={"record_type": rt_key, "import": actor.ref, "counts": counts,
                         "file_name": file_name,
                         "actor": {"kind": actor.kind, "ref": actor.ref,
                                   "user_id": actor.user_id}},
                depth=actor.depth, created_at=datetime.now(UTC),
            )
        )  # fmt: skip
