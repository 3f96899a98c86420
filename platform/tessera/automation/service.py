"""The automation runtime of one Tessera instance: Redis connection, queue, relay, workers.

Without ``REDIS_URL`` it runs embedded: fakeredis, a worker thread and a relay thread in
this process, started on the first committed record write (or :meth:`Automation.start`).
With ``REDIS_URL`` this process only relays and enqueues; ``flask --app app worker``
processes do the work.

The relay moves outbox events to the queue in id order. Relays (web process, every worker)
share a high-water mark in ``automation_relay`` and advance it with compare-and-set, so each
event is normally enqueued once; an event's ``delivered_at`` is set when its job finished.
The sweep re-enqueues what was lost (events, runs, plans older than
``AUTOMATION_REDELIVER_SECONDS``); every job is idempotent, so a duplicate does no harm.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from rq import Queue, Retry
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
    "AUTOMATION_LEASE_SECONDS": 120,
    "AUTOMATION_REDELIVER_SECONDS": 60,
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
        self._fingerprint: Any = None
        tessera.records.after_commit.append(self._after_commit)

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
        """Remember the Flask app: workers run jobs inside its app context."""
        self.flask_app = flask_app

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

    def _work(self) -> None:
        from tessera.automation.worker import ThreadWorker

        self._worker = ThreadWorker(
            [self.queue], connection=self.redis, flask_app=self.flask_app, wakeup=self._job_ready
        )
        self._worker.work(logging_level="WARNING", dequeue_strategy="default")

    def make_worker(self, name: str | None = None) -> Any:
        """A worker for this queue (``flask worker`` calls ``.work(with_scheduler=True)``)."""
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
            except Exception:  # the loop must survive a database or Redis hiccup
                log.exception("automation relay tick failed; retrying")
                time.sleep(poll)

    def tick(self) -> None:
        """One relay pass: enqueue new events, and every few seconds sweep what was missed."""
        while self.relay_once() >= 500:
            pass
        if self.embedded:
            self._move_scheduled()
        if time.monotonic() - self._last_sweep >= 5:
            self._last_sweep = time.monotonic()
            self.sweep()

    def relay_once(self, batch: int = 500) -> int:
        """Claim the next outbox ids past the shared mark and enqueue them; how many.

        Events no workflow listens to are marked delivered in the same transaction and
        get no job. Workflow lists are read before the write transaction opens (on
        SQLite a second connection inside it would wait for its own lock).
        """
        rs = tables.relay_state
        flows = self._workflows_by_app()
        with self.tessera.engine.begin() as conn:
            last = conn.execute(sa.select(rs.c.last_id).where(rs.c.name == "outbox")).scalar()
            if last is None:
                conn.execute(rs.insert().values(name="outbox", last_id=0))
                last = 0
            events = conn.execute(
                sa.select(outbox.c.id, outbox.c.event, outbox.c.app_id, outbox.c.record_type,
                          outbox.c.payload)
                .where(outbox.c.id > last)
                .order_by(outbox.c.id)
                .limit(batch)
            ).mappings().all()  # fmt: skip
            if not events:
                return 0
            won = conn.execute(
                rs.update()
                .where(rs.c.name == "outbox", rs.c.last_id == last)
                .values(last_id=events[-1]["id"], updated_at=self.engine.now())
            ).rowcount
            wanted, ignored = _split_by_interest(events, flows)
            if won and ignored:
                conn.execute(
                    outbox.update()
                    .where(outbox.c.id.in_(ignored))
                    .values(delivered_at=self.engine.now())
                )
        if won and wanted:
            self.enqueue_events(wanted)
        return len(events) if won else 0

    def _workflows_by_app(self) -> dict[str, list]:
        from tessera.automation.workflows import batch as memo_batch
        from tessera.automation.workflows import workflows_of

        with memo_batch():
            return {a: workflows_of(self.tessera, a) for a in list(self.tessera.registry.apps)}

    def enqueue_events(self, ids: list[int]) -> None:
        """Enqueue ``handle_events`` jobs for outbox ids, in order, AUTOMATION_BATCH per job."""
        retry = Retry(max=3, interval=[1, 5, 30])
        size = max(1, int(self.config["AUTOMATION_BATCH"]))
        with self.redis.pipeline() as pipe:
            for i in range(0, len(ids), size):
                chunk = ids[i : i + size]
                self.queue.enqueue(
                    f"{JOBS}.handle_events", chunk, job_id=f"evt-{chunk[0]}-{chunk[-1]}",
                    retry=retry, result_ttl=0, job_timeout=self.config["AUTOMATION_JOB_TIMEOUT"],
                    pipeline=pipe,
                )  # fmt: skip
            pipe.execute()
        self._job_ready.set()

    def enqueue_run(self, run_id: int, delay: float = 0, retries: int = 0) -> None:
        """Enqueue ``execute_run`` now or after ``delay`` seconds, with ``retries`` more tries."""
        intervals = list(self.config["AUTOMATION_RETRY_INTERVALS"]) or [0]
        kwargs: dict[str, Any] = {
            "result_ttl": 0,
            "job_timeout": self.config["AUTOMATION_JOB_TIMEOUT"],
        }
        if retries > 0:
            kwargs["retry"] = Retry(max=retries, interval=intervals[1:] or intervals[-1:])
        func = f"{JOBS}.execute_run"
        if delay > 0:
            self.queue.enqueue_in(timedelta(seconds=delay), func, run_id, **kwargs)
        else:
            self.queue.enqueue(func, run_id, **kwargs)
        self._job_ready.set()

    def enqueue_fire(self, plan_id: int, when: Any = None) -> None:
        """Enqueue ``fire_schedule`` at ``when`` (now when None)."""
        func, job_id = f"{JOBS}.fire_schedule", f"plan-{plan_id}"
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
        """Re-enqueue lost work: old undelivered events, stale runs, overdue plans; replan."""
        grace = timedelta(seconds=float(self.config["AUTOMATION_REDELIVER_SECONDS"]))
        now = self.engine.now()
        events = self._stale_events(now - grace)
        if events:
            self.enqueue_events(events)
        stale = self._stale_runs(now, grace)
        for run_id in stale:
            self.enqueue_run(run_id)
        plans = schedule.overdue(self, timedelta(seconds=2))
        for plan_id in plans:
            self.enqueue_fire(plan_id)
        self._replan_if_changed()
        return {"events": len(events), "runs": len(stale), "plans": len(plans)}

    def _stale_events(self, before) -> list[int]:
        rs = tables.relay_state
        with self.tessera.engine.connect() as conn:
            mark = conn.execute(sa.select(rs.c.last_id).where(rs.c.name == "outbox")).scalar() or 0
            return list(
                conn.scalars(
                    sa.select(outbox.c.id)
                    .where(
                        outbox.c.delivered_at.is_(None),
                        outbox.c.id <= mark,
                        outbox.c.created_at < before,
                    )
                    .order_by(outbox.c.id)
                    .limit(1000)
                )
            )

    def _stale_runs(self, now, grace) -> list[int]:
        runs = tables.runs
        lost = sa.and_(
            runs.c.status.in_(["pending", "running", "retrying"]),
            sa.or_(
                sa.and_(runs.c.lease_until.is_(None), runs.c.created_at < now - grace),
                runs.c.lease_until < now - grace,
            ),
        )
        woke = sa.and_(runs.c.status == "waiting", runs.c.resume_at < now - timedelta(seconds=2))
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
            query = sa.select(outbox).where(outbox.c.id.in_(event_ids)).order_by(outbox.c.id)
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

    def start_run(self, run_id: int) -> str:
        """First attempt of a run, inline; a failure schedules retries as RQ jobs."""
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

    def _schedule_retry(self, run_id: int) -> None:
        retries = int(self.config["AUTOMATION_RETRIES"])
        if retries <= 0:
            return
        delay = float((list(self.config["AUTOMATION_RETRY_INTERVALS"]) or [0])[0])
        self.engine.mark(run_id, "retrying", retry_at=self.engine.now() + timedelta(seconds=delay))
        self.enqueue_run(run_id, delay=delay, retries=retries - 1)

    def execute_run_job(self, run_id: int) -> None:
        """Job body of ``execute_run``: RQ's Retry re-runs it; the last failure stays failed."""
        from rq import get_current_job

        try:
            self.engine.execute_run(run_id)
        except RunBusy as busy:
            self._later(run_id, busy)
        except Exception:
            job = get_current_job()
            if job is not None and job.retries_left:
                interval = job.get_retry_interval() if hasattr(job, "get_retry_interval") else 0
                self.engine.mark(
                    run_id, "retrying", retry_at=self.engine.now() + timedelta(seconds=interval)
                )
            raise

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
        return pending is None and busy is None and self.queue.count == 0


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
