"""Undoing a whole import, and the one summary event an import may emit.

Every row an import writes carries the actor kind ``import`` and the import's ref in
its audit entry, so the import's footprint is read back from the audit log: records it
created are deleted, records it updated get their previous values back, both through
the records service (audited under ``<ref>:undo``). Undo is refused while any of those
records has been changed by anything else since.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tessera.errors import Conflict
from tessera.records.actor import Actor
from tessera.storage.events import audit_log, outbox

SUMMARY_EVENT = "import.finished"


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


def changed_since(conn, app_id: str, ref: str, entries: list[dict]) -> list[str]:
    """``customer #12`` for each imported record changed by someone else since."""
    if not entries:
        return []
    first = entries[0]["id"]
    by_type: dict[str, set[int]] = {}
    for e in entries:
        by_type.setdefault(e["record_type"], set()).add(e["record_id"])
    out = []
    for rt_key, ids in by_type.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), 1000):
            query = sa.select(audit_log.c.record_id).where(
                audit_log.c.app_id == app_id,
                audit_log.c.record_type == rt_key,
                audit_log.c.record_id.in_(ordered[start : start + 1000]),
                audit_log.c.id > first,
                sa.or_(audit_log.c.actor_ref.is_(None), audit_log.c.actor_ref != ref),
            )
            out += [f"{rt_key} #{rid}" for rid in sorted(set(conn.scalars(query)))]
    return out


def undo_import(tessera: Any, app_id: str, ref: str, actor: Actor, *, force: bool = False) -> dict:
    """Delete what import ``ref`` created and restore what it updated; counts."""
    with tessera.engine.connect() as conn:
        entries = import_entries(conn, app_id, ref)
        if not force:
            changed = changed_since(conn, app_id, ref, entries)
            if changed:
                shown = ", ".join(changed[:5]) + (" and more" if len(changed) > 5 else "")
                raise Conflict(f"cannot undo: {shown} changed since the import")
    undo_actor = Actor(user_id=actor.user_id, kind="import", ref=f"{ref}:undo",
                       locale=actor.locale)  # fmt: skip
    restored = _restore_updates(tessera, app_id, entries, undo_actor)
    deleted = 0
    for e in reversed(entries):
        if e["action"] == "create":
            tessera.records.delete(app_id, e["record_type"], e["record_id"], undo_actor)
            deleted += 1
    return {"deleted": deleted, "restored": restored}


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
