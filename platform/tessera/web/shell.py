"""The shell: home page (home dashboards, installed apps), an app's overview, navigation."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from tessera.web import common, dashboards

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
    """The ``home:`` dashboard of each app that declares one, then the installed apps."""
    apps = sorted(common.engine_objects().registry.apps.values(), key=lambda a: a.id)
    seen = [common.navigable(a) for a in apps]
    return render_template("home.html", dashboards=dashboards.home_dashboards(seen))


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
