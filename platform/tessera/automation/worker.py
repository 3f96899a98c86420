"""RQ workers that run Tessera jobs inside the Flask app context.

:class:`TesseraWorker` is what ``flask --app app worker`` runs (no fork per job: jobs are
short database work). :class:`ThreadWorker` runs in a background thread of the web process
for the embedded default (fakeredis): no signal handlers (only the main thread may set
them) and timer-based job timeouts.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker


class TesseraWorker(SimpleWorker):
    """A SimpleWorker that pushes ``flask_app``'s context around every job."""

    def __init__(self, *args: Any, flask_app: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.flask_app = flask_app

    def perform_job(self, *args: Any, **kwargs: Any) -> Any:
        """Run the job inside an app context (STYLE: jobs find the runtime in current_app)."""
        with self.flask_app.app_context():
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
