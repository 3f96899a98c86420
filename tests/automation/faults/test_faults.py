"""Fault injection: real PostgreSQL/SQLite, a private Redis, real ``flask worker`` processes.

(a) workers SIGKILLed repeatedly during creates, (b) database connections terminated under
the workers, (c) Redis killed and restarted empty, (d) 8 concurrent writers and counters,
(e) out-of-order commits; then one test per cause of the second faults issue (#16).
Figures go to tests/artifacts/faults.txt. Marked ``faults`` (``-m faults`` / ``-m "not
faults"``); every test uses its own database, Redis server and queue, so the module can
run beside other suites.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from automation_helpers import install, make_app, rows, run_rows
from faults_helpers import (
    CREATES,
    DRAIN,
    FAST_ENV,
    KILL_EVERY,
    RedisServer,
    Sink,
    Workers,
    fault_app,
    parse,
    record,
    wait_for,
)

from tessera.automation import tables
from tessera.storage.events import audit_log, outbox

pytestmark = pytest.mark.faults

MIRROR = {
    "key": "mirror",
    "record_type": "customer",
    "trigger": {"on": "record.created"},
    "actions": [
        {
            "do": "create_record",
            "record_type": "ticket",
            "values": {"subject": "for {{ record.name }}", "customer": "{{ record.id }}"},
        }
    ],
}


def mirror_and_hook(url: str) -> list[dict]:
    wf = {**MIRROR, "actions": [*MIRROR["actions"], {"do": "webhook", "url": url, "retries": 0}]}
    return [wf]


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def env(database_url, redis_server, tmp_path):
    """Settings of the workers (PostgreSQL sessions named ``tessera-worker``)."""
    url = database_url
    if url.startswith("postgresql"):
        url += ("&" if "?" in url else "?") + "application_name=tessera-worker"
    return {
        "DATABASE_URL": url,
        "REDIS_URL": redis_server.url,
        "TESSERA_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "test",
        "AUTOMATION_QUEUE": "faults",
        **FAST_ENV,
    }


@pytest.fixture
def t(env, database_url, tmp_path):
    """The test's runtime (the "web" side): writes records, never relays."""
    config = {k: parse(v) for k, v in env.items() if k.startswith(("AUTOMATION_", "WEBHOOK_"))}
    app = make_app(database_url, tmp_path, **config, REDIS_URL=env["REDIS_URL"],
                   AUTOMATION_RELAY=False)  # fmt: skip
    tessera = app.extensions["tessera"]
    yield tessera
    tessera.automation.stop()
    tessera.engine.dispose()


@pytest.fixture
def workers(env, tmp_path):
    w = Workers(env, tmp_path)
    yield w
    w.stop_all()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.stop()


def ticket_counts(t) -> Counter:
    table = t.registry.table("fx", "ticket")
    with t.engine.connect() as conn:
        return Counter(
            dict(
                conn.execute(
                    sa.select(table.c.customer, sa.func.count()).group_by(table.c.customer)
                ).all()
            )
        )


def create_paced(t, n: int, seconds: float, threads: int = 4, prefix: str = "c") -> list[int]:
    """Create ``n`` customers from ``threads`` writers spread over about ``seconds``."""
    ids: list[int] = []
    lock = threading.Lock()
    pause = seconds * threads / max(n, 1)

    def writer(k: int) -> None:
        for i in range(k, n, threads):
            row = t.records.create("fx", "customer", {"name": f"{prefix}{i}"})
            with lock:
                ids.append(row["id"])
            time.sleep(pause)

    pool = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return ids


def effects_report(t, ids: list[int], sink: Sink | None) -> dict:
    counts = ticket_counts(t)
    missing = [i for i in ids if counts.get(i, 0) == 0]
    doubled = [i for i in ids if counts.get(i, 0) > 1]
    out = {"sent": len(ids), "effects": sum(counts.values()), "missing": len(missing),
           "doubled": len(doubled)}  # fmt: skip
    if sink is not None:
        out["hook_keys"] = len(sink.keys)
        out["hook_repeats"] = sum(v - 1 for v in sink.keys.values())
    return out


def all_done(t, ids: list[int], sink: Sink | None) -> bool:
    counts = ticket_counts(t)
    if any(counts.get(i, 0) == 0 for i in ids):
        return False
    return sink is None or len(sink.keys) >= len(ids)


