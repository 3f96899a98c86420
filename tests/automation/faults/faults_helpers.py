"""Fault-injection helpers: a private redis-server, worker processes, a counting sink.

Scale with ``TESSERA_FAULTS_CREATES`` (default 300 creates for the kill tests; the issue's
full run is 2,000), ``TESSERA_FAULTS_KILL_EVERY`` (seconds between kills, default 1.5) and
``TESSERA_FAULTS_DRAIN`` (seconds a test waits for the backlog, default 45).
Figures (sent, effects, missing, doubled, recovery times) are appended to
``tests/artifacts/faults.txt`` so a run can be quoted without ``-s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FLASK = str(Path(sys.executable).with_name("flask"))
ARTIFACT = REPO / "tests" / "artifacts" / "faults.txt"
CREATES = int(os.environ.get("TESSERA_FAULTS_CREATES", "300"))
KILL_EVERY = float(os.environ.get("TESSERA_FAULTS_KILL_EVERY", "1.5"))
#: how long a test waits for the backlog to drain before it reports and fails
DRAIN = float(os.environ.get("TESSERA_FAULTS_DRAIN", "45"))

#: fast fault-test settings shared by the test runtime and its workers
FAST_ENV = {
    "AUTOMATION_POLL_SECONDS": "0.05",
    "AUTOMATION_LEASE_SECONDS": "2",
    "AUTOMATION_RELAY_LEASE_SECONDS": "2",
    "AUTOMATION_RECHECK_SECONDS": "0.5",
    "AUTOMATION_REDELIVER_SECONDS": "1",
    "AUTOMATION_RETRIES": "2",
    "AUTOMATION_RETRY_INTERVALS": "[0.5, 0.5]",
    "WEBHOOK_ALLOW_PRIVATE": "true",
}

FAULT_APP = {
    "id": "fx",
    "version": "1.0.0",
    "label": "Faults",
    "record_types": [
        {
            "key": "customer",
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "required": True},
                {"key": "pings", "type": "number"},
                {"key": "hits", "type": "number"},
                {"key": "touches", "type": "number"},
            ],
        },
        {
            "key": "ticket",
            "title": "subject",
            "fields": [
                {"key": "subject", "type": "text", "required": True},
                {"key": "customer", "type": "link", "to": "customer", "on_delete": "cascade"},
            ],
        },
        {
            "key": "token",
            "title": "code",
            "fields": [{"key": "code", "type": "text", "required": True, "unique": True}],
        },
    ],
}


def fault_app(workflows: list[dict]) -> dict:
    """The faults template with these workflows."""
    return {**FAULT_APP, "workflows": workflows}


def record(line: str) -> None:
    """Append one line of figures to tests/artifacts/faults.txt (and print it)."""
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with ARTIFACT.open("a") as fh:
        fh.write(f"{stamp} {line}\n")
    print(line)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server (no persistence) on a spare port: killed and restarted at will."""

    def __init__(self, tmp_path: Path):
        if not shutil.which("redis-server"):
            pytest.skip("redis-server not installed")
        self.port, self.tmp_path, self.proc = free_port(), tmp_path, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class Workers:
    """``flask --app app worker`` processes started by a test; all killed at the end."""

    def __init__(self, env: dict, tmp_path: Path):
        self.env, self.tmp_path, self.procs = {**os.environ, **env}, tmp_path, []
        self.count = 0

    def start(self, name: str = "w", extra: dict | None = None) -> subprocess.Popen:
        self.count += 1
        log = open(self.tmp_path / f"{name}-{self.count}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [FLASK, "--app", "app", "worker", "--name", f"{name}-{os.getpid()}-{self.count}"],
            cwd=REPO, env={**self.env, **(extra or {})}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def live(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def dead_logs(self, lines: int = 30) -> str:
        """The last lines of the log of every worker that exited (for failure messages)."""
        out = []
        for i, proc in enumerate(self.procs, start=1):
            if proc.poll() is not None:
                logs = sorted(self.tmp_path.glob(f"*-{i}.log"))
                tail = logs[0].read_text(errors="replace").splitlines()[-lines:] if logs else []
                out.append(f"worker {i} exited {proc.returncode}:\n" + "\n".join(tail))
        return "\n".join(out)

    @staticmethod
    def kill(proc: subprocess.Popen, group: bool = True) -> None:
        """kill -9 the worker (and, with ``group``, anything in its process group)."""
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            self.kill(proc)


class Sink:
    """A webhook receiver counting deliveries per Idempotency-Key (optionally slow or 500)."""

    def __init__(self, delay: float = 0.0, status: int = 200):
        self.keys: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.delay, self.status = delay, status
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with sink.lock:
                    sink.keys[self.headers.get("Idempotency-Key", "")] += 1
                if sink.delay:
                    time.sleep(sink.delay)
                self.send_response(sink.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if sink.status < 300 else b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def wait_for(predicate, timeout: float, what: str, step: float = 0.1) -> float:
    """Poll until ``predicate()``; the seconds it took (AssertionError at the deadline)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def parse(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value
