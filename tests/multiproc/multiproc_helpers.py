"""Helpers of the multi-process suite: gunicorn and ``flask worker`` subprocesses, HTTP calls.

A :class:`Cluster` is one deployment as docs/deploy.md describes it: gunicorn serving
``app:create_app(...)`` with several worker processes, optional ``flask --app app worker``
processes, all on one PostgreSQL database (and one Redis database when given). gunicorn's
access log carries the process id of every answer (``%(p)s``), so a test can tell which
web process served what.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FLASK = str(BIN / "flask")
GUNICORN = str(BIN / "gunicorn")

#: fast automation settings (environment form: JSON values, as docs/deploy.md says)
FAST_ENV = {
    "AUTOMATION_POLL_SECONDS": "0.05",
    "AUTOMATION_RELAY_SPACING": "0.01",
    "AUTOMATION_RECHECK_SECONDS": "0.5",
    "AUTOMATION_REDELIVER_SECONDS": "1",
    "AUTOMATION_LEASE_SECONDS": "3",
    "AUTOMATION_RELAY_LEASE_SECONDS": "3",
    "AUTOMATION_RETRY_INTERVALS": "[0.5, 0.5]",
}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.05):
    """Poll ``predicate`` until it returns something true (returned); AssertionError at the end."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


class Cluster:
    """gunicorn with ``web`` processes (+ ``workers`` RQ workers) started as subprocesses."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str | None, config: dict):
        self.tmp = tmp_path
        self.port = free_port()
        self.access_log = tmp_path / "access.log"
        self.env = {
            **os.environ,
            **FAST_ENV,
            "DATABASE_URL": database_url,
            "TESSERA_INSTANCE": str(tmp_path / "instance"),
            "SECRET_KEY": "multiproc",
            "AUTOMATION_QUEUE": f"mp{uuid.uuid4().hex[:8]}",
        }
        self.env.pop("REDIS_URL", None)
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.config = config
        self.procs: list[subprocess.Popen] = []
        self.worker_logs: list[Path] = []

    # -- processes ---------------------------------------------------------------------
    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen:
        out = open(log, "w")  # noqa: SIM115 - the child keeps writing to it
        proc = subprocess.Popen(
            args, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group each: stop() reaches every child
        )  # fmt: skip
        out.close()
        self.procs.append(proc)
        return proc

    def start_web(self, processes: int = 2) -> None:
        """gunicorn with ``processes`` sync workers: a busy process accepts no connection, so
        concurrent requests spread over all of them."""
        factory = f"app:create_app({self.config!r})"
        self.web = self._spawn(
            [GUNICORN, "--bind", f"127.0.0.1:{self.port}", "--workers", str(processes),
             "--worker-class", "sync", "--access-logfile", str(self.access_log),
             "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", factory],
            self.tmp / "gunicorn.log",
        )  # fmt: skip

    def start_workers(self, count: int = 2) -> None:
        """``count`` ``flask --app app worker`` processes (RQ workers)."""
        for i in range(count):
            log = self.tmp / f"worker{i}.log"
            self.worker_logs.append(log)
            self._spawn([FLASK, "--app", "app", "worker", "--name", f"mp{os.getpid()}-{i}"], log)

    def wait_ready(self, processes: int = 2, timeout: float = 30) -> None:
        """Until ``processes`` distinct gunicorn workers answered /healthz."""

        def ready() -> bool:
            self.check_alive()
            with contextlib.suppress(OSError):
                self.parallel([("GET", "/healthz", None, None)] * 4)
            return len(self.pids("/healthz", 200)) >= processes

        wait_for(ready, timeout, f"{processes} gunicorn processes answering /healthz", 0.2)

    def check_alive(self) -> None:
        """AssertionError with the log when a started process exited."""
        for proc in self.procs:
            if proc.poll() is not None:
                logs = [self.tmp / "gunicorn.log", *self.worker_logs]
                tails = "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())
                raise AssertionError(f"{proc.args[:4]} exited {proc.returncode}:\n{tails}")

    def stop(self) -> None:
        """SIGKILL every process group: nothing here needs a graceful end (the database
        is emptied for the next test), and graceful ones take seconds each."""
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait(10)

    # -- HTTP --------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: object = None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        """One request on a fresh connection: (status, headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            hdrs = dict(headers or {})
            data = None
            if isinstance(body, dict) and hdrs.get("Content-Type") == "form":
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
                data = urlencode(body)
            elif body is not None:
                hdrs["Content-Type"] = "application/json"
                data = json.dumps(body)
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def parallel(self, calls: list[tuple]) -> list[tuple[int, dict, bytes]]:
        """Several requests at once (each on its own connection), results in order."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(calls))) as pool:
            return list(pool.map(lambda call: self.request(*call), calls))

    # -- the access log ----------------------------------------------------------------
    def log_lines(self) -> list[tuple[str, str, str, int]]:
        """(pid, method, path, status) of every answered request so far."""
        if not self.access_log.exists():
            return []
        rows = []
        for line in self.access_log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[3].isdigit():
                rows.append((parts[0], parts[1], parts[2], int(parts[3])))
        return rows

    def pids(self, path: str, status: int | None = None, method: str | None = None,
             since: int = 0) -> set[str]:  # fmt: skip
        """Processes that answered ``path`` (with ``status``), from access log line ``since``."""
        return {
            pid
            for pid, m, p, s in self.log_lines()[since:]
            if p == path and (status is None or s == status) and (method is None or m == method)
        }