# -- (a) ---------------------------------------------------------------------------------
def test_a_sigkill_workers_during_creates_every_effect_exactly_once(t, workers, sink, database_url):
    install(t, fault_app(mirror_and_hook(sink.url)))
    workers.start()
    workers.start()
    stop, kills = threading.Event(), []

    def killer() -> None:
        while not stop.wait(KILL_EVERY):
            live = workers.live()
            if live:
                workers.kill(live[0])  # the oldest: it has had time to take work
                kills.append(time.monotonic())
            workers.start()

    th = threading.Thread(target=killer)
    th.start()
    ids = create_paced(t, CREATES, seconds=max(6.0, 4 * KILL_EVERY, CREATES / 50))
    stop.set()
    th.join()
    last_kill = kills[-1]
    try:
        wait_for(lambda: all_done(t, ids, sink), DRAIN, "every effect after the last kill", 0.25)
    finally:
        recovery = time.monotonic() - last_kill
        report = effects_report(t, ids, sink)
        backend = database_url.split(":")[0]
        record(f"(a) sigkill[{backend}] kills={len(kills)} every {KILL_EVERY}s {report} "
               f"all done {recovery:.1f}s after last kill")  # fmt: skip
    assert report["missing"] == 0 and report["doubled"] == 0
    assert recovery < 30
    assert len(workers.live()) >= 2


