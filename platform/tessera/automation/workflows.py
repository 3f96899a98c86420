"""Which workflows exist (template + installed recipes), which are paused, which an event fires."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tessera.automation import tables
from tessera.meta.model import Workflow

#: events from the outbox, and the trigger kinds each can fire
RECORD_EVENTS = {"record.created", "record.updated", "record.deleted"}
#: one event per finished import (tessera.dataio, workflows "summary"): its outbox row has
#: record_type "_import" and names the imported record type in its payload
IMPORT_FINISHED = "import.finished"
#: per-job memo of workflow lists and paused sets (see :func:`batch`)
_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("automation_memo", default=None)


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Within this block, workflow lists and paused sets are read once per app (one job)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _memoized(key: tuple, load):
    memo = _memo.get()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]


def workflows_of(tessera: Any, app_id: str) -> list[Workflow]:
    """The app's workflows: its template's, then recipes installed onto it."""
    return _memoized(("wf", app_id), lambda: _load_workflows(tessera, app_id))


def _load_workflows(tessera: Any, app_id: str) -> list[Workflow]:
    from tessera.meta.compile import compile_workflow

    app = tessera.registry.apps.get(app_id)
    if app is None:
        return []
    forms = {f.key: f for f in app.forms}
    with tessera.engine.connect() as conn:
        rows = conn.execute(
            sa.select(tables.installed_recipes.c.workflow)
            .where(tables.installed_recipes.c.app_id == app_id)
            .order_by(tables.installed_recipes.c.id)
        ).scalars()
        extra = [compile_workflow(data, forms) for data in rows]
    return [*app.workflows, *extra]


def find_workflow(tessera: Any, app_id: str, key: str) -> Workflow | None:
    """The workflow ``key`` of app ``app_id``, or None."""
    return next((w for w in workflows_of(tessera, app_id) if w.key == key), None)


def paused(conn: sa.Connection, app_id: str) -> set[str]:
    """Keys of the app's paused workflows."""
    ws = tables.workflow_state
    query = sa.select(ws.c.workflow_key).where(ws.c.app_id == app_id, ws.c.paused.is_(True))
    return _memoized(("paused", app_id), lambda: set(conn.scalars(query)))


def set_paused(engine: sa.Engine, app_id: str, key: str, value: bool) -> None:
    """Pause (True) or resume (False) a workflow; events while paused are skipped."""
    ws = tables.workflow_state
    with engine.begin() as conn:
        done = conn.execute(
            ws.update()
            .where(ws.c.app_id == app_id, ws.c.workflow_key == key)
            .values(paused=value, updated_at=datetime.now(UTC))
        ).rowcount
        if not done:
            conn.execute(
                ws.insert().values(
                    app_id=app_id, workflow_key=key, paused=value, updated_at=datetime.now(UTC)
                )
            )


def fires_on(wf: Workflow, event: Mapping[str, Any]) -> bool:
    """True when outbox ``event`` is one that ``wf``'s trigger listens to."""
    if event["event"] == IMPORT_FINISHED:
        rt_key = (event["payload"] or {}).get("record_type")
        return wf.enabled and wf.trigger.get("on") == IMPORT_FINISHED and wf.record_type == rt_key
    if not wf.enabled or wf.record_type != event["record_type"]:
        return False
    on, name = wf.trigger.get("on"), event["event"]
    if on == name:
        return True
    if on == "field.changed" and name in ("record.created", "record.updated"):
        changed = set((event["payload"] or {}).get("changes", {}))
        return bool(changed & set(wf.trigger.get("fields", ())))
    return False


def event_subject(event: Mapping[str, Any]) -> tuple[int | None, dict[str, Any]]:
    """(record id, initial run variables) of a run started by outbox ``event``.

    A record event's run is about its record; an ``import.finished`` run is about no
    record and starts with ``vars.import`` = the import's id, file name and counts.
    """
    if event["event"] != IMPORT_FINISHED:
        return event["record_id"], {}
    payload = event["payload"] or {}
    info = {"id": payload.get("import"), "file_name": payload.get("file_name"),
            "record_type": payload.get("record_type"), **(payload.get("counts") or {})}  # fmt: skip
    return None, {"import": info}
