"""The engine driven by hand (no threads): triggers, conditions, steps, idempotency, depth."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from automation_helpers import desk, drain, install, rows, run_rows

from tessera.automation import runs as ops
from tessera.automation import tables
from tessera.automation.engine import RunState
from tessera.storage.events import audit_log, outbox


@pytest.fixture
def t(quiet_app, quiet_users):
    """The runtime of the quiet app (users ann, bob: sales; cid: support)."""
    tessera = quiet_app.extensions["tessera"]
    tessera.users = quiet_users
    return tessera


def wf(key="w", on="record.created", actions=None, **extra):
    """A customer workflow."""
    trigger = on if isinstance(on, dict) else {"on": on}
    return {
        "key": key,
        "record_type": "customer",
        "trigger": trigger,
        "actions": actions or [{"do": "update_record", "values": {"score": 1}}],
        **extra,
    }


def test_created_event_runs_actions_once_even_when_handled_twice(t):
    install(
        t,
        desk(
            [
                wf(
                    actions=[
                        {
                            "do": "create_record",
                            "record_type": "ticket",
                            "values": {
                                "subject": "Welcome {{ record.name }}",
                                "customer": "{{ record.id }}",
                            },
                        },
                        {"do": "notify", "to": "ann", "message": "new customer {{ record.name }}"},
                    ]
                )
            ]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Acme"})
    drain(t)
    # a duplicated delivery (relay crash, redelivery) does nothing more
    t.automation.enqueue_events([1])
    t.automation.handle_event_job(1)
    drain(t)
    tickets = rows(t, t.registry.table("desk", "ticket"))
    assert [(x["subject"], x["customer"]) for x in tickets] == [("Welcome Acme", c["id"])]
    assert len(rows(t, tables.notifications)) == 1
    (run,) = run_rows(t)
    assert (run["status"], run["trigger"], run["event_id"]) == ("done", "record.created", 1)
    steps = ops.get_run(t, run["id"])["steps"]
    assert [(s["path"], s["action"], s["status"]) for s in steps] == [
        ("0", "create_record", "done"),
        ("1", "notify", "done"),
    ]
    with t.engine.connect() as conn:
        assert conn.execute(sa.select(outbox.c.delivered_at).where(outbox.c.id == 1)).scalar()


def test_workflow_write_carries_workflow_actor_and_depth(t):
    install(t, desk([wf()]))
    t.records.create("desk", "customer", {"name": "Acme"})
    drain(t)
    with t.engine.connect() as conn:
        events = conn.execute(sa.select(outbox).order_by(outbox.c.id)).mappings().all()
    assert [(e["event"], e["depth"]) for e in events] == [
        ("record.created", 0),
        ("record.updated", 1),
    ]
    actor = events[1]["payload"]["actor"]
    run_id = run_rows(t)[0]["id"]
    assert (actor["kind"], actor["ref"]) == ("workflow", f"{run_id}/0")


def test_condition_with_old_values_and_skipped_runs(t):
    install(
        t,
        desk(
            [
                wf(
                    on={"on": "field.changed", "fields": ["status"]},
                    when={"field": "status", "op": "changed_from", "value": "vip"},
                )
            ]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Acme", "status": "vip"})
    t.records.update("desk", "customer", c["id"], {"name": "Acme Ltd"})  # status untouched
    t.records.update("desk", "customer", c["id"], {"status": "active"})
    drain(t)
    assert [(r["trigger"], r["condition"], r["status"]) for r in run_rows(t)] == [
        ("record.created", False, "skipped"),
        ("record.updated", True, "done"),
    ]
    assert t.records.get("desk", "customer", c["id"])["score"] == 1


def test_depth_guard_stops_a_self_triggering_workflow(t):
    t.config["AUTOMATION_MAX_DEPTH"] = 3
    install(
        t,
        desk(
            [
                wf(
                    on="record.updated",
                    actions=[
                        {
                            "do": "update_record",
                            "values": {"score": "{{ (record.score or 0) + 1 }}"},
                        }
                    ],
                )
            ]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Loop"})
    t.records.update("desk", "customer", c["id"], {"score": 0})
    drain(t)
    assert t.records.get("desk", "customer", c["id"])["score"] == 3
    statuses = [(r["depth"], r["status"]) for r in run_rows(t)]
    assert statuses == [(0, "done"), (1, "done"), (2, "done"), (3, "stopped")]
    assert "depth limit 3" in run_rows(t)[-1]["error"]


def test_if_else_set_variable_and_create_as(t):
    install(
        t,
        desk(
            [
                wf(
                    actions=[
                        {"do": "set_variable", "name": "greeting", "value": "Hi {{ record.name }}"},
                        {
                            "do": "if",
                            "condition": {"field": "status", "op": "eq", "value": "vip"},
                            "then": [
                                {
                                    "do": "create_record",
                                    "record_type": "ticket",
                                    "as": "tid",
                                    "values": {"subject": "{{ vars.greeting }} (VIP)"},
                                }
                            ],
                            "else": [
                                {
                                    "do": "create_record",
                                    "record_type": "ticket",
                                    "as": "tid",
                                    "values": {"subject": "{{ vars.greeting }}"},
                                }
                            ],
                        },
                        {
                            "do": "create_record",
                            "record_type": "task",
                            "values": {"title": "call", "ticket": "{{ vars.tid }}"},
                        },
                    ]
                )
            ]
        ),
    )
    t.records.create("desk", "customer", {"name": "Vee", "status": "vip"})
    t.records.create("desk", "customer", {"name": "Reg"})
    drain(t)
    tickets = rows(t, t.registry.table("desk", "ticket"))
    assert [x["subject"] for x in tickets] == ["Hi Vee (VIP)", "Hi Reg"]
    tasks = rows(t, t.registry.table("desk", "task"))
    assert [x["ticket"] for x in tasks] == [tickets[0]["id"], tickets[1]["id"]]
    paths = [s["path"] for s in ops.get_run(t, run_rows(t)[0]["id"])["steps"]]
    assert paths == ["0", "1", "1.then.0", "2"]


def test_failed_run_retries_from_the_failed_step(t, monkeypatch):
    t.config["AUTOMATION_RETRIES"] = 0
    install(
        t,
        desk(
            [
                wf(
                    actions=[
                        {
                            "do": "create_record",
                            "record_type": "ticket",
                            "values": {"subject": "first"},
                        },
                        {"do": "notify", "to": "nobody_yet", "message": "hi"},
                    ]
                )
            ]
        ),
    )
    t.records.create("desk", "customer", {"name": "Acme"})
    drain(t)
    (run,) = run_rows(t)
    assert run["status"] == "failed" and run["failed_step"] == "1"
    assert "no active user 'nobody_yet'" in run["error"]
    from tessera.users import create_user

    create_user(t.engine, "nobody_yet", "password123")
    ops.retry_run(t, run["id"])
    drain(t)
    (run,) = run_rows(t)
    assert (run["status"], run["attempt"]) == ("done", 2)
    assert len(rows(t, t.registry.table("desk", "ticket"))) == 1  # step 0 not repeated
    steps = ops.get_run(t, run["id"])["steps"]
    assert [(s["path"], s["status"], s["attempts"]) for s in steps] == [
        ("0", "done", 1),
        ("1", "done", 2),
    ]


def test_crash_before_the_done_mark_rolls_the_record_write_back(t, monkeypatch):
    """A worker dies after the records service wrote but before the step was marked done:
    effect and mark share one transaction, so neither is kept and the retry writes once."""
    install(
        t,
        desk(
            [
                wf(
                    actions=[
                        {
                            "do": "create_record",
                            "record_type": "ticket",
                            "values": {"subject": "once"},
                        }
                    ]
                )
            ]
        ),
    )
    t.records.create("desk", "customer", {"name": "Acme"})
    t.automation.relay_once()
    original = RunState._write_step

    def crash_on_done(self, conn, path, name, status, *args, **kwargs):
        if status == "done":
            raise SystemExit("worker killed")  # not an Exception: nothing catches it
        return original(self, conn, path, name, status, *args, **kwargs)

    monkeypatch.setattr(RunState, "_write_step", crash_on_done)
    with pytest.raises(SystemExit):
        t.automation.handle_event_job(1)
    monkeypatch.setattr(RunState, "_write_step", original)
    assert rows(t, t.registry.table("desk", "ticket")) == []
    t.config["AUTOMATION_LEASE_SECONDS"] = 0  # the dead worker's lease has expired
    t.automation.handle_event_job(1)
    assert len(rows(t, t.registry.table("desk", "ticket"))) == 1
    (run,) = run_rows(t)
    step = ops.get_run(t, run["id"])["steps"][0]
    assert run["status"] == "done" and step["status"] == "done"
    with t.engine.connect() as conn:  # one audit entry for the ticket: written once
        n = conn.execute(
            sa.select(sa.func.count()).where(audit_log.c.record_type == "ticket")
        ).scalar()
    assert n == 1


def test_a_second_worker_does_not_take_a_leased_run(t):
    from tessera.automation.engine import Engine, RunBusy

    install(t, desk([wf()]))
    t.records.create("desk", "customer", {"name": "Acme"})
    (run_id,) = t.automation.engine.handle_event(1)
    first = t.automation.engine
    assert first._claim(run_id) is not None
    with pytest.raises(RunBusy):
        Engine(t).execute_run(run_id)
    assert first.execute_run(run_id) == "done"
    assert Engine(t).execute_run(run_id) == "done"  # finished: nothing more to do


def test_paused_workflow_ignores_events_until_resumed(t):
    install(t, desk([wf()]))
    ops.pause_workflow(t, "desk", "w")
    t.records.create("desk", "customer", {"name": "A"})
    drain(t)
    assert run_rows(t) == []
    ops.resume_workflow(t, "desk", "w")
    t.records.create("desk", "customer", {"name": "B"})
    drain(t)
    assert [r["record_id"] for r in run_rows(t)] == [2]
    listed = ops.list_workflows(t, "desk")
    assert [(w["key"], w["paused"]) for w in listed] == [("w", False)]


def test_test_mode_shows_actions_and_changes_nothing(t):
    install(
        t,
        desk(
            [
                wf(
                    on="manual",
                    when={"field": "status", "op": "eq", "value": "active"},
                    actions=[
                        {"do": "update_record", "values": {"score": 7}},
                        {"do": "notify", "to": "role:sales", "message": "{{ record.name }}!"},
                        {
                            "do": "send_email",
                            "to": "{{ record.email }}",
                            "subject": "Hi",
                            "body": "Dear {{ record.name }}",
                        },
                        {"do": "assign", "role": "sales"},
                    ],
                )
            ]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Acme", "email": "a@example.com"})
    result = ops.test_workflow(t, "desk", "w", c["id"])
    assert result["condition"] is True
    outputs = [s["output"] for s in result["steps"]]
    assert outputs[0] == {
        "would": "update",
        "record_type": "customer",
        "record_id": c["id"],
        "values": {"score": 7},
    }
    assert outputs[1] == {
        "would": "notify",
        "recipients": [t.users["ann"], t.users["bob"]],
        "message": "Acme!",
    }
    assert outputs[2]["to"] == ["a@example.com"] and outputs[2]["body"] == "Dear Acme"
    assert outputs[3] == {"would": "assign", "field": "owner", "user_id": t.users["ann"]}
    assert t.records.get("desk", "customer", c["id"])["score"] is None
    assert rows(t, tables.notifications) == [] and rows(t, tables.mail_outbox) == []
    assert run_rows(t) == []


def test_manual_trigger_and_email_outbox(t):
    install(
        t,
        desk(
            [
                wf(
                    on="manual",
                    actions=[
                        {
                            "do": "send_email",
                            "to": "{{ record.email }}",
                            "subject": "Hello {{ record.name }}",
                            "body": "from {{ user.name }}",
                        }
                    ],
                )
            ]
        ),
    )
    a = t.records.create("desk", "customer", {"name": "A", "email": "a@example.com"})
    b = t.records.create("desk", "customer", {"name": "B", "email": "b@example.com"})
    ids = ops.run_manual(t, "desk", "w", [a["id"], b["id"]], user_id=t.users["ann"])
    drain(t)
    mails = ops.mail_outbox(t)
    assert sorted((m["to"], m["subject"], m["body"]) for m in mails) == [
        ("a@example.com", "Hello A", "from ann"),
        ("b@example.com", "Hello B", "from ann"),
    ]
    assert {ops.get_run(t, i)["status"] for i in ids} == {"done"}


def test_assign_round_robin_and_least_loaded(t):
    install(
        t,
        desk(
            [
                wf(actions=[{"do": "assign", "role": "sales"}]),
                {
                    **wf(
                        key="ll",
                        actions=[
                            {
                                "do": "assign",
                                "role": "sales",
                                "field": "owner",
                                "strategy": "least_loaded",
                            }
                        ],
                    ),
                    "record_type": "ticket",
                    "when": {"field": "owner", "op": "is_empty"},
                },
            ]
        ),
    )
    ids = [t.records.create("desk", "customer", {"name": f"c{i}"})["id"] for i in range(3)]
    drain(t)
    owners = [t.records.get("desk", "customer", i)["owner"] for i in ids]
    ann, bob = t.users["ann"], t.users["bob"]
    assert owners == [ann, bob, ann]
    t.records.create("desk", "ticket", {"subject": "x", "owner": ann})
    t.records.create("desk", "ticket", {"subject": "y"})
    drain(t)
    assert [x["owner"] for x in rows(t, t.registry.table("desk", "ticket"))] == [ann, bob]


def test_notifications_service(t):
    install(
        t,
        desk([wf(actions=[{"do": "notify", "to": ["ann", "{{ record.owner }}"], "message": "m"}])]),
    )
    t.records.create("desk", "customer", {"name": "A", "owner": t.users["bob"]})
    drain(t)
    ann = t.users["ann"]
    assert ops.unread_count(t, ann) == 1
    assert ops.mark_read(t, ann) == 1
    assert ops.unread_count(t, ann) == 0 and len(ops.notifications(t, ann)) == 1
    assert ops.unread_count(t, t.users["bob"]) == 1


def test_deleted_event_sees_the_old_values(t):
    install(
        t,
        desk(
            [
                wf(
                    on="record.deleted",
                    actions=[
                        {
                            "do": "notify",
                            "to": "ann",
                            "message": "{{ record.name }} ({{ old.status }}) was deleted",
                        }
                    ],
                )
            ]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Gone"})
    t.records.delete("desk", "customer", c["id"])
    drain(t)
    assert [n["message"] for n in rows(t, tables.notifications)] == ["Gone (active) was deleted"]


def test_poisoned_run_retries_then_fails_without_blocking_others(t):
    t.config["AUTOMATION_RETRIES"] = 2
    install(
        t,
        desk(
            [
                wf(
                    key="bad",
                    actions=[
                        {
                            "do": "webhook",
                            "url": "http://127.0.0.1:9/nothing",
                            "retries": 0,
                            "timeout": 1,
                        }
                    ],
                ),
                wf(key="good"),
            ]
        ),
    )
    t.config["WEBHOOK_ALLOW_PRIVATE"] = True
    for i in range(3):
        t.records.create("desk", "customer", {"name": f"c{i}"})
    drain(t)
    by_wf = {}
    for r in run_rows(t):
        by_wf.setdefault(r["workflow_key"], []).append((r["status"], r["attempt"]))
    assert by_wf["good"] == [("done", 1)] * 3
    assert by_wf["bad"] == [("failed", 3)] * 3
    failed = t.automation.failed_jobs()
    assert len(failed) == 3 and {f["func"] for f in failed} == {
        "tessera.automation.jobs.execute_run"
    }


def test_increment_and_decrement_are_audited_updates_done_once(t):
    install(
        t,
        desk(
            [
                wf(
                    actions=[
                        {"do": "increment", "field": "score", "by": "{{ 2 + 3 }}"},
                        {"do": "decrement", "fields": {"score": 1}},
                    ]
                )
            ]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Acme", "score": 10})
    drain(t)
    t.automation.handle_event_job(1)  # a duplicate delivery adds nothing
    drain(t)
    assert t.records.get("desk", "customer", c["id"])["score"] == 14
    history = t.records.history("desk", "customer", c["id"])
    assert [(h["action"], h["changes"].get("score")) for h in history] == [
        ("create", [None, 10]),
        ("update", [10, 15]),
        ("update", [15, 14]),
    ]
    with t.engine.connect() as conn:
        events = conn.scalars(sa.select(outbox.c.event).order_by(outbox.c.id)).all()
    assert events == ["record.created", "record.updated", "record.updated"]


def test_update_record_reevaluates_values_when_the_record_changed_meanwhile(t, monkeypatch):
    install(
        t,
        desk(
            [wf(actions=[{"do": "update_record", "values": {"score": "{{ record.score + 1 }}"}}])]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Acme", "score": 1})
    original, sneaked = RunState._params, []

    def concurrent_writer_first(self, impl, action):
        params = original(self, impl, action)  # rendered from the record as read
        if not sneaked:  # another writer commits between our read and our write
            sneaked.append(t.records.update("desk", "customer", c["id"], {"score": 100}))
        return params

    monkeypatch.setattr(RunState, "_params", concurrent_writer_first)
    drain(t)
    assert t.records.get("desk", "customer", c["id"])["score"] == 101  # not 2: re-evaluated
