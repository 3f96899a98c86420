"""Reliability with a real Redis and real worker processes (``flask --app app worker``).

Each test uses its own SQLite file (shared by the test and its workers), a unique queue
name and a flushed Redis db (TESSERA_TEST_REDIS_URL, default redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from automation_helpers import desk, install, make_app, rows, run_rows
from rq import Queue
from rq.registry import FailedJobRegistry

from tessera.automation import runs as ops
from tessera.automation import tables

REPO = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


@pytest.fixture
def env(redis_url, queue_name, tmp_path):
    """Settings shared by the test process and its workers."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "REDIS_URL": redis_url,
        "TESSERA_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "test",
        "AUTOMATION_QUEUE": queue_name,
        "AUTOMATION_POLL_SECONDS": "0.05",
        "AUTOMATION_LEASE_SECONDS": "2",
        "AUTOMATION_REDELIVER_SECONDS": "2",
        "AUTOMATION_RETRIES": "2",
        "AUTOMATION_RETRY_INTERVALS": "[0, 0]",
        "WEBHOOK_ALLOW_PRIVATE": "true",
    }


@pytest.fixture
def t(env, tmp_path):
    """The test's own runtime on the shared database; it never relays (workers do)."""
    config = {
        k: _parse(v) if k.startswith(("AUTOMATION_", "WEBHOOK_")) else v for k, v in env.items()
    }
    app = make_app(env["DATABASE_URL"], tmp_path, **config, AUTOMATION_RELAY=False)
    tessera = app.extensions["tessera"]
    from tessera.users import create_user

    tessera.ann = create_user(tessera.engine, "ann", "password123", role="sales")
    yield tessera
    tessera.engine.dispose()


def _parse(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


class Workers:
    """Worker processes started by a test; all killed at the end."""

    def __init__(self, env: dict, tmp_path: Path):
        self.env, self.tmp_path, self.procs = {**os.environ, **env}, tmp_path, []

    def start(self, name: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                FLASK,
                "--app",
                "app",
                "worker",
                "--name",
                f"{name}-{os.getpid()}-{time.monotonic_ns()}",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches RQ's scheduler child
        )
        self.procs.append(proc)
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        """kill -9 the worker and its forked scheduler (one process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            self.kill(proc)


@pytest.fixture
def workers(env, tmp_path):
    w = Workers(env, tmp_path)
    yield w
    w.stop_all()


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(t) -> list[str]:
    return [r["status"] for r in run_rows(t)]


class SlowStub:
    """A webhook receiver whose first request hangs, so a worker can be killed mid-run."""

    def __init__(self):
        self.keys: list[str] = []
        self.first = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                stub.keys.append(self.headers["Idempotency-Key"])
                if len(stub.keys) == 1:
                    stub.first.set()
                    time.sleep(5)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_kill_9_mid_run_then_restart_has_exactly_once_effects(t, workers):
    stub = SlowStub()
    install(
        t,
        desk(
            [
                {
                    "key": "onboard",
                    "record_type": "customer",
                    "trigger": {"on": "record.created"},
                    "actions": [
                        {
                            "do": "create_record",
                            "record_type": "ticket",
                            "values": {"subject": "before {{ record.name }}"},
                        },
                        {"do": "webhook", "url": stub.url, "retries": 0},
                        {
                            "do": "create_record",
                            "record_type": "ticket",
                            "values": {"subject": "after {{ record.name }}"},
                        },
                        {"do": "notify", "to": "ann", "message": "onboarded {{ record.name }}"},
                    ],
                }
            ]
        ),
    )
    first = workers.start("w1")
    t.records.create("desk", "customer", {"name": "Acme"})
    assert stub.first.wait(60), "the worker never reached the webhook step"
    workers.kill(first)
    assert [x["subject"] for x in rows(t, t.registry.table("desk", "ticket"))] == ["before Acme"]
    workers.start("w2")
    wait_for(lambda: statuses(t) == ["done"], what="the run to finish after restart")
    subjects = [x["subject"] for x in rows(t, t.registry.table("desk", "ticket"))]
    assert subjects == ["before Acme", "after Acme"]
    assert [n["message"] for n in rows(t, tables.notifications)] == ["onboarded Acme"]
    run = ops.get_run(t, run_rows(t)[0]["id"])
    assert run["attempt"] == 2
    assert [(s["path"], s["status"], s["attempts"]) for s in run["steps"]] == [
        ("0", "done", 1),
        ("1", "done", 2),
        ("2", "done", 1),
        ("3", "done", 1),
    ]
    # the external call was in flight when the worker died: sent again with the same key
    assert len(stub.keys) == 2 and len(set(stub.keys)) == 1
    stub.server.shutdown()


def test_1000_changes_while_stopped_then_two_workers_handle_each_once(t, workers):
    install(
        t,
        desk(
            [
                {
                    "key": "greet",
                    "record_type": "customer",
                    "trigger": {"on": "record.created"},
                    "actions": [{"do": "notify", "to": "ann", "message": "{{ record.name }}"}],
                }
            ]
        ),
    )
    t.records.bulk_create("desk", "customer", [{"name": f"c{i}"} for i in range(1000)])
    time.sleep(0.5)
    assert rows(t, tables.notifications) == []  # nobody is working
    workers.start("a")
    workers.start("b")
    wait_for(lambda: statuses(t).count("done") == 1000, timeout=120, what="1000 runs")
    messages = [n["message"] for n in rows(t, tables.notifications)]
    assert len(messages) == 1000 and set(messages) == {f"c{i}" for i in range(1000)}
    assert len(run_rows(t)) == 1000
    with t.engine.connect() as conn:
        from tessera.storage.events import outbox

        undelivered = conn.execute(
            sa.select(sa.func.count()).where(outbox.c.delivered_at.is_(None))
        ).scalar()
    assert undelivered == 0


def test_poisoned_job_retries_then_fails_without_blocking_others(t, workers, env):
    install(
        t,
        desk(
            [
                {
                    "key": "bad",
                    "record_type": "customer",
                    "trigger": {"on": "record.created"},
                    "actions": [
                        {
                            "do": "webhook",
                            "url": "http://127.0.0.1:9/closed",
                            "retries": 0,
                            "timeout": 1,
                        }
                    ],
                },
                {
                    "key": "good",
                    "record_type": "customer",
                    "trigger": {"on": "record.created"},
                    "actions": [{"do": "update_record", "values": {"score": 1}}],
                },
            ]
        ),
    )
    workers.start("p")
    for i in range(5):
        t.records.create("desk", "customer", {"name": f"c{i}"})

    def settled():
        by = [(r["workflow_key"], r["status"], r["attempt"]) for r in run_rows(t)]
        return sorted(by) == sorted([("bad", "failed", 3)] * 5 + [("good", "done", 1)] * 5)

    wait_for(settled, what="good runs done and bad runs failed after 2 retries")
    assert all(r["score"] == 1 for r in rows(t, t.registry.table("desk", "customer")))
    failed = FailedJobRegistry(queue=Queue(env["AUTOMATION_QUEUE"], connection=t.automation.redis))
    wait_for(lambda: failed.count == 5, what="5 jobs in RQ's failed registry")
