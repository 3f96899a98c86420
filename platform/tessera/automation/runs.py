"""Service functions for the operations pages and the API: run log, retry, pause, test mode,
manual/form/webhook triggers, notifications and the local mail outbox.

Every function takes the runtime (``current_app.extensions["tessera"]``) first and returns
plain data (dicts, lists) ready for a template or JSON.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tessera.automation import checks, tables
from tessera.automation.workflows import find_workflow, paused, set_paused, workflows_of
from tessera.errors import BadRequest, NotFound
from tessera.meta.model import thaw

runs, steps = tables.runs, tables.steps


def list_runs(
    tessera: Any,
    *,
    app_id: str | None = None,
    workflow_key: str | None = None,
    status: str | None = None,
    record_type: str | None = None,
    record_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Runs, newest first, filtered; page with ``before_id`` (the last id of the previous page)."""
    query = sa.select(runs).order_by(runs.c.id.desc()).limit(max(1, min(limit, 500)))
    for column, value in (
        (runs.c.app_id, app_id), (runs.c.workflow_key, workflow_key), (runs.c.status, status),
        (runs.c.record_type, record_type), (runs.c.record_id, record_id),
    ):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    if before_id is not None:
        query = query.where(runs.c.id < before_id)
    with tessera.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def get_run(tessera: Any, run_id: int) -> dict[str, Any]:
    """One run with its steps in execution order (``steps``: path, action, status, input,
    output, error, attempts, duration_ms)."""
    with tessera.engine.connect() as conn:
        run = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
        if run is None:
            raise NotFound(f"run {run_id} does not exist")
        rows = conn.execute(sa.select(steps).where(steps.c.run_id == run_id).order_by(steps.c.id))
        return {**dict(run), "steps": [dict(s) for s in rows.mappings()]}


def retry_run(tessera: Any, run_id: int) -> dict[str, Any]:
    """Re-run a failed or stopped run from its failed step (done steps are not repeated)."""
    run = get_run(tessera, run_id)
    if run["status"] not in ("failed", "stopped"):
        raise BadRequest(
            f"run {run_id} is {run['status']}; only failed or stopped runs can be retried"
        )
    with tessera.engine.begin() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.id == run_id)
            .values(
                status="pending",
                error=None,
                lease_owner=None,
                lease_until=None,
                depth=0 if run["status"] == "stopped" else run["depth"],
            )  # fmt: skip
        )
    _submit(tessera, [run_id])
    return get_run(tessera, run_id)


def pause_workflow(tessera: Any, app_id: str, key: str) -> None:
    """Pause a workflow: its triggers are ignored until it is resumed."""
    _workflow(tessera, app_id, key)
    set_paused(tessera.engine, app_id, key, True)


def resume_workflow(tessera: Any, app_id: str, key: str) -> None:
    """Resume a paused workflow."""
    _workflow(tessera, app_id, key)
    set_paused(tessera.engine, app_id, key, False)


def list_workflows(tessera: Any, app_id: str) -> list[dict[str, Any]]:
    """The app's workflows with trigger, paused flag, last run and failed-run count."""
    wfs = workflows_of(tessera, app_id)
    with tessera.engine.connect() as conn:
        stopped = paused(conn, app_id)
        failed = dict(conn.execute(
            sa.select(runs.c.workflow_key, sa.func.count())
            .where(runs.c.app_id == app_id, runs.c.status == "failed")
            .group_by(runs.c.workflow_key)
        ).all())  # fmt: skip
        last = dict(conn.execute(
            sa.select(runs.c.workflow_key, sa.func.max(runs.c.created_at))
            .where(runs.c.app_id == app_id).group_by(runs.c.workflow_key)
        ).all())  # fmt: skip
    app = tessera.registry.app(app_id)
    warnings = {p.path: p.message for p in checks.loop_warnings(app, wfs)}
    return [
        {
            "key": w.key,
            "label": thaw(w.label),
            "record_type": w.record_type,
            "trigger": thaw(w.trigger),
            "enabled": w.enabled,
            "paused": w.key in stopped,
            "failed_runs": failed.get(w.key, 0),
            "last_run_at": last.get(w.key),
            "warning": warnings.get(f"workflows[{i}]"),
        }  # fmt: skip
        for i, w in enumerate(wfs)
    ]


def test_workflow(
    tessera: Any, app_id: str, key: str, record_id: int | None = None
) -> dict[str, Any]:
    """Test mode: the condition result and what each action would do; nothing is changed."""
    return tessera.automation.engine.test_run(app_id, key, record_id)


