"""RQ entry points of data in/out: dotted paths with JSON arguments, run in an app context."""

from __future__ import annotations

from flask import current_app


def run_import(job_id: int, mode: str) -> None:
    """Check (``mode="check"``) or run (``"run"``) import job ``job_id``."""
    from tessera.dataio.service import execute

    execute(current_app.extensions["tessera"], int(job_id), str(mode))
