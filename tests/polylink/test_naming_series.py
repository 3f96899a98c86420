"""Naming series: auto_number patterns with date parts and per-period counters."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from tessera.fields import series
from tessera.storage.system import sequences

UTC = dt.UTC


def test_render_and_period():
    when = dt.datetime(2026, 3, 5, 10, tzinfo=UTC)
    assert series.render("CRM-LEAD-{YYYY}-{#####}", 42, when) == "CRM-LEAD-2026-00042"
    assert series.render("SO{YY}{MM}{DD}-{###}", 7, when) == "SO260305-007"
    assert series.render("N-{##}", 12345, when) == "N-12345"  # never cut
    assert series.period("X-{YYYY}-{#}", when) == "2026"
    assert series.period("X-{YY}{MM}-{#}", when) == "2026-03"
    assert series.period("X-{YYYY}{MM}{DD}-{#}", when) == "2026-03-05"
    assert series.period("X-{####}", when) == ""


def test_local_time_decides_the_year():
    new_year_in_shanghai = dt.datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on Jan 1 there
    assert series.local(new_year_in_shanghai, "Asia/Shanghai").year == 2027
    assert series.local(new_year_in_shanghai, None).year == 2026


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("L-{YYYY}", "a naming series needs exactly one counter {###}, found no counter"),
        ("L-{#}-{##}", "a naming series needs exactly one counter {###}, found 2 counters"),
        ("L-{YYYYY}-{###}", 'unknown placeholder "{YYYYY}"'),
        ("L-{MM}-{###}", "{MM} without a year"),
        ("L-{YYYY}{DD}-{###}", "{DD} without a month"),
        ("L-{YYYY-{###}", "unbalanced { or } in the pattern"),
        ("L-{" + "#" * 21 + "}", "a counter is at most 20 digits wide"),
        ("L" * 50 + "-{YYYY}-{##########}", "labels would be longer than 64 characters"),
    ],
)
def test_pattern_problems(fmt, message):
    assert any(message in m for m, _hint in series.problems(fmt)), series.problems(fmt)


def _clock(records, when: dt.datetime) -> None:
    records.clock = lambda: when


def test_counter_restarts_each_year_and_keeps_earlier_numbers(sales):
    r = sales.records
    _clock(r, dt.datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    first = [r.create("sales", "lead", {"name": f"a{i}"})["number"] for i in range(2)]
    bulk = r.bulk_create("sales", "lead", [{"name": "b1"}, {"name": "b2"}])
    _clock(r, dt.datetime(2027, 1, 1, 0, 5, tzinfo=UTC))
    later = r.create("sales", "lead", {"name": "c"})["number"]
    assert first == ["LEAD-2026-0001", "LEAD-2026-0002"]
    assert [b["number"] for b in bulk] == ["LEAD-2026-0003", "LEAD-2026-0004"]
    assert later == "LEAD-2027-0001"
    with sales.engine.connect() as conn:
        counters = dict(conn.execute(sa.select(sequences.c.name, sequences.c.value)).all())
    assert counters["sales.lead.number@2026"] == 4
    assert counters["sales.lead.number@2027"] == 1
    numbers = [row["number"] for row in sales.queries.list("sales", "lead", sort="id").rows]
    assert numbers == [*first, "LEAD-2026-0003", "LEAD-2026-0004", later]


def test_a_failed_create_gives_its_number_back(sales):
    r = sales.records
    with pytest.raises(Exception):  # noqa: B017 - required name missing: nothing written
        r.create("sales", "lead", {})
    assert r.create("sales", "lead", {"name": "ok"})["number"].endswith("-0001")


def test_concurrent_writers_get_distinct_consecutive_numbers(sales):
    """Threads with their own connections: real concurrent writers on PostgreSQL, and
    SQLite's single writer on SQLite; either way the counter row is advanced atomically
    in each insert's own transaction."""
    r, errors, numbers = sales.records, [], []
    _clock(r, dt.datetime(2026, 6, 1, tzinfo=UTC))

    def worker(n: int) -> None:
        try:
            for i in range(5):
                numbers.append(r.create("sales", "lead", {"name": f"w{n}-{i}"})["number"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert sorted(numbers) == [f"LEAD-2026-{i:04d}" for i in range(1, 21)]


def test_switching_a_plain_number_to_a_series_keeps_existing_numbers(flask_app):
    import yaml
    from polylink_app import SALES

    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    plain = SALES.replace('format: "LEAD-{YYYY}-{####}"', 'prefix: "L-"\n        padding: 3')
    installer.install(t.engine, app_from_data(yaml.safe_load(plain)), plain)
    t.registry.reload()
    old = t.records.create("sales", "lead", {"name": "old"})["number"]
    data = yaml.safe_load(SALES)
    data["version"] = "1.1.0"
    installer.upgrade(t.engine, app_from_data(data), yaml.safe_dump(data))
    t.registry.reload()
    _clock(t.records, dt.datetime(2026, 5, 1, tzinfo=UTC))
    new = t.records.create("sales", "lead", {"name": "new"})["number"]
    assert old == "L-001"
    assert new == "LEAD-2026-0001"
    assert t.records.get("sales", "lead", 1)["number"] == "L-001"
