"""Records service: create/update/delete with validation, audit, outbox, links, rollups."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tessera.errors import Conflict, NotFound, ValidationFailed
from tessera.records.actor import Actor
from tessera.storage.events import audit_log, outbox

ALICE = Actor(user_id=None, kind="user", ref="alice")


def _count(t, table) -> int:
    with t.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _rows(t, rt="project"):
    return _count(t, t.registry.table("tracker", rt))


def test_create_cleans_values_fills_defaults_and_numbers(records):
    rec = records.create("tracker", "project", {"name": "Apollo", "budget": "1200.5"})
    assert rec["code"] == "PRJ-0001"
    assert rec["status"] == "active"
    assert rec["budget"] == Decimal("1200.50")
    assert rec["version"] == 1
    second = records.create("tracker", "project", {"name": "Gemini"})
    assert second["code"] == "PRJ-0002"
    assert records.get("tracker", "project", rec["id"])["name"] == "Apollo"


def test_create_collects_every_field_error_and_writes_nothing(records, tessera):
    with pytest.raises(ValidationFailed) as info:
        records.create("tracker", "project", {"budget": "-5", "status": "gone", "nope": 1})
    fields = info.value.fields
    assert set(fields) == {"name", "budget", "status", "nope"}
    assert fields["name"] == ["required"]
    assert fields["nope"] == ["unknown field"]
    assert _rows(tessera) == 0
    assert _count(tessera, audit_log) == 0
    assert _count(tessera, outbox) == 0


def test_computed_and_system_fields_cannot_be_written(records):
    with pytest.raises(ValidationFailed) as info:
        records.create("tracker", "project", {"name": "X", "task_count": 3, "id": 9})
    assert "computed" in info.value.fields["task_count"][0]
    assert "system" in info.value.fields["id"][0]


def test_unique_field_is_checked_before_writing(records, tessera):
    records.create("tracker", "project", {"name": "Apollo"})
    with pytest.raises(ValidationFailed) as info:
        records.create("tracker", "project", {"name": "Apollo"})
    assert "already used" in info.value.fields["name"][0]
    assert _rows(tessera) == 1


def test_bulk_create_is_all_or_nothing_with_errors_per_row(records, tessera):
    rows = [{"name": "A"}, {"name": "B", "budget": "x"}, {"name": "A"}]
    with pytest.raises(ValidationFailed) as info:
        records.bulk_create("tracker", "project", rows)
    assert set(info.value.rows) == {"1", "2"}
    assert "budget" in info.value.rows["1"]
    assert "already used" in info.value.rows["2"]["name"][0]
    assert _rows(tessera) == 0
    made = records.bulk_create("tracker", "project", [{"name": f"P{i}"} for i in range(5)])
    assert [r["code"] for r in made] == [f"PRJ-000{i}" for i in range(1, 6)]
    assert _count(tessera, audit_log) == 5 and _count(tessera, outbox) == 5


def test_audit_and_outbox_written_with_the_change(records, tessera):
    rec = records.create("tracker", "project", {"name": "Apollo"}, ALICE)
    records.update("tracker", "project", rec["id"], {"budget": 10}, ALICE)
    history = records.history("tracker", "project", rec["id"])
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["changes"] == {"budget": [None, "10.00"]}
    assert history[1]["actor_kind"] == "user" and history[1]["actor_ref"] == "alice"
    with tessera.engine.connect() as conn:
        events = conn.execute(
            sa.select(outbox.c.event, outbox.c.payload).order_by(outbox.c.id)
        ).all()
    assert [e.event for e in events] == ["record.created", "record.updated"]
    assert events[1].payload["changes"] == {"budget": [None, "10.00"]}


def test_values_as_of_a_past_moment(tessera):
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    tessera.records.clock = lambda: clock[0]
    rec = tessera.records.create("tracker", "project", {"name": "Apollo", "budget": 5})
    clock[0] += timedelta(days=1)
    tessera.records.update("tracker", "project", rec["id"], {"budget": 7})
    past = tessera.records.as_of(
        "tracker", "project", rec["id"], datetime(2026, 1, 1, 12, tzinfo=UTC)
    )
    assert past["budget"] == "5.00"
    now = tessera.records.as_of("tracker", "project", rec["id"], clock[0])
    assert now["budget"] == "7.00"
    assert (
        tessera.records.as_of("tracker", "project", rec["id"], datetime(2025, 1, 1, tzinfo=UTC))
        is None
    )


def test_stale_version_is_refused_with_who_and_when(records):
    rec = records.create("tracker", "project", {"name": "Apollo"})
    records.update("tracker", "project", rec["id"], {"budget": 1}, version=1)
    with pytest.raises(Conflict) as info:
        records.update("tracker", "project", rec["id"], {"budget": 2}, version=1)
    assert "version 2" in info.value.message
    assert info.value.details["version"] == 2
    assert records.get("tracker", "project", rec["id"])["budget"] == Decimal("1.00")


def test_update_unknown_record_is_not_found(records):
    with pytest.raises(NotFound):
        records.update("tracker", "project", 999, {"name": "x"})
    with pytest.raises(NotFound):
        records.create("tracker", "nope", {})
    with pytest.raises(NotFound):
        records.create("nope", "project", {})


def test_links_must_exist(records, tessera):
    with pytest.raises(ValidationFailed) as info:
        records.create("tracker", "task", {"title": "T", "project": 42})
    assert info.value.fields["project"] == ["no Project with id 42"]
    with pytest.raises(ValidationFailed) as info:
        records.create("tracker", "project", {"name": "P", "owner": 77, "members": [5]})
    assert "no user with id 77" in info.value.fields["owner"][0]
    assert "no Person with id 5" in info.value.fields["members"][0]
    assert _rows(tessera, "task") == 0


def test_formula_lookup_rollup_and_link_many(records):
    p = records.create("tracker", "project", {"name": "P", "status": "paused"})
    ada = records.create("tracker", "person", {"name": "Ada"})
    records.update("tracker", "project", p["id"], {"members": [ada["id"]]})
    t1 = records.create("tracker", "task", {"title": "a", "project": p["id"], "hours": "1.5"})
    records.create("tracker", "task", {"title": "b", "project": p["id"], "hours": 2})
    assert t1["cost"] == 150
    got = records.get("tracker", "task", t1["id"])
    assert got["project_status"] == "paused"
    project = records.get("tracker", "project", p["id"])
    assert project["task_count"] == 2
    assert Decimal(str(project["hours_total"])) == Decimal("3.5")
    assert project["members"] == [ada["id"]]
    records.delete("tracker", "task", t1["id"])
    assert records.get("tracker", "project", p["id"])["task_count"] == 1


def test_record_validation_rule(records, tessera):
    p = records.create("tracker", "project", {"name": "P"})
    with pytest.raises(ValidationFailed) as info:
        records.create("tracker", "task", {"title": "t", "project": p["id"], "done": True})
    assert info.value.fields == {"hours": ["a done task needs its hours"]}
    zh = Actor(locale="zh-CN")
    with pytest.raises(ValidationFailed) as info:
        records.create("tracker", "task", {"title": "t", "project": p["id"], "done": "on"}, zh)
    assert info.value.fields == {"hours": ["已完成的任务需要工时"]}
    assert _rows(tessera, "task") == 0


def test_on_delete_rules(records, tessera):
    p = records.create("tracker", "project", {"name": "P"})
    task = records.create("tracker", "task", {"title": "t", "project": p["id"]})
    note = records.create("tracker", "note", {"body": "n", "project": p["id"]})
    stone = records.create("tracker", "milestone", {"name": "m", "project": p["id"]})
    with pytest.raises(Conflict) as info:
        records.delete("tracker", "project", p["id"])
    assert f"#{stone['id']}" in info.value.message and "cannot delete" in info.value.message
    assert _rows(tessera, "task") == 1  # nothing was deleted
    records.delete("tracker", "milestone", stone["id"])
    records.delete("tracker", "project", p["id"])
    with pytest.raises(NotFound):
        records.get("tracker", "task", task["id"])
    assert records.get("tracker", "note", note["id"])["project"] is None
    actions = [h["action"] for h in records.history("tracker", "task", task["id"])]
    assert actions == ["create", "delete"]  # the cascade is audited too


def test_concurrent_auto_numbers_are_unique(records):
    codes, errors = [], []

    def worker(n: int):
        try:
            for i in range(5):
                codes.append(records.create("tracker", "project", {"name": f"w{n}-{i}"})["code"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert sorted(codes) == [f"PRJ-{i:04d}" for i in range(1, 21)]


def test_bulk_create_audit_and_outbox_equal_those_of_single_creates(records, tessera):
    """The bulk path builds audit changes in one pass per row: same content as create()."""
    people = records.bulk_create("tracker", "person", [{"name": "P1"}, {"name": "P2"}])
    rows = [
        {"name": "A", "budget": "12.5", "tags": ["blue", "red"], "members": [people[0]["id"]]},
        {"name": "B", "status": "paused", "members": []},
        {"name": "C", "budget": 0, "tags": []},
    ]
    singles = [records.create("tracker", "project", {**r, "name": f"s{r['name']}"}) for r in rows]
    bulk = records.bulk_create("tracker", "project", [{**r, "name": f"b{r['name']}"} for r in rows])
    tasks = [
        {"title": "t", "project": singles[0]["id"], "hours": "1.5", "due": "2026-03-01"},
        {"title": "u", "project": singles[1]["id"], "done": True, "hours": 2},
    ]
    single_tasks = [records.create("tracker", "task", t) for t in tasks]
    bulk_tasks = records.bulk_create("tracker", "task", tasks)

    def logged(rt, rec):
        with tessera.engine.connect() as conn:
            audit = conn.execute(
                sa.select(audit_log.c.changes).where(
                    audit_log.c.record_type == rt, audit_log.c.record_id == rec["id"]
                )
            ).scalar_one()
            event = conn.execute(
                sa.select(outbox.c.payload).where(
                    outbox.c.record_type == rt, outbox.c.record_id == rec["id"]
                )
            ).scalar_one()
        assert event["changes"] == audit
        return {k: v for k, v in audit.items() if k not in ("code", "name")}

    for one, many in zip(singles, bulk, strict=True):
        assert logged("project", one) == logged("project", many)
    assert logged("project", bulk[0]) == {
        "budget": [None, "12.50"],
        "tags": [None, ["red", "blue"]],
        "status": [None, "active"],
        "members": [None, [people[0]["id"]]],
    }
    assert logged("project", bulk[2]) == {"budget": [None, "0.00"], "status": [None, "active"]}
    for one, many in zip(single_tasks, bulk_tasks, strict=True):
        assert logged("task", one) == logged("task", many)
    assert logged("task", bulk_tasks[0]) == {
        "title": [None, "t"],
        "project": [None, singles[0]["id"]],
        "hours": [None, "1.5"],
        "due": [None, "2026-03-01"],
        "done": [None, False],
        "cost": [None, "150.00"],
    }
