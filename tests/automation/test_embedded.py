"""Integration with the embedded default: fakeredis, a worker thread, the relay thread."""

from __future__ import annotations

import sqlalchemy as sa
from automation_helpers import desk, install

from tessera.automation import tables


def _t(app):
    return app.extensions["tessera"]


def test_record_change_runs_workflow_and_notifies(auto_app, users):
    t = _t(auto_app)
    install(
        t,
        desk(
            [
                {
                    "key": "vip_alert",
                    "record_type": "customer",
                    "trigger": {"on": "field.changed", "fields": ["status"]},
                    "when": {"field": "status", "op": "changed_to", "value": "vip"},
                    "actions": [
                        {
                            "do": "notify",
                            "to": "{{ record.owner }}",
                            "message": "{{ record.name }} is VIP now",
                        },
                        {"do": "update_record", "values": {"score": 100}},
                    ],
                }
            ]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Acme", "owner": users["ann"]})
    t.records.update("desk", "customer", c["id"], {"status": "vip"})
    assert t.automation.wait_idle(10)
    with t.engine.connect() as conn:
        notes = conn.execute(sa.select(tables.notifications)).mappings().all()
        runs = conn.execute(sa.select(tables.runs).order_by(tables.runs.c.id)).mappings().all()
    assert [(n["user_id"], n["message"]) for n in notes] == [(users["ann"], "Acme is VIP now")]
    assert t.records.get("desk", "customer", c["id"])["score"] == 100
    # field.changed also looks at creation (status got its default); its condition was false
    assert [(r["trigger"], r["status"], r["condition"]) for r in runs] == [
        ("record.created", "skipped", False),
        ("record.updated", "done", True),
    ]


def test_many_changes_and_a_poisoned_workflow_in_the_embedded_worker(auto_app, users):
    from automation_helpers import rows, run_rows

    t = _t(auto_app)
    install(
        t,
        desk(
            [
                {
                    "key": "bad",
                    "record_type": "customer",
                    "trigger": {"on": "record.created"},
                    "when": {"field": "name", "op": "eq", "value": "c7"},
                    "actions": [{"do": "notify", "to": "no_such_user", "message": "x"}],
                },
                {
                    "key": "good",
                    "record_type": "customer",
                    "trigger": {"on": "record.created"},
                    "actions": [{"do": "notify", "to": "ann", "message": "{{ record.name }}"}],
                },
            ]
        ),
    )
    t.records.bulk_create("desk", "customer", [{"name": f"c{i}"} for i in range(300)])
    assert t.automation.wait_idle(60)
    messages = [n["message"] for n in rows(t, tables.notifications)]
    assert sorted(messages) == sorted(f"c{i}" for i in range(300))
    bad = [
        (r["status"], r["attempt"], r["record_id"])
        for r in run_rows(t)
        if r["workflow_key"] == "bad"
    ]
    failed = [b for b in bad if b[0] == "failed"]
    assert failed == [("failed", 3, 8)]
    assert len(t.automation.failed_jobs()) == 1
    stats = t.automation.queue_stats()
    assert stats["embedded"] is True and stats["failed"] == 1 and stats["queued"] == 0
    assert [w["state"] for w in stats["workers"]] == ["idle"]


def test_threads_start_only_when_asked_under_testing(flask_app):
    t = _t(flask_app)  # the shared fixture: TESTING, AUTOMATION_EMBEDDED not given
    install(t, desk([]))
    t.records.create("desk", "customer", {"name": "A"})
    assert t.automation.running is False
