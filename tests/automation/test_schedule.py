"""Cron and date triggers: planning, re-planning, firing once, missed schedules after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from automation_helpers import desk, drain, install, rows, run_rows

from tessera.automation import schedule, tables
from tessera.automation.engine import aware
from tessera.automation.timing import date_due, next_cron, parse_duration

T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # a Monday


class Clock:
    """A settable clock for the records service (and so the engine)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def t(quiet_app, quiet_users):
    tessera = quiet_app.extensions["tessera"]
    tessera.records.clock = Clock(T0)
    return tessera


def plans(t) -> list[tuple]:
    return [
        (p["workflow_key"], p["record_id"], aware(p["due_at"]), p["state"])
        for p in rows(t, tables.schedules)
    ]


def test_durations_cron_and_due_times():
    assert parse_duration("-1d") == timedelta(days=-1)
    assert parse_duration("+2h") == timedelta(hours=2)
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("1w") == timedelta(weeks=1)
    assert parse_duration("soon") is None and parse_duration(None) is None
    assert next_cron("0 9 * * *", T0) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # 09:00 in Shanghai is 01:00 UTC; 08:30 UTC is past it, so tomorrow
    assert next_cron("0 9 * * *", T0, "Asia/Shanghai") == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    trigger = {"on": "date", "field": "next_at", "offset": "-1d", "at": "09:00"}
    assert date_due(datetime(2026, 3, 5, 15, 0, tzinfo=UTC), trigger) == datetime(
        2026, 3, 4, 9, 0, tzinfo=UTC
    )
    zoned = {**trigger, "timezone": "Asia/Shanghai"}
    assert date_due("2026-03-05", zoned) == datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
    assert date_due(None, trigger) is None


def test_missed_cron_runs_once_after_downtime(t):
    install(
        t,
        desk(
            [
                {
                    "key": "hourly",
                    "trigger": {"on": "schedule", "cron": "0 * * * *"},
                    "actions": [{"do": "notify", "to": "ann", "message": "tick at {{ now }}"}],
                }
            ]
        ),
    )
    assert schedule.plan_all(t.automation) == 1
    assert plans(t) == [("hourly", None, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "planned")]
    t.records.clock.now = T0 + timedelta(hours=5)  # workers were down for five slots
    t.automation.sweep()
    drain(t)
    t.automation.sweep()
    drain(t)
    assert len(rows(t, tables.notifications)) == 1
    assert [(r["trigger"], r["status"]) for r in run_rows(t)] == [("schedule", "done")]
    assert plans(t) == [
        ("hourly", None, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "fired"),
        ("hourly", None, datetime(2026, 3, 2, 14, 0, tzinfo=UTC), "planned"),
    ]
    t.automation.enqueue_fire(1)  # a late duplicate of the first firing does nothing
    drain(t)
    assert len(rows(t, tables.notifications)) == 1


def test_cron_with_record_type_runs_on_matching_records(t):
    install(
        t,
        desk(
            [
                {
                    "key": "dormant",
                    "record_type": "customer",
                    "trigger": {"on": "schedule", "cron": "0 2 * * *"},
                    "when": {
                        "all": [
                            {"field": "status", "op": "eq", "value": "active"},
                            {"field": "updated_at", "op": "lt", "value": "-90d"},
                        ]
                    },
                    "actions": [{"do": "update_record", "values": {"status": "dormant"}}],
                }
            ]
        ),
    )
    t.records.clock.now = T0 - timedelta(days=100)
    old = t.records.create("desk", "customer", {"name": "old"})
    t.records.clock.now = T0
    new = t.records.create("desk", "customer", {"name": "new"})
    drain(t)
    schedule.plan_all(t.automation)
    t.records.clock.now = T0 + timedelta(days=1)
    t.automation.sweep()
    drain(t)
    assert t.records.get("desk", "customer", old["id"])["status"] == "dormant"
    assert t.records.get("desk", "customer", new["id"])["status"] == "active"
    assert [(r["record_id"], r["status"]) for r in run_rows(t) if r["trigger"] == "schedule"] == [
        (old["id"], "done")
    ]


def test_date_trigger_planned_replanned_fired_and_cancelled(t):
    install(
        t,
        desk(
            [
                {
                    "key": "remind",
                    "record_type": "customer",
                    "trigger": {"on": "date", "field": "next_at", "offset": "-1d", "at": "09:00"},
                    "actions": [{"do": "notify", "to": "ann", "message": "call {{ record.name }}"}],
                }
            ]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Acme", "next_at": "2026-03-05T15:00:00Z"})
    drain(t)
    assert plans(t) == [("remind", c["id"], datetime(2026, 3, 4, 9, 0, tzinfo=UTC), "planned")]
    t.records.update("desk", "customer", c["id"], {"next_at": "2026-03-10T15:00:00Z"})
    drain(t)
    assert [p[2:] for p in plans(t)] == [
        (datetime(2026, 3, 4, 9, 0, tzinfo=UTC), "cancelled"),
        (datetime(2026, 3, 9, 9, 0, tzinfo=UTC), "planned"),
    ]
    t.records.clock.now = datetime(2026, 3, 9, 9, 0, 5, tzinfo=UTC)
    t.automation.sweep()
    drain(t)
    assert [n["message"] for n in rows(t, tables.notifications)] == ["call Acme"]
    d = t.records.create("desk", "customer", {"name": "Later", "next_at": "2026-04-01T00:00:00Z"})
    drain(t)
    t.records.delete("desk", "customer", d["id"])
    drain(t)
    assert plans(t)[-1][1:] == (d["id"], datetime(2026, 3, 31, 9, 0, tzinfo=UTC), "cancelled")


def test_plan_all_covers_existing_records_once(t):
    install(t, desk([]))
    t.records.create("desk", "customer", {"name": "A", "next_at": "2026-03-05T15:00:00Z"})
    t.records.create("desk", "customer", {"name": "B"})
    install(
        t,
        {
            **desk(
                [
                    {
                        "key": "remind",
                        "record_type": "customer",
                        "trigger": {"on": "date", "field": "next_at"},
                        "actions": [{"do": "notify", "to": "ann", "message": "x"}],
                    }
                ]
            ),
            "version": "1.1.0",
        },
    )
    assert schedule.plan_all(t.automation) == 1
    assert schedule.plan_all(t.automation) == 0
