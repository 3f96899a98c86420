"""RQ job entry points: dotted paths with JSON arguments (ids only), run in an app context.

The worker (:mod:`tessera.automation.worker`) pushes the Flask app context around each
job, so these functions find the runtime in ``current_app`` and delegate to it.
"""

from __future__ import annotations

from flask import current_app


def _automation():
    return current_app.extensions["tessera"].automation


def handle_event(event_id: int) -> None:
    """Run the workflows an outbox event triggers, then mark the event delivered."""
    _automation().handle_event_job(int(event_id))


def handle_events(event_ids: list[int]) -> None:
    """Handle a batch of outbox events in order (the relay's job for a backlog)."""
    _automation().handle_events_job([int(i) for i in event_ids])


def execute_run(run_id: int) -> None:
    """Execute (retry, resume) one workflow run."""
    _automation().execute_run_job(int(run_id))


def fire_schedule(plan_id: int) -> None:
    """Fire a planned cron or date trigger (once, however often it is enqueued)."""
    _automation().fire_schedule(int(plan_id))


def noop() -> None:
    """Does nothing: the benchmark's bare RQ enqueue-to-run baseline."""
