"""A simple run's bookkeeping rides in its action's transaction (issue 12, throughput).

The last top-level step writes its effect, its "done" mark and the finished run row in one
commit; a run of several steps, or one whose last step fails, keeps the old shape.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from automation_helpers import desk, install, run_rows
from sqlalchemy import event

from tessera.automation import tables
from tessera.storage.events import outbox


@pytest.fixture
def t(quiet_app, quiet_users):
    return quiet_app.extensions["tessera"]


def _flow(actions):
    return desk([{"key": "w", "record_type": "customer", "trigger": {"on": "record.created"},
                  "actions": actions}])  # fmt: skip


def _commits_handling(t, event_id: int) -> int:
    """Commits while the job of ``event_id`` runs in this thread."""
    count = [0]

    def commit(conn):
        count[0] += 1

    event.listen(t.engine, "commit", commit)
    try:
        t.automation.handle_events_job([event_id])
    finally:
        event.remove(t.engine, "commit", commit)
    return count[0]


def _last_event(t) -> int:
    with t.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(outbox.c.id))).scalar()


def test_one_step_run_commits_its_effect_mark_and_finish_together(t):
    install(t, _flow([{"do": "update_record", "values": {"score": 7}}]))
    c = t.records.create("desk", "customer", {"name": "Acme"})
    commits = _commits_handling(t, _last_event(t))
    # the run created (claimed), then effect + step + run finished, then the event delivered
    assert commits == 3
    (run,) = run_rows(t)
    assert run["status"] == "done"
    assert run["lease_owner"] is None and run["lease_until"] is None
    assert run["finished_at"] is not None and run["duration_ms"] is not None
    assert t.records.get("desk", "customer", c["id"])["score"] == 7
    with t.engine.connect() as conn:
        (step,) = conn.execute(sa.select(tables.steps)).mappings().all()
    assert (step["path"], step["status"]) == ("0", "done")


def test_two_step_run_finishes_after_its_last_step(t):
    install(
        t,
        _flow(
            [
                {"do": "update_record", "values": {"score": 1}},
                {"do": "notify", "to": "ann", "message": "{{ record.name }} {{ record.score }}"},
            ]
        ),
    )
    t.records.create("desk", "customer", {"name": "Acme"})
    assert _commits_handling(t, _last_event(t)) == 4  # one more: the first step's own
    (run,) = run_rows(t)
    assert run["status"] == "done" and run["lease_owner"] is None
    with t.engine.connect() as conn:
        (note,) = conn.execute(sa.select(tables.notifications.c.message)).scalars().all()
    assert note == "Acme 1"  # the second step saw the first step's write


def test_failing_last_step_leaves_the_run_failed_not_done(t):
    install(t, _flow([{"do": "update_record", "values": {"score": "not a number"}}]))
    t.records.create("desk", "customer", {"name": "Acme"})
    t.automation.handle_events_job([_last_event(t)])
    (run,) = run_rows(t)
    assert run["status"] in ("failed", "retrying"), run
    assert run["finished_at"] is not None