# -- (b) ---------------------------------------------------------------------------------
@pytest.mark.postgres
def test_b_connections_terminated_under_workers_double_nothing(t, workers, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    install(t, fault_app([MIRROR]))
    workers.start()
    workers.start()
    stop, cuts = threading.Event(), Counter()

    def cutter() -> None:
        admin = sa.create_engine(t.engine.url, poolclass=sa.pool.NullPool)
        while not stop.wait(0.3):
            with admin.connect() as conn:
                cuts["sessions"] += len(conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'tessera-worker' AND pid <> pg_backend_pid()"
                )).all())  # fmt: skip
        admin.dispose()

    th = threading.Thread(target=cutter)
    th.start()
    ids = create_paced(t, CREATES // 2, seconds=6.0)
    stop.set()
    th.join()
    t0 = time.monotonic()
    wait_for(lambda: all_done(t, ids, None), 45, "every effect after the cuts", step=0.25)
    recovery = time.monotonic() - t0
    report = effects_report(t, ids, None)
    with t.engine.connect() as conn:  # one audit entry per workflow step: never written twice
        refs = Counter(conn.scalars(
            sa.select(audit_log.c.actor_ref).where(audit_log.c.actor_kind == "workflow")
        ))  # fmt: skip
    repeated_refs = sum(1 for v in refs.values() if v > 1)
    record(
        f"(b) pg_terminate_backend sessions_cut={cuts['sessions']} {report} "
        f"repeated_step_audits={repeated_refs} done {recovery:.1f}s after the last cut"
    )
    assert report["missing"] == 0 and report["doubled"] == 0 and repeated_refs == 0
    assert len(workers.live()) == 2, workers.dead_logs()


# -- (c) ---------------------------------------------------------------------------------
def test_c_redis_restarted_empty_loses_nothing(t, workers, sink, redis_server, database_url):
    install(t, fault_app(mirror_and_hook(sink.url)))
    workers.start()
    workers.start()
    half = CREATES // 2
    ids = create_paced(t, half, seconds=3.0, prefix="before")
    redis_server.kill()
    ids += create_paced(t, half, seconds=2.0, prefix="during")  # written while Redis is down
    redis_server.start()  # empty: no jobs, no markers
    t0 = time.monotonic()
    backlog = sum(ticket_counts(t).values())
    resumed = wait_for(lambda: sum(ticket_counts(t).values()) > backlog, 10, "work to resume", 0.05)
    try:
        wait_for(lambda: all_done(t, ids, sink), DRAIN, "every effect after Redis returned", 0.2)
    finally:
        recovery = time.monotonic() - t0
        report = effects_report(t, ids, sink)
        backend = database_url.split(":")[0]
        record(f"(c) redis restart empty[{backend}] {report} work resumed {resumed:.1f}s and all "
               f"{len(ids) - backlog} waiting effects done {recovery:.1f}s after Redis returned; "
               f"workers alive={len(workers.live())}/2")  # fmt: skip
    assert report["missing"] == 0 and report["doubled"] == 0
    assert resumed < 10 and recovery < 20
    assert len(workers.live()) == 2, workers.dead_logs()


# -- (d) ---------------------------------------------------------------------------------
COUNTERS = [
    {
        "key": "count",
        "record_type": "customer",
        "trigger": {"on": "field.changed", "fields": ["pings"]},
        "actions": [{"do": "update_record", "values": {"hits": "{{ (record.hits or 0) + 1 }}"}}],
    },
    {
        "key": "touch",
        "record_type": "customer",
        "trigger": {"on": "field.changed", "fields": ["pings"]},
        "actions": [{"do": "increment", "field": "touches"}],
    },
]


def test_d_concurrent_writers_and_counters_are_exact(t, workers, database_url):
    workers.start()
    workers.start()
    _counters(t, database_url, "workers")


def test_d_counters_on_the_embedded_default(database_url, tmp_path):
    app = make_app(database_url, tmp_path, AUTOMATION_EMBEDDED=True,
                   **{k: parse(v) for k, v in FAST_ENV.items()})  # fmt: skip
    t = app.extensions["tessera"]
    try:
        _counters(t, database_url, "embedded")
    finally:
        t.automation.stop()
        t.engine.dispose()


def _counters(t, database_url: str, where: str) -> None:
    install(
        t,
        fault_app(COUNTERS),
    )
    c = t.records.create("fx", "customer", {"name": "hot"})
    per_writer = max(5, CREATES // 20)

    def writer() -> None:
        for _ in range(per_writer):
            t.records.update("fx", "customer", c["id"], {}, deltas={"pings": 1})

    pool = [threading.Thread(target=writer) for _ in range(8)]
    started = time.monotonic()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    total = 8 * per_writer

    def settled() -> bool:
        row = t.records.get("fx", "customer", c["id"])
        return (row["hits"] or 0) >= total and (row["touches"] or 0) >= total

    try:
        wait_for(settled, 60, "both counters to reach the number of writes", step=0.25)
    finally:
        row = t.records.get("fx", "customer", c["id"])
        statuses = Counter(r["status"] for r in run_rows(t))
        backend = database_url.split(":")[0]
        record(f"(d) 8 writers[{backend}, {where}] writes={total} pings={row['pings']} "
               f"update_record hits={row['hits']} increment touches={row['touches']} "
               f"runs={dict(statuses)} in {time.monotonic() - started:.1f}s")  # fmt: skip
    assert row["pings"] == total and row["hits"] == total and row["touches"] == total
    assert statuses == Counter({"done": 2 * total})


# -- (e) ---------------------------------------------------------------------------------
@pytest.mark.postgres
def test_e_out_of_order_commits_wait_for_no_sweep(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite writes are serialised: commits cannot overtake each other")
    app = make_app(database_url, tmp_path, AUTOMATION_EMBEDDED=True,
                   **{k: parse(v) for k, v in FAST_ENV.items()})  # fmt: skip
    t = app.extensions["tessera"]
    try:
        install(t, fault_app([MIRROR]))
        latencies = []
        for i in range(5):
            with t.engine.connect() as conn:
                tx = conn.begin()
                late = t.records.create("fx", "customer", {"name": f"late{i}"}, conn=conn)
                early = t.records.create("fx", "customer", {"name": f"early{i}"})
                wait_for(lambda e=early: ticket_counts(t).get(e["id"]), 10, "the early event")
                tx.commit()  # a smaller outbox id becomes visible after a larger one
                committed = time.monotonic()
            wait_for(lambda lt=late: ticket_counts(t).get(lt["id"]), 10, "the late event", 0.02)
            latencies.append(time.monotonic() - committed)
        record(f"(e) out-of-order commits: late event handled after "
               f"{', '.join(f'{x:.2f}' for x in latencies)} s (sweep every 5 s)")  # fmt: skip
        assert max(latencies) < 2.0
    finally:
        t.automation.stop()
        t.engine.dispose()


# -- #16.1 -------------------------------------------------------------------------------
def test_16_1_backlog_and_sweeps_never_duplicate_jobs(t):
    install(t, fault_app([MIRROR]))
    n = 200
    t.records.bulk_create("fx", "customer", [{"name": f"c{i}"} for i in range(n)])
    auto = t.automation
    for _ in range(10):  # no worker: the backlog ages while relay passes and sweeps repeat
        auto.tick()
        auto.sweep()
        time.sleep(0.05)
    jobs = auto.queue.count
    expected = math.ceil(n / int(t.config["AUTOMATION_BATCH"]))
    assert jobs == expected
    auto.make_worker().work(burst=True, logging_level="WARNING")
    assert len(rows(t, t.registry.table("fx", "ticket"))) == n
    auto.tick()  # the tickets' own events: no workflow listens, marked delivered without a job
    with t.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).where(outbox.c.delivered_at.is_(None))).scalar()
            == 0
        )
    auto.handle_events_job([1, 2, 3])  # a late duplicate of delivered events does nothing
    auto.tick()
    auto.sweep()
    assert len(run_rows(t)) == n and auto.queue.count == 0 and auto.failed_jobs() == []
    record(f"#16.1 sweep flood: {n} undelivered events, 10 passes + sweeps -> {jobs} jobs "
           f"(expected {expected}); 0 left after draining")  # fmt: skip


