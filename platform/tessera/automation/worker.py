"""RQ workers that run Tessera jobs inside the Flask app context.

:class:`TesseraWorker` is what ``flask --app app worker`` runs (no fork per job: jobs are
short database work; no scheduler process either: the relay holder moves due scheduled
jobs). While it works, a thread renews ``tessera:alive:<worker name>`` every second
(expiring after :data:`ALIVE_MS`): the relay treats a started job whose worker's key has
expired as abandoned and enqueues its work again. Before each job the registry of
installed apps is reloaded if an install or upgrade happened in another process.

:class:`ThreadWorker` runs in a background thread of the web process for the embedded
default (fakeredis): no signal handlers (only the main thread may set them) and timer-based
job timeouts.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker

ALIVE_MS = 4000


def alive_key(worker_name: str) -> str:
    """The Redis key a live worker keeps renewing."""
    return f"tessera:alive:{worker_name}"


class TesseraWorker(SimpleWorker):
    """A SimpleWorker that pushes ``flask_app``'s context around every job."""

    max_connection_wait_time = 2.0  # RQ's reconnect backoff cap (its default is 60 s)

    def __init__(self, *args: Any, flask_app: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.flask_app = flask_app
        self._alive_stop = threading.Event()

    def work(self, *args: Any, **kwargs: Any) -> Any:
        """RQ's loop, with the liveness thread beside it."""
        self._alive_stop.clear()
        beat = threading.Thread(target=self._keep_alive, name="tessera-alive", daemon=True)
        beat.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self._alive_stop.set()

    def _keep_alive(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # Redis away: the worker loop reconnects
                self.connection.set(alive_key(self.name), b"1", px=ALIVE_MS)
            if self._alive_stop.wait(1.0):
                return

    def perform_job(self, *args: Any, **kwargs: Any) -> Any:
        """Run the job inside an app context (STYLE: jobs find the runtime in current_app)."""
        with self.flask_app.app_context():
            self.flask_app.extensions["tessera"].registry.refresh_if_changed()
            return super().perform_job(*args, **kwargs)


class ThreadWorker(TesseraWorker):
    """The embedded worker: safe to run in a non-main thread.

    fakeredis's blocking pop does not wake when another thread pushes, so this worker
    pops without blocking and sleeps on ``wakeup`` (set by whoever enqueues) in between.
    """

    death_penalty_class = TimerDeathPenalty

    def __init__(self, *args: Any, wakeup: threading.Event, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.wakeup = wakeup

    def _install_signal_handlers(self) -> None:
        """Signals only work in the main thread; the web process owns them."""

    def dequeue_job_and_maintain_ttl(self, timeout: Any, max_idle_time: Any = None) -> Any:
        """Non-blocking pop, then wait for a wake-up (or 0.1 s); None only when stopping."""
        last_beat = 0.0
        while not self._stop_requested:
            if time.monotonic() - last_beat > 5:
                self.heartbeat()
                last_beat = time.monotonic()
            self.wakeup.clear()
            result = self.queue_class.dequeue_any(
                self._ordered_queues,
                None,
                connection=self.connection,
                job_class=self.job_class,
                serializer=self.serializer,
                death_penalty_class=self.death_penalty_class,
            )
            if result is not None:
                return result
            self.wakeup.wait(0.1)
        return None
