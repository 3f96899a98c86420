"""Access pages: "why can this user see this record?" and shares (admins), the customer pool.

Thin views over :mod:`tessera.access.sharing` and :mod:`tessera.access.pool`; the
services decide, these pages only ask and show.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tessera import users
from tessera.access import people, pool, sharing
from tessera.web import common

bp = Blueprint("access", __name__)
#: zh-CN texts of these pages (a catalog of their own, beside the main one)
TRANSLATIONS = Path(__file__).resolve().parent / "translations_access"
common.protect(bp)


def _admin() -> None:
    if not g.user.get("is_admin"):
        abort(403, _("Only administrators can see who may access a record."))


@bp.get("/a/<app_id>/r/<rt_key>/<int:record_id>/access")
def explain(app_id: str, rt_key: str, record_id: int):
    """Pick a user: can they read, update, delete this record, and which rule says so."""
    _admin()
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    t = common.engine_objects()
    record = t.records.get(app.id, rt.key, record_id)
    user_id = request.args.get("user", type=int)
    why = sharing.explain(t, app.id, rt.key, record_id, user_id) if user_id else None
    return render_template(
        "access.html",
        app=app,
        rt=rt,
        record=record,
        people=users.display_names(t.engine),
        teams=[(team["id"], team["name"]) for team in people.list_teams(t.engine)],
        user_id=user_id,
        why=why,
        shares=sharing.shares_of(t, app.id, rt.key, record_id),
    )


@bp.post("/a/<app_id>/r/<rt_key>/<int:record_id>/access/share")
def share(app_id: str, rt_key: str, record_id: int):
    """Share the record with a user or a team (admins)."""
    _admin()
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    whom = request.form.get("with", "")
    kind, _sep, raw = whom.partition(":")
    target = (
        {"user_id" if kind == "user" else "team_id": int(raw)}
        if raw.isascii() and raw.isdigit()
        else {}
    )
    if not target:
        abort(400, _("Choose a user or a team to share with."))
    level = request.form.get("level", "read")
    sharing.share(
        common.engine_objects(), app.id, rt.key, record_id, level=level, by=common.me(), **target
    )
    flash(_("Shared."))
    return redirect(url_for("access.explain", app_id=app.id, rt_key=rt.key, record_id=record_id))


@bp.post("/a/<app_id>/r/<rt_key>/<int:record_id>/access/unshare")
def unshare(app_id: str, rt_key: str, record_id: int):
    """Remove one share (admins)."""
    _admin()
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    target = {
        k: request.form.get(k, type=int) for k in ("user_id", "team_id") if request.form.get(k)
    }
    sharing.unshare(common.engine_objects(), app.id, rt.key, record_id, by=common.me(), **target)
    return redirect(url_for("access.explain", app_id=app.id, rt_key=rt.key, record_id=record_id))


# -- the pool ------------------------------------------------------------------------------
@bp.get("/a/<app_id>/pool/<rt_key>")
def pool_page(app_id: str, rt_key: str):
    """Records nobody owns, each with a Claim button; how many the user holds of the cap."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    t = common.engine_objects()
    rule = pool.pool_rule(app, rt, common.who()) if common.who() else None
    if rule is None:
        abort(403, _("Your roles have no pool of these records."))
    flt = {"field": rule.owner, "op": "is_empty"}
    page = t.queries.list(app.id, rt.key, filter=flt, limit=200, user_id=common.who())
    held = pool.held(t, app.id, rt.key, common.me(), rule.owner)
    return render_template("pool.html", app=app, rt=rt, rows=page.rows, held=held, rule=rule)


@bp.post("/a/<app_id>/pool/<rt_key>/<int:record_id>/claim")
def claim(app_id: str, rt_key: str, record_id: int):
    """Claim a record from the pool."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    pool.claim(common.engine_objects(), app.id, rt.key, record_id, common.me())
    flash(_("Claimed: it is yours now."))
    return redirect(url_for("records.show", app_id=app.id, rt_key=rt.key, record_id=record_id))


@bp.post("/a/<app_id>/pool/<rt_key>/<int:record_id>/release")
def release(app_id: str, rt_key: str, record_id: int):
    """Give a record back to the pool."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    pool.release(common.engine_objects(), app.id, rt.key, record_id, common.me())
    flash(_("Released to the pool."))
    return redirect(url_for("access.pool_page", app_id=app.id, rt_key=rt.key))