def run_manual(
    tessera: Any, app_id: str, key: str, record_ids: list[int], user_id: int | None
) -> list[int]:
    """Start a ``manual`` workflow on records (a button or bulk action); the run ids."""
    wf = _workflow(tessera, app_id, key)
    if wf.trigger.get("on") != "manual":
        raise BadRequest(f"workflow {key!r} is triggered by {wf.trigger.get('on')}, not manual")
    batch = uuid.uuid4().hex
    ids = [
        tessera.automation.engine.ensure_run(
            key=f"manual:{batch}|{app_id}|{key}|{rid}",
            app_id=app_id,
            wf=wf,
            record_id=rid,
            trigger="manual",
            context={"user_id": user_id},
        )  # fmt: skip
        for rid in (record_ids or [None])
    ]
    _submit(tessera, ids)
    return ids


def submit_form(
    tessera: Any, app_id: str, form_key: str, record_id: int, user_id: int | None
) -> list[int]:
    """Start the ``form.submitted`` workflows of a form after its record was saved; run ids."""
    ids = []
    with tessera.engine.connect() as conn:
        stopped = paused(conn, app_id)
    for wf in workflows_of(tessera, app_id):
        if (
            wf.trigger.get("on") == "form.submitted"
            and wf.trigger.get("form") == form_key
            and wf.enabled
        ):
            if wf.key in stopped:
                continue
            ids.append(tessera.automation.engine.ensure_run(
                key=f"form:{uuid.uuid4().hex}|{app_id}|{wf.key}|{record_id}", app_id=app_id, wf=wf,
                record_id=record_id, trigger="form.submitted", context={"user_id": user_id},
            ))  # fmt: skip
    _submit(tessera, ids)
    return ids


def receive_webhook(tessera: Any, app_id: str, key: str, secret: str | None, payload: Any) -> int:
    """An incoming webhook call: check the secret, start the workflow with ``vars.payload``."""
    wf = _workflow(tessera, app_id, key)
    if wf.trigger.get("on") != "webhook":
        raise NotFound(f"workflow {key!r} has no incoming webhook")
    expected = wf.trigger.get("secret")
    if not expected or not hmac.compare_digest(str(secret or ""), str(expected)):
        raise BadRequest("wrong webhook secret")
    run_id = tessera.automation.engine.ensure_run(
        key=f"hook:{uuid.uuid4().hex}|{app_id}|{key}|", app_id=app_id, wf=wf, record_id=None,
        trigger="webhook", context={"payload": payload},
    )  # fmt: skip
    with tessera.engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run_id).values(vars={"payload": payload}))
    _submit(tessera, [run_id])
    return run_id


def notifications(
    tessera: Any, user_id: int, *, unread_only: bool = False, limit: int = 50
) -> list[dict[str, Any]]:
    """A user's in-app notifications, newest first."""
    n = tables.notifications
    query = sa.select(n).where(n.c.user_id == user_id).order_by(n.c.id.desc()).limit(limit)
    if unread_only:
        query = query.where(n.c.read_at.is_(None))
    with tessera.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def unread_count(tessera: Any, user_id: int) -> int:
    """How many unread notifications the bell shows."""
    n = tables.notifications
    query = sa.select(sa.func.count()).where(n.c.user_id == user_id, n.c.read_at.is_(None))
    with tessera.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def mark_read(tessera: Any, user_id: int, ids: list[int] | None = None) -> int:
    """Mark a user's notifications read (all when ``ids`` is None); how many changed."""
    n = tables.notifications
    query = n.update().where(n.c.user_id == user_id, n.c.read_at.is_(None))
    if ids is not None:
        query = query.where(n.c.id.in_(ids))
    with tessera.engine.begin() as conn:
        return conn.execute(query.values(read_at=datetime.now(UTC))).rowcount


def mail_outbox(tessera: Any, limit: int = 50) -> list[dict[str, Any]]:
    """E-mails written to the local outbox (no SMTP_HOST), newest first."""
    m = tables.mail_outbox
    with tessera.engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(sa.select(m).order_by(m.c.id.desc()).limit(limit)).mappings()
        ]


def queue_stats(tessera: Any) -> dict[str, Any]:
    """Queue depth, scheduled/started/failed job counts and live workers with heartbeats."""
    return tessera.automation.queue_stats()


def _workflow(tessera: Any, app_id: str, key: str):
    wf = find_workflow(tessera, app_id, key)
    if wf is None:
        raise NotFound(f"app {app_id!r} has no workflow {key!r}")
    return wf


def _submit(tessera: Any, run_ids: list[int]) -> None:
    auto = tessera.automation
    if auto._autostart() and not auto.running:
        auto.start()
    for run_id in run_ids:
        auto.enqueue_run(run_id)
