"""A user's own pages: profile (display name, language, time zone, password) and API
tokens (created with optional scopes and expiry, shown once, revoked here)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from tessera import tokens, users
from tessera.access import people
from tessera.users import UserError, time_zones
from tessera.web import common
from tessera.web.admin_people import NO_STORE, message
from tessera.web.hostile import json_object
from tessera.web.i18n import normalize

bp = Blueprint("profile", __name__, url_prefix="/me")
common.protect(bp)


def _engine():
    return common.engine_objects().engine


@bp.route("", methods=["GET", "POST"])
def show():
    """Edit one's display name, language and time zone."""
    user = people.get(_engine(), common.me())
    if request.method == "GET":
        return _render(user, user)
    form = request.form
    try:
        changes = people.update_profile(
            _engine(),
            user["id"],
            by=user["id"],
            display_name=form.get("display_name", ""),
            locale=form.get("locale", "en"),
            timezone=form.get("timezone", ""),
        )
    except UserError as exc:
        return _render(user, {**user, **form.to_dict()}, error=message(exc))
    if "locale" in changes:
        session["locale"] = normalize(changes["locale"][1]) or "en"
    flash(_("Your profile is saved."), "ok")
    return redirect(url_for("profile.show"))


@bp.post("/timezone")
def browser_zone():
    """The browser's zone, posted once after the first sign-in (kept unless one is set)."""
    zone = json_object().get("timezone") or ""
    if not isinstance(zone, str):
        abort(400, _("Send the time zone as text, e.g. Europe/Berlin."))
    zone = zone.strip()[:64]
    session.pop("tz_probe", None)
    user = people.get(_engine(), common.me())
    if user.get("timezone") or zone not in time_zones():
        return {"timezone": user.get("timezone")}
    users.save_preferences(_engine(), user["id"], timezone=zone)
    return {"timezone": zone}


@bp.post("/password")
def password():
    """Change one's own password (the current one is asked for)."""
    form = request.form
    user = people.get(_engine(), common.me())
    if form.get("new_password", "") != form.get("confirm_password", ""):
        return _render(user, user, pw_error=_("The two new passwords differ."))
    try:
        people.change_own_password(
            _engine(), user["id"], form.get("current_password", ""), form.get("new_password", "")
        )
    except UserError as exc:
        return _render(user, user, pw_error=message(exc))
    flash(_("Your password is changed."), "ok")
    return redirect(url_for("profile.show"))


def _render(user, values, error=None, pw_error=None):
    status = 422 if error or pw_error else 200
    page = render_template(
        "admin/profile.html",
        user=user,
        values=values,
        zones=sorted(time_zones()),
        error=error,
        pw_error=pw_error,
    )
    return page, status


@bp.get("/tokens")
def token_list():
    """One's API tokens (never the tokens themselves) and a form to create one."""
    return _tokens_page()


def _tokens_page(error=None, values=None, created=None):
    rows = tokens.list_tokens(_engine(), common.me())
    page = render_template(
        "admin/tokens.html",
        rows=list(reversed(rows)),
        error=error,
        values=values or {},
        created=created,
        max_days=tokens.MAX_DAYS,
    )
    return page, 422 if error else 200, NO_STORE


@bp.post("/tokens")
def token_create():
    """Create a token and show it this once."""
    form = request.form
    scope = form.get("scope", "")
    scopes = {"read": ["read"], "write": ["read", "write"]}.get(scope)
    try:
        expires_at = tokens.expiry(form.get("expires_in_days", "").strip() or None)
        token_id, plain = tokens.create_token(
            _engine(), common.me(), form.get("name"), scopes=scopes, expires_at=expires_at
        )
    except tokens.TokenError:
        error = _("Expiry: a whole number of days from 1 to %(n)d, or empty.", n=tokens.MAX_DAYS)
        return _tokens_page(error=error, values=form)
    return _tokens_page(created={"id": token_id, "token": plain})


@bp.post("/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int):
    """Revoke one of one's own tokens."""
    try:
        tokens.revoke(_engine(), token_id, by=common.me(), owner_id=common.me())
    except tokens.TokenError:
        flash(_("There is no such token."), "error")
    else:
        common.engine_objects().token_cache.clear()
        flash(_("Token revoked: it stopped working."), "ok")
    return redirect(url_for("profile.token_list"))
