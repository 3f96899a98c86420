"""Date and cron triggers fire in the record owner's zone, else the app's (TIME_ZONE)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from automation_helpers import desk, drain, install, rows
from test_schedule import Clock, plans

from tessera import users
from tessera.automation import schedule, tables
from tessera.timezones import from_local, zone

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def t(quiet_app, quiet_users):
    tessera = quiet_app.extensions["tessera"]
    tessera.records.clock = Clock(T0)
    users.save_preferences(tessera.engine, quiet_users["ann"], timezone="Asia/Shanghai")
    return tessera


def remind(message: str = "call {{ record.name }}", **trigger) -> dict:
    return desk(
        [
            {
                "key": "remind",
                "record_type": "customer",
                "trigger": {"on": "date", "field": "next_at", **trigger},
                "actions": [{"do": "notify", "to": "ann", "message": message}],
            }
        ]
    )


def test_one_hour_before_a_local_10_00_fires_at_09_00_local(t, quiet_users):
    install(t, remind("call {{ record.name }} at {{ record.next_at }}", offset="-1h"))
    ten_local = from_local(datetime(2026, 12, 8, 10, 0), zone("Asia/Shanghai"))
    assert ten_local == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # stored 02:00 UTC
    c = t.records.create(
        "desk", "customer", {"name": "Acme", "owner": quiet_users["ann"], "next_at": ten_local}
    )
    drain(t)
    nine_local = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    assert plans(t) == [("remind", c["id"], nine_local, "planned")]
    t.records.clock.now = nine_local - timedelta(minutes=1)
    t.automation.sweep()
    drain(t)
    assert rows(t, tables.notifications) == []
    t.records.clock.now = nine_local + timedelta(seconds=5)
    t.automation.sweep()
    drain(t)
    # the message reads the time where the owner lives
    assert [n["message"] for n in rows(t, tables.notifications)] == [
        "call Acme at 2026-12-08 10:00"
    ]


def test_the_day_before_at_09_00_is_in_the_owners_zone(t, quiet_users):
    install(t, remind(offset="-1d", at="09:00"))
    t.config["TIME_ZONE"] = "America/New_York"
    moment = "2026-12-10T15:00:00Z"
    ann = t.records.create(
        "desk", "customer", {"name": "A", "owner": quiet_users["ann"], "next_at": moment}
    )
    bob = t.records.create(
        "desk", "customer", {"name": "B", "owner": quiet_users["bob"], "next_at": moment}
    )
    drain(t)
    due = {p[1]: p[2] for p in plans(t)}
    assert due[ann["id"]] == datetime(2026, 12, 9, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert due[bob["id"]] == datetime(2026, 12, 9, 14, 0, tzinfo=UTC)  # bob: the app's zone


def test_cron_fires_in_the_apps_zone(t):
    t.config["TIME_ZONE"] = "Asia/Shanghai"
    install(
        t,
        desk(
            [
                {
                    "key": "daily",
                    "trigger": {"on": "schedule", "cron": "0 9 * * *"},
                    "actions": [{"do": "notify", "to": "ann", "message": "morning"}],
                }
            ]
        ),
    )
    schedule.plan_all(t.automation)
    assert plans(t) == [("daily", None, datetime(2026, 12, 8, 1, 0, tzinfo=UTC), "planned")]
