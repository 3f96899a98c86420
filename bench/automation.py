"""Benchmark: automation latency and throughput with a real Redis and a real worker process.

    .venv/bin/python bench/automation.py            # REDIS_URL or redis://127.0.0.1:6379/14
    .venv/bin/python bench/automation.py --events 500 --bulk 3000

Measures, in one run and on one machine:
- event-to-action latency: a record created one at a time (spaced, so nothing queues) to
  its workflow's ``notify`` step committed, from the outbox ``created_at`` to the step's
  commit time; p50 / p99;
- throughput on that simple action: ``--bulk`` records created while no worker runs, then
  one worker (and then two, ``--workers``) started; actions per second from first to last
  step, and the scaling of two workers over one (target: >= 1.8x);
- RQ's bare baseline in the same run: a no-op job's enqueue-to-end time (p50 / p99) and
  one worker's no-op jobs per second.
Uses its own SQLite file (or ``--database-url``), a unique queue, and cleans up. Prints
the figures (and ``--json`` for the lead's ``make bench`` wiring). Never part of tests.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
FLASK = str(Path(sys.executable).with_name("flask"))
TEMPLATE = {
    "id": "benchauto",
    "version": "1.0.0",
    "label": "Bench automation",
    "record_types": [
        {"key": "item", "title": "name", "fields": [{"key": "name", "type": "text"}]},
    ],
    "workflows": [
        {
            "key": "ping",
            "record_type": "item",
            "trigger": {"on": "record.created"},
            "actions": [{"do": "notify", "to": "bench", "message": "{{ record.name }}"}],
        }
    ],
}


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Setup:
    """The app in this process, its settings, and the worker process it can start/stop."""

    def __init__(self, database_url: str, redis_url: str, tmp: Path):
        self.queue = f"bench{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TESSERA_INSTANCE": str(tmp / "instance"),
            "SECRET_KEY": "bench",
            "AUTOMATION_QUEUE": self.queue,
            "AUTOMATION_POLL_SECONDS": "0.05",
        }
        from tessera import create_app

        self.flask = create_app(
            {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "TESSERA_INSTANCE": str(tmp / "instance"),
                "SECRET_KEY": "bench",
                "AUTOMATION_QUEUE": self.queue,
                "AUTOMATION_POLL_SECONDS": 0.05,
            }
        )
        self.t = self.flask.extensions["tessera"]
        self.workers: list[subprocess.Popen] = []
        self.log = open(tmp / "worker.log", "w")  # noqa: SIM115 - closed in close()

    def install(self) -> None:
        """Install the bench template and its notification target user."""
        import yaml

        from tessera.meta import app_from_data
        from tessera.storage import installer
        from tessera.users import create_user

        create_user(self.t.engine, "bench", "password123")
        app = app_from_data(TEMPLATE)
        installer.install(self.t.engine, app, yaml.safe_dump(TEMPLATE))
        self.t.registry.reload()

    def start_worker(self, *extra: str, count: int = 1) -> None:
        """``count`` ``flask --app app worker`` processes, started together."""
        for i in range(count):
            self.workers.append(
                subprocess.Popen(
                    [FLASK, "--app", "app", "worker", "--name", f"{self.queue}-{i}", *extra],
                    cwd=REPO,
                    env=self.env,
                    stdout=self.log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a process group: stopping reaches its children
                )
            )
        time.sleep(2.0)  # import + connect + first sweep before measuring

    def stop_worker(self) -> None:
        """Stop the workers (SIGTERM, then wait)."""
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:  # a warm shutdown stuck: the figures are taken
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(10)
        self.workers = []

    def close(self) -> None:
        """Stop everything and forget the queue."""
        self.stop_worker()
        self.t.automation.stop()
        self.t.automation.redis.delete(*self.t.automation.redis.keys(f"rq:*{self.queue}*") or ["x"])
        self.t.engine.dispose()
        self.log.close()


def step_times(t, since_id: int = 0) -> list[tuple[float, float]]:
    """(event created, step committed) epoch seconds of every notify step after ``since_id``."""
    from tessera.automation import tables
    from tessera.automation.engine import aware
    from tessera.storage.events import outbox

    runs, steps = tables.runs, tables.steps
    query = (
        sa.select(outbox.c.created_at, steps.c.started_at)
        .join(runs, runs.c.event_id == outbox.c.id)
        .join(steps, steps.c.run_id == runs.c.id)
        .where(steps.c.status == "done", outbox.c.id > since_id)
    )
    with t.engine.connect() as conn:
        return [(aware(a).timestamp(), aware(b).timestamp()) for a, b in conn.execute(query)]


def wait_done(t, count: int, since_id: int, timeout: float = 300) -> list[tuple[float, float]]:
    """Poll until ``count`` steps after ``since_id`` are done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        times = step_times(t, since_id)
        if len(times) >= count:
            return times
        time.sleep(0.2)
    raise SystemExit(f"timed out: {len(step_times(t, since_id))} of {count} actions done")


