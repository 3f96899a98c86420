"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from tessera import users
from tessera.web.i18n import UI_LOCALES
from tessera.web.security import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on POST check the password and start the session."""
    target = safe_next(request.values.get("next"), url_for("shell.home"))
    if request.method == "GET":
        if g.user is not None:
            return redirect(target)
        return render_template("login.html", next=target, username="")
    username = request.form.get("username", "").strip()
    engine = current_app.extensions["tessera"].engine
    user = users.authenticate(engine, username, request.form.get("password", ""))
    if user is None:
        error = _("Wrong username or password. Check both and try again.")
        return render_template("login.html", next=target, username=username, error=error), 401
    locale = session.get("locale")
    session.clear()  # a fresh session: no fixation of a pre-login session id's data
    session["user_id"] = user["id"]
    if locale:
        session["locale"] = locale
    return redirect(target)


@bp.post("/logout")
def logout():
    """End the session and go back to the sign-in page."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    return redirect(url_for("auth.login"))


@bp.post("/lang")
def set_language():
    """Switch the UI language for this session, then return to the page the user was on."""
    locale = request.form.get("locale", "")
    if locale in UI_LOCALES:
        session["locale"] = locale
    return redirect(safe_next(request.form.get("next"), url_for("shell.home")))
