"""The automation runtime of one Tessera instance: Redis connection, queue, relay, workers.

Without ``REDIS_URL`` it runs embedded: fakeredis, a worker thread and a relay thread in
this process, started on the first committed record write (or :meth:`Automation.start`).
With ``REDIS_URL`` this process only relays and enqueues; ``flask --app app worker``
processes do the work.

Delivery. Exactly one process at a time relays: it holds the ``relay`` lease row in
``automation_locks`` (renewed every pass; any web process or worker takes over within
AUTOMATION_RELAY_LEASE_SECONDS when it dies). The holder enqueues every outbox event
whose ``delivered_at`` is NULL and that has no live job: new events past its cursor on
each pass, and, every AUTOMATION_RECHECK_SECONDS, every undelivered event behind it (a
transaction that committed out of id order, a job lost with Redis or with a killed
worker). Which job carries an event is kept in a Redis hash beside the jobs; a job is
live while queued/scheduled, or started by a worker whose liveness key (renewed every
second) exists — so nothing is enqueued twice and nothing waits for a sweep. A job sets
``delivered_at`` when done and skips events already delivered. Runs are found the same
way: one live ``execute_run`` job per run, and the sweep re-enqueues a run whose lease
expired (its executor died) or whose job vanished. Scheduled jobs (retries, waits,
plans) are moved to the queue by the relay holder (no RQ scheduler process is forked).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.utils import current_timestamp

from tessera.automation import schedule, tables
from tessera.automation.engine import Engine, RunBusy, aware, relaxed
from tessera.storage.events import outbox

log = logging.getLogger("tessera.automation")
JOBS = "tessera.automation.jobs"
DEFAULTS: dict[str, Any] = {
    "AUTOMATION_EMBEDDED": True,  # without REDIS_URL: run worker + relay threads in-process
    "AUTOMATION_RELAY": True,  # with REDIS_URL: this process relays outbox events too
    "AUTOMATION_QUEUE": "tessera",
    "AUTOMATION_MAX_DEPTH": 5,
    "AUTOMATION_RETRIES": 3,  # retries of a failed run after its first attempt
    "AUTOMATION_RETRY_INTERVALS": [10, 60, 300],  # seconds before each retry
    "AUTOMATION_LEASE_SECONDS": 10,  # renewed by a heartbeat while a run executes
    "AUTOMATION_REDELIVER_SECONDS": 2,
    "AUTOMATION_RELAY_LEASE_SECONDS": 5,
    "AUTOMATION_RECHECK_SECONDS": 1.0,
    "AUTOMATION_CONFLICT_TRIES": 20,
    "AUTOMATION_JOB_TIMEOUT": 300,
    "AUTOMATION_BATCH": 20,  # outbox events per job: one job for a lone event, fewer for a backlog
    "AUTOMATION_POLL_SECONDS": 1.0,
    "AUTOMATION_RELAY_SPACING": 0.02,
    "AUTOMATION_TIMEZONE": None,  # default zone of cron/date triggers (UTC when unset)
    "WEBHOOK_ALLOW_PRIVATE": False,
    "SMTP_HOST": None,  # without it, send_email writes to the local mail outbox table
    "SMTP_PORT": 25,
    "SMTP_USER": None,
    "SMTP_PASSWORD": None,
    "SMTP_FROM": None,
}


def _from_env(key: str) -> Any:
    """An environment override of ``key`` (JSON when it parses: numbers, lists, booleans)."""
    raw = os.environ.get(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class Automation:
    """Queue, relay, sweep and job handlers for one runtime; ``engine`` runs the workflows."""

    def __init__(self, tessera: Any):
        # the shared test fixture sets TESTING; threads then start only when a test asks
        self._explicit = "AUTOMATION_EMBEDDED" in tessera.config
        for key, value in DEFAULTS.items():
            if key not in tessera.config or tessera.config[key] is None:
                env = _from_env(key)
                tessera.config[key] = env if env is not None else tessera.config.get(key, value)
            if tessera.config[key] is None:
                tessera.config[key] = value
        self.tessera = tessera
        self.config = tessera.config
        self.engine = Engine(tessera)
        self.flask_app: Any = None
        self._redis: Any = None
        self._wake = threading.Event()
        self._job_ready = threading.Event()  # embedded worker: a job was enqueued
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._worker: Any = None
        self._lock = threading.RLock()
        self._last_sweep = 0.0
        self._last_recheck = 0.0
        self._fingerprint: Any = None
        self._held_until: datetime | None = None  # the relay lease, while this process holds it
        self._cursor = 0  # outbox ids up to here were seen by this holder
        self._backoff: dict[int, tuple[int, float]] = {}  # event id -> (tries, not before)
        self._holding = False  # for logging a change of relay holder once
        self._popped: dict[str, float] = {}  # "queued" jobs missing from the queue: first seen
        self._outage: dict[str, bool] = {}
        tessera.records.after_commit.append(self._after_commit)
        _after_fork_reset(self)

    # -- wiring -------------------------------------------------------------------------
    @property
    def embedded(self) -> bool:
        """True without REDIS_URL: fakeredis and in-process threads."""
        return not self.config.get("REDIS_URL")

    @property
    def redis(self) -> Any:
        """The Redis connection (a private fakeredis server when embedded)."""
        with self._lock:
            return self._connect()

    def _connect(self) -> Any:
        if self._redis is None:
            if self.embedded:
                import fakeredis

                self._redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
            else:
                from redis import Redis

                self._redis = Redis.from_url(self.config["REDIS_URL"])
        return self._redis

    @property
    def queue(self) -> Queue:
        """The RQ queue automation jobs go to."""
        return Queue(self.config["AUTOMATION_QUEUE"], connection=self.redis)

    def init_app(self, flask_app: Any) -> None:
        """Remember the Flask app; a serving process starts relay (and embedded worker) now.

        Started with the process, not on the first write, so pending events, retries and
        schedules resume right after a restart. Flask CLI commands other than ``run`` do
        not start threads (``worker`` starts its own). Before each request the registry
        is reloaded when an install, upgrade or builder apply happened elsewhere.
        """
        self.flask_app = flask_app
        flask_app.before_request(self._before_request)
        if self._serving() and self._autostart():
            self.start()

    @staticmethod
    def _serving() -> bool:
        """False inside a ``flask`` CLI command other than ``run`` (template, user, demo...)."""
        import sys

        prog = sys.argv[0] if sys.argv else ""
        cli = os.path.basename(prog) == "flask" or prog.endswith(
            os.path.join("flask", "__main__.py")
        )
        return not cli or "run" in sys.argv[1:]

    def _before_request(self) -> None:
        from flask import request

        if request.endpoint in ("static", "web.static"):
            return  # a static file depends on no schema: no query per asset
        self.tessera.registry.refresh_if_changed()
        if not self._threads and self._autostart():
            self.start()

    def _after_commit(self) -> None:
        if not self._threads and self._autostart():
            self.start()
        self._wake.set()

    def _autostart(self) -> bool:
        if self.flask_app is None:
            return False
        if not self.embedded:
            return bool(self.config.get("AUTOMATION_RELAY"))
        wanted = bool(self.config.get("AUTOMATION_EMBEDDED"))
        return wanted and (self._explicit or not self.config.get("TESTING"))

    @property
    def running(self) -> bool:
        """True once the relay thread (and, embedded, the worker thread) started."""
        return bool(self._threads)

    def start(self, *, worker: bool | None = None) -> None:
        """Start the relay thread, plus a worker thread when embedded (or ``worker=True``)."""
        with self._lock:
            if self._threads:
                return
            self._stop.clear()
            self._spawn(self._relay_loop, "tessera-relay")
            if self.embedded if worker is None else worker:
                self._spawn(self._work, "tessera-worker")

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads started by :meth:`start` and wait for them."""
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker._stop_requested = True
            self._job_ready.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self._worker = None
        self.release_relay()

    def _work(self) -> None:
        """The embedded worker thread; started again if RQ's loop ever ends unasked."""
        from tessera.automation.worker import ThreadWorker

        while not self._stop.is_set():
            self._worker = ThreadWorker(
                [self.queue], connection=self.redis, flask_app=self.flask_app,
                wakeup=self._job_ready,
            )  # fmt: skip
            try:
                self._worker.work(logging_level="WARNING", dequeue_strategy="default")
                self._recovered("worker")
            except Exception as exc:  # noqa: BLE001 - keep the embedded worker alive
                self._failing("worker", exc)
            self._stop.wait(0.5)

    def make_worker(self, name: str | None = None) -> Any:
        """A worker for this queue (``flask worker`` runs it without RQ's forked scheduler)."""
        from tessera.automation.worker import TesseraWorker

        return TesseraWorker(
            [self.queue], connection=self.redis, flask_app=self.flask_app, name=name
        )

    # -- relay --------------------------------------------------------------------------
    def _relay_loop(self) -> None:
        poll = float(self.config["AUTOMATION_POLL_SECONDS"])
        spacing = float(self.config["AUTOMATION_RELAY_SPACING"])
        last_pass = 0.0
        while not self._stop.is_set():
            self._wake.wait(poll)
            # The first event after a quiet spell is relayed at once (latency); passes are
            # at least `spacing` apart, so a burst of commits shares one pass and one job
            # instead of taking the database's write lock once per commit.
            time.sleep(max(0.0, last_pass + spacing - time.monotonic()))
            last_pass = time.monotonic()
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.tick()
                self._recovered("relay")
            except Exception as exc:  # the loop must survive a database or Redis outage
                self._failing("relay", exc)
                self._held_until = None  # re-check the lease once things work again
                time.sleep(min(poll * 2, 2.0))

    def _failing(self, what: str, exc: Exception) -> None:
        """Log the first failure of an outage only (the loop keeps retrying)."""
        if not self._outage.get(what):
            first = str(exc).splitlines()[0] if str(exc) else ""
            log.warning(
                "automation %s: %s: %s; retrying until it works", what, type(exc).__name__, first
            )
        self._outage[what] = True

    def _recovered(self, what: str) -> None:
        if self._outage.pop(what, False):
            log.warning("automation %s: working again", what)

    def tick(self) -> None:
        """One relay pass: if this process holds the relay, enqueue and recover what is due."""
        if self.embedded:
            self._move_scheduled()  # this process's own in-memory Redis
        if not self.hold_relay():
            return
        if not self.embedded:
            self._move_scheduled()
        while self.relay_once() >= 500:
            pass
        recheck = float(self.config["AUTOMATION_RECHECK_SECONDS"])
        if time.monotonic() - self._last_recheck >= recheck:
            self._last_recheck = time.monotonic()
            self.recheck()
            self.sweep_runs()
        if time.monotonic() - self._last_sweep >= 5:
            self._last_sweep = time.monotonic()
            self.sweep()

    # -- the relay lease ----------------------------------------------------------------
    def hold_relay(self) -> bool:
        """True while this process holds the ``relay`` lease (taken or renewed here)."""
        ttl = timedelta(seconds=float(self.config["AUTOMATION_RELAY_LEASE_SECONDS"]))
        now = datetime.now(UTC)
        if self._held_until is not None and now < self._held_until - ttl / 2:
            return True
        locks, me = tables.locks, self.engine.owner
        with self.tessera.engine.begin() as conn:
            got = conn.execute(
                locks.update()
                .where(
                    locks.c.name == "relay",
                    sa.or_(locks.c.owner == me, locks.c.owner.is_(None), locks.c.until < now),
                )
                .values(owner=me, until=now + ttl)
            ).rowcount
            exists = (
                got or conn.execute(sa.select(locks.c.name).where(locks.c.name == "relay")).first()
            )
        if not exists:
            got = self._create_relay_lock(me, now + ttl)
        if got and self._held_until is None:
            if not self._holding:
                log.info("automation relay: this process (%s) relays outbox events now", me)
            self._cursor, self._backoff = 0, {}
        self._holding = bool(got)
        self._held_until = now + ttl if got else None
        return bool(got)

    def _create_relay_lock(self, me: str, until: datetime) -> bool:
        """Insert the lease row; False when another process created it first (no error)."""
        from tessera.automation.engine import insert_ignore

        with self.tessera.engine.begin() as conn:
            query = insert_ignore(conn, tables.locks, ["name"])
            query = query.values(name="relay", owner=me, until=until).returning(tables.locks.c.name)
            return conn.execute(query).scalar() is not None

    def release_relay(self) -> None:
        """Give the relay lease up (on stop) so another process takes over at once."""
        if self._held_until is None:
            return
        self._held_until = None
        try:
            with self.tessera.engine.begin() as conn:
                conn.execute(
                    tables.locks.update()
                    .where(
                        tables.locks.c.name == "relay", tables.locks.c.owner == self.engine.owner
                    )
                    .values(owner=None, until=None)
                )
        except Exception:  # noqa: BLE001 - the lease then simply expires
            log.warning("automation relay: could not release the relay lease")

    # -- relaying -----------------------------------------------------------------------
    def relay_once(self, batch: int = 500) -> int:
        """Enqueue the undelivered outbox events past this holder's cursor; how many seen.

        Events no workflow listens to are marked delivered and get no job. The installed
        apps are checked after the events are read: an app installed by another process
        committed its schema version before any of its events existed.
        """
        if not self.hold_relay():
            return 0
        with self.tessera.engine.connect() as conn:
            events = conn.execute(
                sa.select(outbox.c.id, outbox.c.event, outbox.c.app_id, outbox.c.record_type,
                          outbox.c.payload)
                .where(outbox.c.delivered_at.is_(None), outbox.c.id > self._cursor)
                .order_by(outbox.c.id)
                .limit(batch)
            ).mappings().all()  # fmt: skip
        if not events:
            return 0
        self._cursor = events[-1]["id"]
        self.tessera.registry.refresh_if_changed()
        wanted, ignored = _split_by_interest(events, self._workflows_by_app())
        if ignored:
            with self.tessera.engine.begin() as conn:
                relaxed(conn)
                conn.execute(
                    outbox.update()
                    .where(outbox.c.id.in_(ignored), outbox.c.delivered_at.is_(None))
                    .values(delivered_at=self.engine.now())
                )
        self.enqueue_events(self._without_live_job(wanted))
        return len(events)

    def recheck(self, limit: int = 5000) -> int:
        """Enqueue undelivered events behind the cursor that have no live job; how many."""
        with self.tessera.engine.connect() as conn:
            ids = list(
                conn.scalars(
                    sa.select(outbox.c.id)
                    .where(outbox.c.delivered_at.is_(None), outbox.c.id <= self._cursor)
                    .order_by(outbox.c.id)
                    .limit(limit)
                )
            )
        failed: set[int] = set()
        lost = self._without_live_job(ids, failed)
        now = time.monotonic()
        due = [i for i in lost if i not in failed or self._backoff.get(i, (0, 0.0))[1] <= now]
        for i in failed & set(due):  # an event whose jobs keep failing: ever more slowly
            tries = self._backoff.get(i, (0, 0.0))[0] + 1
            self._backoff[i] = (tries, now + min(2.0 ** (tries - 1), 60.0))
        if len(self._backoff) > 20000:
            self._backoff.clear()
        self.enqueue_events(due)  # lost with Redis or a dead worker: again at once
        return len(due)

    def _key(self, kind: str) -> str:
        return f"tessera:{self.config['AUTOMATION_QUEUE']}:{kind}"

    def _without_live_job(self, event_ids: list[int], failed: set[int] | None = None) -> list[int]:
        """The events among ``event_ids`` that no live job carries.

        Events whose last job *failed* (rather than vanished or was abandoned) are added
        to ``failed``, so the caller can slow their retries down.
        """
        if not event_ids:
            return []
        held = self.redis.hmget(self._key("events"), [str(i) for i in event_ids])
        jobs = {j.decode() for j in held if j is not None}
        dead: set[str] = set()
        live = self.live_jobs(jobs, dead)
        lost = []
        for i, j in zip(event_ids, held, strict=True):
            if j is None or j.decode() not in live:
                lost.append(i)
                if failed is not None and j is not None and j.decode() in dead:
                    failed.add(i)
        return lost

    def live_jobs(self, job_ids, failed: set[str] | None = None) -> set[str]:
        """The ids among ``job_ids`` of jobs that will still run or are running.

        Scheduled and deferred jobs are live; a queued job while it is in the queue (a
        worker killed right after popping it leaves it "queued" in RQ's intermediate
        list: dead once seen there for 2 s); a started job while the worker running it
        renews its liveness key (see :mod:`.worker`). Jobs that ended in failure are
        added to ``failed``.
        """
        job_ids = list(job_ids)
        if not job_ids:
            return set()
        with self.redis.pipeline(transaction=False) as pipe:
            for jid in job_ids:
                pipe.hmget(f"rq:job:{jid}", "status", "worker_name")
            found = pipe.execute()
        live, started, waiting = set(), {}, None
        now = time.monotonic()
        for jid, (status, worker) in zip(job_ids, found, strict=True):
            state = status.decode() if status else None
            if state in ("scheduled", "deferred"):
                live.add(jid)
            elif state == "queued":
                if waiting is None:
                    waiting = {j.decode() for j in self.redis.lrange(self.queue.key, 0, -1)}
                if jid in waiting or now - self._popped.setdefault(jid, now) < 2.0:
                    live.add(jid)
            elif state == "failed" and failed is not None:
                failed.add(jid)
            elif state == "started":
                started[jid] = worker.decode() if worker else None
        if len(self._popped) > 10000:
            self._popped.clear()
        return live | self._alive_started(started)

    def _alive_started(self, started: dict[str, str | None]) -> set[str]:
        from tessera.automation.worker import alive_key

        names = [w for w in started.values() if w]
        beats = self.redis.mget([alive_key(n) for n in names]) if names else []
        alive = dict(zip(names, beats, strict=True))
        return {jid for jid, w in started.items() if w is None or alive.get(w) is not None}

    def _workflows_by_app(self) -> dict[str, list]:
        from tessera.automation.workflows import batch as memo_batch
        from tessera.automation.workflows import workflows_of

        with memo_batch():
            return {a: workflows_of(self.tessera, a) for a in list(self.tessera.registry.apps)}

    def enqueue_events(self, ids: list[int]) -> None:
        """Enqueue ``handle_events`` jobs for outbox ids, in order, AUTOMATION_BATCH per job.

        Each event's job id is kept in a Redis hash (same pipeline), so the relay knows
        the event is carried and by which job.
        """
        if not ids:
            return
        size = max(1, int(self.config["AUTOMATION_BATCH"]))
        with self.redis.pipeline() as pipe:
            for i in range(0, len(ids), size):
                chunk = ids[i : i + size]
                job_id = f"evt-{chunk[0]}-{chunk[-1]}-{uuid.uuid4().hex[:8]}"
                self.queue.enqueue(
                    f"{JOBS}.handle_events", chunk, job_id=job_id, result_ttl=0,
                    failure_ttl=3600, job_timeout=self.config["AUTOMATION_JOB_TIMEOUT"],
                    pipeline=pipe,
                )  # fmt: skip
                pipe.hset(self._key("events"), mapping={str(e): job_id for e in chunk})
            pipe.execute()
        self._job_ready.set()

    def enqueue_run(self, run_id: int, delay: float = 0, retries: int = 0) -> None:
        """Enqueue ``execute_run`` now or after ``delay`` seconds (the run's only live job).

        Retries are counted on the run itself (``attempt``), not by RQ, so a job that
        fires early (RQ schedules to whole seconds) and finds the run not yet due costs
        nothing; ``retries`` is accepted for compatibility and ignored.
        """
        kwargs: dict[str, Any] = {
            "result_ttl": 0,
            "failure_ttl": 3600,
            "job_timeout": self.config["AUTOMATION_JOB_TIMEOUT"],
            "job_id": f"run-{run_id}-{uuid.uuid4().hex[:8]}",
        }
        func = f"{JOBS}.execute_run"
        with self.redis.pipeline() as pipe:
            if delay > 0:
                self.queue.enqueue_in(
                    timedelta(seconds=delay), func, run_id, pipeline=pipe, **kwargs
                )
            else:
                self.queue.enqueue(func, run_id, pipeline=pipe, **kwargs)
            pipe.hset(self._key("runs"), str(run_id), kwargs["job_id"])
            pipe.execute()
        self._job_ready.set()

    def enqueue_fire(self, plan_id: int, when: Any = None) -> None:
        """Enqueue ``fire_schedule`` at ``when`` (now when None); once while one is live."""
        func, job_id = f"{JOBS}.fire_schedule", f"plan-{plan_id}"
        if when is None and job_id in self.live_jobs([job_id]):
            return
        if when is None:
            self.queue.enqueue(func, plan_id, job_id=job_id, result_ttl=0)
        else:
            self.queue.enqueue_at(when, func, plan_id, job_id=job_id, result_ttl=0)
        self._job_ready.set()

    def _move_scheduled(self) -> None:
        """Embedded: RQ's scheduler (a forked process, Lua locks) cannot serve fakeredis."""
        queue = self.queue
        registry = ScheduledJobRegistry(queue=queue)
        job_ids = registry.get_jobs_to_schedule(current_timestamp())
        if not job_ids:
            return
        jobs = Job.fetch_many(job_ids, connection=self.redis)
        with self.redis.pipeline() as pipe:
            for job_id, job in zip(job_ids, jobs, strict=True):
                if job is not None:
                    queue._enqueue_job(job, pipeline=pipe, at_front=job.should_enqueue_at_front())
                registry.remove(job_id, pipeline=pipe)
            pipe.execute()
        self._job_ready.set()

    def sweep(self) -> dict[str, int]:
        """The backstop: events and runs without a live job, overdue plans; replan."""
        events = self.recheck() if self._held_until is not None else 0
        stale = self.sweep_runs()
        plans = schedule.overdue(self, timedelta(seconds=2))
        for plan_id in plans:
            self.enqueue_fire(plan_id)
        self._replan_if_changed()
        return {"events": events, "runs": stale, "plans": len(plans)}

    def sweep_runs(self) -> int:
        """Enqueue runs that should be executing but have no live job; how many.

        A run whose lease expired (its executor died: leases are renewed every quarter
        lease while it lives), a pending one older than AUTOMATION_REDELIVER_SECONDS, a
        retry or a wait that is due.
        """
        ids = self._stale_runs(self.engine.now())
        if not ids:
            return 0
        held = self.redis.hmget(self._key("runs"), [str(i) for i in ids])
        live = self.live_jobs({j.decode() for j in held if j is not None})
        lost = [i for i, j in zip(ids, held, strict=True) if j is None or j.decode() not in live]
        for run_id in lost:
            self.enqueue_run(run_id)
        return len(lost)

    def _stale_runs(self, now) -> list[int]:
        runs = tables.runs
        grace = timedelta(seconds=float(self.config["AUTOMATION_REDELIVER_SECONDS"]))
        lost = sa.and_(
            runs.c.status.in_(["pending", "running", "retrying"]),
            sa.or_(
                sa.and_(runs.c.lease_until.is_(None), runs.c.created_at < now - grace),
                runs.c.lease_until < now,
            ),
        )
        woke = sa.and_(runs.c.status == "waiting", runs.c.resume_at < now)
        with self.tessera.engine.connect() as conn:
            return list(conn.scalars(sa.select(runs.c.id).where(sa.or_(lost, woke)).limit(500)))

    def _replan_if_changed(self) -> None:
        """Plan schedules when the set of installed workflows changed (install, upgrade, recipe)."""
        from tessera.automation.workflows import workflows_of

        fingerprint = sorted(
            (app_id, w.key, repr(w.trigger), w.enabled)
            for app_id in self.tessera.registry.apps
            for w in workflows_of(self.tessera, app_id)
        )
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            schedule.plan_all(self)

    # -- jobs ---------------------------------------------------------------------------
    def handle_event_job(self, event_id: int) -> None:
        """Job body for one event (see :meth:`handle_events_job`)."""
        self.handle_events_job([event_id])

    def handle_events_job(self, event_ids: list[int]) -> None:
        """Job body of ``handle_events``: runs, date re-planning, then delivered_at (in bulk)."""
        from tessera.automation.workflows import RECORD_EVENTS, batch

        with self.tessera.engine.connect() as conn:
            query = (
                sa.select(outbox)
                .where(outbox.c.id.in_(event_ids), outbox.c.delivered_at.is_(None))
                .order_by(outbox.c.id)
            )
            events = [dict(e) for e in conn.execute(query).mappings()]
        with batch():
            for event in events:
                for run_id in self.engine.runs_for(event):
                    self.start_run(run_id)
                if event["event"] in RECORD_EVENTS:
                    schedule.replan_for_event(self, event)
        with self.tessera.engine.begin() as conn:
            relaxed(conn)
            conn.execute(
                outbox.update()
                .where(outbox.c.id.in_(event_ids), outbox.c.delivered_at.is_(None))
                .values(delivered_at=self.engine.now())
            )
        self.redis.hdel(self._key("events"), *[str(i) for i in event_ids])

    def start_run(self, run_id: int) -> str:
        """First attempt of a run, inline; a failure schedules its retry as an RQ job."""
        try:
            return self.engine.execute_run(run_id)
        except RunBusy as busy:
            self._later(run_id, busy)
            return "busy"
        except Exception:  # logged on the run; retried by its own job
            self._schedule_retry(run_id)
            return "failed"

    def _later(self, run_id: int, busy: RunBusy) -> None:
        until = aware(busy.until)
        delay = max((until - self.engine.now()).total_seconds(), 0) + 0.5 if until else 1
        self.enqueue_run(run_id, delay=delay)

    def _schedule_retry(self, run_id: int) -> bool:
        """After a failed attempt: schedule the next one if the budget allows; True if so.

        AUTOMATION_RETRIES retries after the first attempt, the n-th after
        AUTOMATION_RETRY_INTERVALS[n-1] seconds (the last interval repeats). The run
        shows ``retrying`` with the failed attempt's error and when it is retried.
        """
        retries = int(self.config["AUTOMATION_RETRIES"])
        intervals = list(self.config["AUTOMATION_RETRY_INTERVALS"]) or [0]
        with self.tessera.engine.connect() as conn:
            run = conn.execute(
                sa.select(tables.runs.c.status, tables.runs.c.attempt, tables.runs.c.error)
                .where(tables.runs.c.id == run_id)
            ).first()  # fmt: skip
        if run is None or run.status != "failed" or run.attempt > retries:
            return False
        delay = float(intervals[min(run.attempt - 1, len(intervals) - 1)])
        retry_at = self.engine.now() + timedelta(seconds=delay)
        note = (
            f"attempt {run.attempt} of {retries + 1} failed: {run.error}; "
            f"retry at {retry_at:%H:%M:%S}"
        )
        self.engine.mark(run_id, "retrying", retry_at=retry_at, error=note)
        self.enqueue_run(run_id, delay=delay)
        return True

    def execute_run_job(self, run_id: int) -> None:
        """Job body of ``execute_run``; the last failure raises (RQ's failed registry)."""
        try:
            self.engine.execute_run(run_id)
        except RunBusy as busy:
            self._later(run_id, busy)  # early or busy: no attempt is used up
            return
        except Exception:
            if self._schedule_retry(run_id):
                return
            self._forget_run_job(run_id)
            raise
        self._forget_run_job(run_id)

    def _forget_run_job(self, run_id: int) -> None:
        """Drop the run's job marker if it still names this job (the hash stays bounded)."""
        from rq import get_current_job

        job = get_current_job()
        key = self._key("runs")
        if job is not None and self.redis.hget(key, str(run_id)) == job.id.encode():
            self.redis.hdel(key, str(run_id))

    def fire_schedule(self, plan_id: int) -> None:
        """Job body of ``fire_schedule``: claim the plan, run its targets."""
        for run_id in schedule.fire(self, plan_id):
            self.start_run(run_id)

    # -- operations ---------------------------------------------------------------------
    def queue_stats(self) -> dict[str, Any]:
        """Queue depth, started/scheduled/failed job counts and live workers."""
        from rq.worker import Worker

        queue = self.queue
        workers = Worker.all(queue=queue)
        return {
            "queued": queue.count,
            "started": StartedJobRegistry(queue=queue).count,
            "scheduled": ScheduledJobRegistry(queue=queue).count,
            "failed": FailedJobRegistry(queue=queue).count,
            "workers": [
                {"name": w.name, "state": w.get_state(), "last_heartbeat": w.last_heartbeat}
                for w in workers
            ],
            "embedded": self.embedded,
        }

    def failed_jobs(self) -> list[dict[str, Any]]:
        """Jobs in RQ's failed registry: id, function, args, error summary."""
        registry = FailedJobRegistry(queue=self.queue)
        jobs = Job.fetch_many(registry.get_job_ids(), connection=self.redis)
        return [_failed_job(j) for j in jobs if j is not None]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every event is delivered and no run is pending or running (tests, demo)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._wake.set()
            if self._idle():
                return True
            time.sleep(0.02)
        return False

    def _idle(self) -> bool:
        runs = tables.runs
        with self.tessera.engine.connect() as conn:
            pending = conn.execute(
                sa.select(outbox.c.id).where(outbox.c.delivered_at.is_(None)).limit(1)
            ).first()
            busy = conn.execute(
                sa.select(runs.c.id)
                .where(runs.c.status.in_(["pending", "running", "retrying"]))
                .limit(1)
            ).first()
        if pending is not None or busy is not None or self.queue.count:
            return False
        return StartedJobRegistry(queue=self.queue).count == 0


def _failed_job(job: Job) -> dict[str, Any]:
    result = job.latest_result()
    text = (result.exc_string if result is not None else "") or ""
    last = text.strip().splitlines()[-1:] or [""]
    return {"id": job.id, "func": job.func_name, "args": list(job.args), "error": last[0]}


def _split_by_interest(events, flows: dict[str, list]) -> tuple[list[int], list[int]]:
    """(ids some workflow listens to, ids none does): the latter need no job at all."""
    from tessera.automation.workflows import fires_on

    wanted, ignored = [], []
    for ev in events:
        hit = any(
            fires_on(wf, ev)
            or (wf.trigger.get("on") == "date" and wf.record_type == ev["record_type"])
            for wf in flows.get(ev["app_id"], ())
        )
        (wanted if hit else ignored).append(ev["id"])
    return wanted, ignored


def _after_fork_reset(auto: Automation) -> None:
    """In a forked child: no threads, no pooled connections, no Redis socket are shared."""
    ref = weakref.ref(auto)

    def reset() -> None:
        me = ref()
        if me is None:
            return
        me.tessera.engine.dispose(close=False)
        me._threads, me._worker, me._redis, me._held_until = [], None, None, None
        me._stop = threading.Event()

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=reset)
