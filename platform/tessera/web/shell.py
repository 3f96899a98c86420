"""The shell: home page (installed apps), an app's overview, and the navigation data."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from tessera.web import common

bp = Blueprint("shell", __name__)
common.protect(bp)


@bp.app_context_processor
def navigation() -> dict:
    """The installed apps (for the sidebar) on every page of a signed-in user."""
    if not g.get("user"):
        return {"nav_apps": []}
    apps = sorted(common.engine_objects().registry.apps.values(), key=lambda a: a.id)
    apps = [common.navigable(a) for a in apps]  # only what the user may read
    return {
        "nav_apps": [a for a in apps if a.record_types],
        "has_apps": bool(apps),
        "current_path": request.path,
    }


@bp.get("/")
def home():
    """The installed apps with their record types and views."""
    return render_template("home.html")


@bp.get("/a/<app_id>")
def app_home(app_id: str):
    """One app: its record types (with counts) and its views."""
    app = common.navigable(common.meta(app_id))
    queries = common.engine_objects().queries
    counts = {
        rt.key: queries.list(
            app.id, rt.key, limit=1, fields=["id"], with_total=True, user_id=common.who()
        ).total
        for rt in app.record_types
    }
    return render_template("app.html", app=app, counts=counts)