# -- #16.2 -------------------------------------------------------------------------------
def test_16_2_a_step_longer_than_its_lease_is_sent_once(t, workers):
    slow = Sink(delay=5.0)  # 2.5 leases
    try:
        hook = {"do": "webhook", "url": slow.url, "retries": 0, "timeout": 20}
        install(t, fault_app([{**MIRROR, "actions": [hook]}]))
        workers.start()
        workers.start()
        t.records.create("fx", "customer", {"name": "slow"})
        took = wait_for(lambda: [r["status"] for r in run_rows(t)] == ["done"], 30, "the run")
        (run,) = run_rows(t)
        record(f"#16.2 step of 5 s with a 2 s lease: sent {sum(slow.keys.values())} time(s), "
               f"run attempt {run['attempt']}, done in {took:.1f}s")  # fmt: skip
        assert sum(slow.keys.values()) == 1 and run["attempt"] == 1
    finally:
        slow.stop()


# -- #16.3 and #10.6 ---------------------------------------------------------------------
def test_16_3_retry_budget_is_honoured_exactly(t, workers):
    bad = Sink(status=500)
    try:
        install(t, fault_app([{**MIRROR, "actions": [{"do": "webhook", "url": bad.url,
                                                        "retries": 0}]}]))  # fmt: skip
        workers.start()
        for i in range(4):
            t.records.create("fx", "customer", {"name": f"c{i}"})
        wait_for(lambda: [r["status"] for r in run_rows(t)] == ["failed"] * 4, 40, "4 failed runs")
        runs = run_rows(t)
        from tessera.automation import runs as ops

        attempts = [[s["attempts"] for s in ops.get_run(t, r["id"])["steps"]] for r in runs]
        record(f"#16.3 always-500 sink, 2 retries: run attempts {[r['attempt'] for r in runs]}, "
               f"step attempts {attempts}, posts per key {sorted(bad.keys.values())}")  # fmt: skip
        assert [r["attempt"] for r in runs] == [3] * 4
        assert attempts == [[3]] * 4 and sorted(bad.keys.values()) == [3] * 4
        assert all("500" in (r["error"] or "") for r in runs)
    finally:
        bad.stop()


# -- #16.4 -------------------------------------------------------------------------------
def test_16_4_a_failure_after_the_done_mark_repeats_nothing(t, monkeypatch):
    install(t, fault_app([MIRROR]))
    from tessera.automation.engine import RunState

    calls = []
    original = RunState._load_record

    def flaky(self):
        calls.append(1)
        if len(calls) == 2:  # the reload right after the step committed: connection cut
            raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))
        return original(self)

    monkeypatch.setattr(RunState, "_load_record", flaky)
    c = t.records.create("fx", "customer", {"name": "once"})
    auto = t.automation
    assert auto.relay_once() == 1
    auto.make_worker().work(burst=True, logging_level="WARNING")
    t.config["AUTOMATION_RETRY_INTERVALS"] = [0, 0]
    deadline = time.monotonic() + 10
    while run_rows(t)[0]["status"] != "done" and time.monotonic() < deadline:
        auto._move_scheduled()
        auto.make_worker().work(burst=True, logging_level="WARNING")
        time.sleep(0.2)
    (run,) = run_rows(t)
    with t.engine.connect() as conn:
        audits = conn.scalar(sa.select(sa.func.count()).where(audit_log.c.record_type == "ticket"))
    record(f"#16.4 failure after the done mark: tickets={ticket_counts(t)[c['id']]} "
           f"audits={audits} run={run['status']} attempt={run['attempt']}")  # fmt: skip
    assert ticket_counts(t)[c["id"]] == 1 and audits == 1 and run["status"] == "done"


