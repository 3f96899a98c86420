"""Cron (``schedule``) and ``date`` triggers: planned rows + RQ ``enqueue_at``.

Each target (a cron workflow, or a date workflow and one record) has at most one
``planned`` row. RQ's scheduler enqueues ``fire_schedule`` at the due time; the sweep
also enqueues plans found overdue (Redis lost or workers down), and firing claims the
row first, so a plan fires once however often it is enqueued. A cron workflow plans its
next firing from *now* after it fires, so a schedule missed during downtime runs once,
not once per missed slot. Date plans are re-planned when their record changes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tessera.automation import tables
from tessera.automation.engine import aware
from tessera.automation.timing import date_due, next_cron
from tessera.automation.workflows import find_workflow, paused, workflows_of
from tessera.errors import NotFound
from tessera.meta.model import Workflow, thaw
from tessera.query import conditions
from tessera.query.policy import scoped_select
from tessera.users import time_zone_of

log = logging.getLogger("tessera.automation")
plans = tables.schedules


def _zone(auto) -> str | None:
    """The app's zone for schedules: AUTOMATION_TIMEZONE, else the installation's TIME_ZONE."""
    return auto.config.get("AUTOMATION_TIMEZONE") or auto.config.get("TIME_ZONE")


def _owner_zone(auto, app_id: str, wf: Workflow, record: Mapping[str, Any]) -> str | None:
    """The time zone of the record's owner (its ``owner`` user field, else its creator):
    "the day before at 09:00" is 09:00 where the person who gets the reminder lives."""
    app = auto.tessera.registry.apps.get(app_id)
    rt = app.record_type(wf.record_type) if app and app.has_record_type(wf.record_type) else None
    owner_key = (
        "owner" if rt and rt.has_field("owner") and rt.field("owner").type == "user" else None
    )
    user_id = record.get(owner_key) if owner_key else None
    user_id = user_id or record.get("created_by")
    if not isinstance(user_id, int):
        return None
    return time_zone_of(auto.tessera.engine, user_id)


def _add_plan(auto, conn, app_id: str, wf: Workflow, record_id: int | None, due: datetime) -> int:
    return conn.execute(
        plans.insert().values(
            app_id=app_id,
            workflow_key=wf.key,
            record_id=record_id,
            due_at=due,
            state="planned",
            created_at=auto.engine.now(),
        )  # fmt: skip
    ).inserted_primary_key[0]


def _cancel(conn, app_id: str, wf_key: str, record_id: int | None) -> None:
    where = [plans.c.app_id == app_id, plans.c.workflow_key == wf_key, plans.c.state == "planned"]
    where.append(
        plans.c.record_id.is_(None) if record_id is None else plans.c.record_id == record_id
    )
    conn.execute(plans.update().where(*where).values(state="cancelled"))


def plan_cron(auto, app_id: str, wf: Workflow, after: datetime | None = None) -> int | None:
    """Plan the next firing of a cron workflow unless one is planned; the plan id or None."""
    with auto.tessera.engine.begin() as conn:
        if _planned(conn, app_id, wf.key, None):
            return None
        due = next_cron(
            wf.trigger["cron"],
            after or auto.engine.now(),
            wf.trigger.get("timezone") or _zone(auto),
        )
        plan_id = _add_plan(auto, conn, app_id, wf, None, due)
    auto.enqueue_fire(plan_id, due)
    return plan_id


def _planned(conn, app_id: str, wf_key: str, record_id: int | None) -> bool:
    where = [plans.c.app_id == app_id, plans.c.workflow_key == wf_key, plans.c.state == "planned"]
    where.append(
        plans.c.record_id.is_(None) if record_id is None else plans.c.record_id == record_id
    )
    return conn.execute(sa.select(plans.c.id).where(*where).limit(1)).first() is not None


def plan_record(
    auto, app_id: str, wf: Workflow, record: Mapping[str, Any] | None, record_id: int
) -> None:
    """(Re-)plan a date workflow for one record; a deleted record (None) cancels its plan."""
    due = None
    if record:
        zone = _owner_zone(auto, app_id, wf, record) or _zone(auto)
        due = date_due(record.get(wf.trigger["field"]), thaw(wf.trigger), zone)
    with auto.tessera.engine.begin() as conn:
        _cancel(conn, app_id, wf.key, record_id)
        if due is None or due <= auto.engine.now():
            return  # a moment already past is not fired retroactively
        plan_id = _add_plan(auto, conn, app_id, wf, record_id, due)
    auto.enqueue_fire(plan_id, due)


def replan_for_event(auto, event: Mapping[str, Any]) -> None:
    """After a record event: re-plan the date workflows of that record type."""
    for wf in workflows_of(auto.tessera, event["app_id"]):
        if (
            wf.trigger.get("on") != "date"
            or wf.record_type != event["record_type"]
            or not wf.enabled
        ):
            continue
        changes = (event["payload"] or {}).get("changes", {})
        if event["event"] == "record.updated" and wf.trigger["field"] not in changes:
            continue
        record = None
        if event["event"] != "record.deleted":
            try:
                record = auto.tessera.records.get(
                    event["app_id"], wf.record_type, event["record_id"]
                )
            except NotFound:
                record = None
        plan_record(auto, event["app_id"], wf, record, event["record_id"])


def plan_all(auto) -> int:
    """Plan every enabled cron workflow and every record of date workflows that has no plan."""
    count = 0
    for app_id in list(auto.tessera.registry.apps):
        for wf in workflows_of(auto.tessera, app_id):
            on = wf.trigger.get("on")
            if not wf.enabled or on not in ("schedule", "date"):
                continue
            if on == "schedule":
                count += plan_cron(auto, app_id, wf) is not None
            else:
                count += _plan_records(auto, app_id, wf)
    return count


def _plan_records(auto, app_id: str, wf: Workflow) -> int:
    table = auto.tessera.registry.table(app_id, wf.record_type)
    column = table.c[wf.trigger["field"]]
    with auto.tessera.engine.connect() as conn:
        have = set(
            conn.scalars(
                sa.select(plans.c.record_id).where(
                    plans.c.app_id == app_id,
                    plans.c.workflow_key == wf.key,
                    plans.c.state == "planned",
                )
            )
        )
        app = auto.tessera.registry.app(app_id)
        rt = app.record_type(wf.record_type)
        query = scoped_select(app, rt, table, None, table.c.id, column)
        rows = conn.execute(query.where(column.is_not(None))).all()
    count = 0
    for rid, value in rows:
        if rid not in have:
            plan_record(auto, app_id, wf, {wf.trigger["field"]: value}, rid)
            count += 1
    return count


def fire(auto, plan_id: int) -> list[int]:
    """Claim plan ``plan_id`` and create its runs (ids returned); later calls do nothing."""
    with auto.tessera.engine.begin() as conn:
        plan = conn.execute(sa.select(plans).where(plans.c.id == plan_id)).mappings().first()
        if plan is None or plan["state"] != "planned":
            return []
        if aware(plan["due_at"]) > auto.engine.now() + timedelta(seconds=1):
            return []  # early (clock skew, a stray duplicate): the sweep fires it when due
        claimed = conn.execute(
            plans.update()
            .where(plans.c.id == plan_id, plans.c.state == "planned")
            .values(state="fired")
        ).rowcount
        stopped = paused(conn, plan["app_id"])
    if not claimed:
        return []
    wf = find_workflow(auto.tessera, plan["app_id"], plan["workflow_key"])
    if wf is None or not wf.enabled:
        return []
    if wf.trigger.get("on") == "schedule":
        plan_cron(auto, plan["app_id"], wf)  # from now: missed slots collapse into this one
    if wf.key in stopped:
        log.info("workflow %s is paused; planned firing %s skipped", wf.key, plan_id)
        return []
    targets = (
        [plan["record_id"]]
        if plan["record_id"] is not None
        else _cron_targets(auto, plan["app_id"], wf)
    )
    trigger = "schedule" if plan["record_id"] is None else "date"
    return [
        auto.engine.ensure_run(
            key=f"plan:{plan_id}|{plan['app_id']}|{wf.key}|{rid}",
            app_id=plan["app_id"],
            wf=wf,
            record_id=rid,
            trigger=trigger,
            context={"due_at": aware(plan["due_at"]).isoformat()},
        )  # fmt: skip
        for rid in targets
    ]


def _cron_targets(auto, app_id: str, wf: Workflow) -> list[int | None]:
    """Records a scheduled workflow runs on: those matching ``when`` (pre-filtered in SQL)."""
    if not wf.record_type:
        return [None]
    app = auto.tessera.registry.app(app_id)
    rt = app.record_type(wf.record_type)
    tables_ = auto.tessera.registry.tables[app_id]
    table = tables_[rt.key]
    query = scoped_select(app, rt, table, None, table.c.id).order_by(table.c.id)
    # change operators have no SQL form: then every record is checked in Python
    with contextlib.suppress(conditions.ConditionError):
        if wf.when:
            now = auto.engine.now()
            query = query.where(
                conditions.to_sql(thaw(wf.when), rt, app, tables_, me=None, now=now)
            )
    with auto.tessera.engine.connect() as conn:
        return list(conn.scalars(query))


def overdue(auto, grace: timedelta) -> list[int]:
    """Planned firings whose time passed more than ``grace`` ago (missed by RQ's scheduler)."""
    with auto.tessera.engine.connect() as conn:
        return list(
            conn.scalars(
                sa.select(plans.c.id)
                .where(plans.c.state == "planned", plans.c.due_at < auto.engine.now() - grace)
                .order_by(plans.c.due_at)
                .limit(500)
            )
        )
