"""UTC ⇄ local conversion: both ways, DST gaps and repeats, dates untouched."""

from __future__ import annotations

import datetime as dt

from tessera import timezones

SHANGHAI = timezones.zone("Asia/Shanghai")
NEW_YORK = timezones.zone("America/New_York")


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_zone_falls_back_on_the_default_then_utc():
    assert str(timezones.zone("Asia/Shanghai")) == "Asia/Shanghai"
    assert str(timezones.zone(None, "Europe/Berlin")) == "Europe/Berlin"
    assert timezones.zone("Mars/Olympus", "nope") is dt.UTC
    assert timezones.zone(None) is dt.UTC


def test_shanghai_both_ways():
    stored = timezones.from_local(dt.datetime(2026, 12, 8, 10, 0), SHANGHAI)
    assert stored == utc(2026, 12, 8, 2, 0)
    assert timezones.to_local(stored, SHANGHAI).replace(tzinfo=None) == dt.datetime(
        2026, 12, 8, 10, 0
    )
    naive_utc = dt.datetime(2026, 12, 8, 2, 0)  # SQLite hands back naive UTC
    assert timezones.to_local(naive_utc, SHANGHAI).hour == 10


def test_new_york_summer_and_winter():
    assert timezones.from_local(dt.datetime(2026, 7, 1, 9, 0), NEW_YORK) == utc(2026, 7, 1, 13)
    assert timezones.from_local(dt.datetime(2026, 12, 1, 9, 0), NEW_YORK) == utc(2026, 12, 1, 14)
    assert timezones.to_local(utc(2026, 7, 1, 13), NEW_YORK).hour == 9
    assert timezones.to_local(utc(2026, 12, 1, 14), NEW_YORK).hour == 9


def test_a_time_the_dst_jump_skips_moves_forward():
    # 2026-03-08 02:30 does not exist in New York (02:00 -> 03:00): it is 03:30 EDT
    assert timezones.from_local(dt.datetime(2026, 3, 8, 2, 30), NEW_YORK) == utc(2026, 3, 8, 7, 30)


def test_a_repeated_hour_takes_its_first_occurrence():
    # 2026-11-01 01:30 happens twice in New York: the first is EDT (UTC-4)
    assert timezones.from_local(dt.datetime(2026, 11, 1, 1, 30), NEW_YORK) == utc(
        2026, 11, 1, 5, 30
    )


def test_round_trip_over_a_whole_dst_year():
    moment = utc(2026, 1, 1)
    while moment.year == 2026:
        local = timezones.to_local(moment, NEW_YORK).replace(tzinfo=None)
        back = timezones.from_local(local, NEW_YORK)
        # only the repeated hour is ambiguous: its second occurrence maps to the first
        assert back == moment or back == moment - dt.timedelta(hours=1)
        moment += dt.timedelta(minutes=97)


def test_aware_input_is_already_a_moment():
    aware = dt.datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI)
    assert timezones.from_local(aware, NEW_YORK) == utc(2026, 12, 8, 2, 0)


def test_today_is_the_local_calendar_day():
    late_utc = utc(2026, 12, 8, 20, 0)  # 04:00 on the 9th in Shanghai
    assert timezones.today(SHANGHAI, late_utc) == dt.date(2026, 12, 9)
    assert timezones.today(NEW_YORK, late_utc) == dt.date(2026, 12, 8)