# -- #16.5 -------------------------------------------------------------------------------
@pytest.mark.postgres
def test_16_5_worker_killed_inside_a_transaction_leaves_no_session(t, workers, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL sessions")
    install(t, fault_app([{**MIRROR, "actions": [
        {"do": "create_record", "record_type": "token", "values": {"code": "{{ record.name }}"}}
    ]}]))  # fmt: skip
    first = workers.start()
    with t.engine.connect() as conn:
        blocker = conn.begin()  # holds the unique value the worker's step will insert
        t.records.create("fx", "token", {"code": "held"}, conn=conn)
        t.records.create("fx", "customer", {"name": "held"})
        # the worker's step transaction now waits on our row
        wait_for(lambda: _waiting_worker(t), 20, "the worker to block inside its step")
        workers.kill(first, group=False)  # the worker alone: it must leave no process behind
        orphans = _group_alive(first.pid)
        blocker.rollback()
    killed = time.monotonic()
    gone = wait_for(lambda: _worker_sessions(t) == 0, 10, "the dead worker's session to end")
    workers.start()
    wait_for(lambda: len(rows(t, t.registry.table("fx", "token"))) == 1, 20, "the run to finish")
    took = time.monotonic() - killed
    record(f"#16.5 worker killed in a transaction: orphans={orphans}, its session gone "
           f"{gone:.1f}s after, run finished {took:.1f}s after the kill")  # fmt: skip
    assert not orphans
    assert [r["status"] for r in run_rows(t)] == ["done"]


def _worker_sessions(t) -> int:
    with t.engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tessera-worker'"
        )).scalar()  # fmt: skip


def _waiting_worker(t) -> bool:
    with t.engine.connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tessera-worker' "
            "AND wait_event_type = 'Lock'"
        )).scalar())  # fmt: skip


def _group_alive(pgid: int) -> bool:
    import os

    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


# -- #16.6 -------------------------------------------------------------------------------
def test_16_6_embedded_restart_resumes_pending_events_without_a_write(database_url, tmp_path):
    fast = {k: parse(v) for k, v in FAST_ENV.items()}
    before = make_app(database_url, tmp_path, **fast)  # TESTING: no threads, like a dead process
    t = before.extensions["tessera"]
    install(t, fault_app([MIRROR]))
    t.records.bulk_create("fx", "customer", [{"name": f"c{i}"} for i in range(50)])
    t.engine.dispose()
    started = time.monotonic()
    two = [make_app(database_url, tmp_path, AUTOMATION_EMBEDDED=True, **fast) for _ in range(2)]
    try:
        t2 = two[0].extensions["tessera"]
        took = wait_for(lambda: len(rows(t2, t2.registry.table("fx", "ticket"))) == 50, 15,
                        "pending events after the restart")  # fmt: skip
        holders = [a.extensions["tessera"].automation._held_until is not None for a in two]
        record(f"#16.6 embedded restart, 50 pending events, no write: done in {took:.1f}s "
               f"(process start to effects {time.monotonic() - started:.1f}s); "
               f"relay holders among 2 processes: {sum(holders)}")  # fmt: skip
        assert sum(holders) == 1
        assert len(rows(t2, t2.registry.table("fx", "ticket"))) == 50
    finally:
        for a in two:
            a.extensions["tessera"].automation.stop()
            a.extensions["tessera"].engine.dispose()


# -- #16.7 -------------------------------------------------------------------------------
def test_16_7_an_install_is_seen_by_running_workers_and_web_processes(t, workers, env, tmp_path):
    install(t, fault_app([]))
    workers.start()
    # another web process, started before the install
    web = make_app(t.config["DATABASE_URL"], tmp_path, REDIS_URL=env["REDIS_URL"],
                   AUTOMATION_RELAY=False)  # fmt: skip
    time.sleep(1.0)  # the worker is up and has its registry
    upgraded = fault_app([MIRROR])
    upgraded["version"] = "1.1.0"
    import yaml

    from tessera.meta import app_from_data
    from tessera.storage import installer

    installer.upgrade(t.engine, app_from_data(upgraded), yaml.safe_dump(upgraded))  # as the CLI
    t.registry.reload()
    c = t.records.create("fx", "customer", {"name": "after"})
    took = wait_for(lambda: ticket_counts(t).get(c["id"]), 15, "the running worker to use it")
    other = web.extensions["tessera"]
    assert [w.key for w in other.registry.apps["fx"].workflows] == []
    web.test_client().get("/login")
    seen = [w.key for w in other.registry.apps["fx"].workflows]
    record(f"#16.7 upgrade while running: worker ran the new workflow {took:.1f}s after the "
           f"write; other web process sees {seen} on its next request")  # fmt: skip
    assert seen == ["mirror"]
    other.engine.dispose()
    assert tables.runs is not None
