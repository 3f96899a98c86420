"""A minimal landing page listing installed apps until the full web UI lands."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

bp = Blueprint("home", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness probe: the database answers."""
    import sqlalchemy as sa

    with current_app.extensions["tessera"].engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return jsonify(status="ok")