def last_event(t) -> int:
    """The newest outbox id (0 when empty)."""
    from tessera.storage.events import outbox

    with t.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.max(outbox.c.id), 0))).scalar()


def latency(s: Setup, events: int, gap: float) -> dict[str, float]:
    """Record created -> action committed, one at a time."""
    since = last_event(s.t)
    for i in range(events):
        s.t.records.create("benchauto", "item", {"name": f"lat{i}"})
        time.sleep(gap)
    times = wait_done(s.t, events, since)
    ms = [(b - a) * 1000 for a, b in times]
    return {"p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99), "mean_ms": statistics.fmean(ms)}


def throughput(s: Setup, bulk: int, workers: int = 1) -> dict[str, float]:
    """``workers`` workers' actions per second over a backlog of ``bulk`` events."""
    s.stop_worker()
    s.t.automation.stop()
    since = last_event(s.t)
    s.t.records.bulk_create("benchauto", "item", [{"name": f"bulk{i}"} for i in range(bulk)])
    s.start_worker(count=workers)
    times = wait_done(s.t, bulk, since)
    done = sorted(b for _, b in times)
    return {"actions": bulk, "workers": workers, "per_second": (bulk - 1) / (done[-1] - done[0])}


def rq_baseline(s: Setup, jobs: int, bulk: int, gap: float) -> dict[str, float]:
    """A bare no-op job through the same queue and worker process: enqueue-to-end."""
    queue = s.t.automation.queue
    enqueued = []
    for _ in range(jobs):
        enqueued.append(queue.enqueue("tessera.automation.jobs.noop", result_ttl=600))
        time.sleep(gap)
    _wait_jobs(enqueued)
    ms = [(j.ended_at - j.enqueued_at).total_seconds() * 1000 for j in _refresh(enqueued)]
    s.stop_worker()
    batch = [queue.enqueue("tessera.automation.jobs.noop", result_ttl=600) for _ in range(bulk)]
    s.start_worker("--no-relay")
    _wait_jobs(batch)
    ended = sorted(j.ended_at.timestamp() for j in _refresh(batch))
    for job in enqueued + batch:
        job.delete()
    return {
        "p50_ms": pct(ms, 50),
        "p99_ms": pct(ms, 99),
        "per_second": (bulk - 1) / (ended[-1] - ended[0]),
    }


def _refresh(jobs):
    for job in jobs:
        job.refresh()
    return jobs


def _wait_jobs(jobs, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(j.get_status(refresh=True) == "finished" for j in jobs[-5:]) and all(
            j.get_status(refresh=True) == "finished" for j in jobs
        ):
            return
        time.sleep(0.2)
    raise SystemExit("timed out waiting for no-op jobs")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the figures, return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--bulk", type=int, default=2000)
    parser.add_argument("--gap", type=float, default=0.02, help="seconds between spaced events")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--workers", type=int, default=2, help="also measure this many workers")
    parser.add_argument("--skip-latency", action="store_true", help="throughput figures only")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "platform"))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        s = Setup(url, args.redis_url, Path(tmp))
        try:
            s.install()
            lat = base = None
            if not args.skip_latency:
                s.start_worker()
                lat = latency(s, args.events, args.gap)
            thr = throughput(s, args.bulk)
            many = throughput(s, args.bulk, args.workers) if args.workers > 1 else None
            if not args.skip_latency:
                base = rq_baseline(s, args.events, args.bulk, args.gap)
        finally:
            s.close()
    figures = {"database": url.split(":")[0], "latency": lat, "throughput": thr,
               "throughput_many": many, "rq_noop": base}  # fmt: skip
    report(figures)
    if args.json:
        print(json.dumps(figures))
    return figures


def report(f: dict) -> None:
    """Print the figures next to RQ's bare no-op numbers and the targets."""
    lat, thr, many, base = f["latency"], f["throughput"], f["throughput_many"], f["rq_noop"]
    print(f"automation benchmark ({f['database']}, real Redis, worker processes)")
    if lat:
        print(f"  event -> action latency  p50 {lat['p50_ms']:7.1f} ms   "
              f"p99 {lat['p99_ms']:7.1f} ms   (target p50 < 50, p99 < 250)")  # fmt: skip
    if base:
        print(f"  RQ no-op enqueue -> end  p50 {base['p50_ms']:7.1f} ms   "
              f"p99 {base['p99_ms']:7.1f} ms")  # fmt: skip
    print(f"  simple actions / s, one worker {thr['per_second']:8.0f}   (target >= 500)")
    if many:
        ratio = many["per_second"] / thr["per_second"]
        print(f"  simple actions / s, {many['workers']} workers {many['per_second']:7.0f}   "
              f"{ratio:.2f}x one worker (target >= 1.8x)")  # fmt: skip
    if base:
        print(f"  RQ no-op jobs / s, one worker  {base['per_second']:8.0f}")


if __name__ == "__main__":
    main()
