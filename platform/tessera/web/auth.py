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

from tessera import signin, users
from tessera.web.i18n import UI_LOCALES
from tessera.web.security import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on POST check the password (throttled) and start the session."""
    target = safe_next(request.values.get("next"), url_for("shell.home"))
    if request.method == "GET":
        if g.user is not None:
            return redirect(target)
        return render_template("login.html", next=target, username="")
    username = request.form.get("username", "").strip()[:200]
    engine = current_app.extensions["tessera"].engine
    address = request.remote_addr or "-"
    verdict = throttle().check(username, address)
    if not verdict.allowed:
        return _refused(target, username, verdict)
    user = signin.verify(engine, username, request.form.get("password", ""))
    if user is None:
        return _failed(engine, target, username, address)
    throttle().succeed(username)
    signin.log_event(engine, "login", user_id=user["id"], subject=username, ip=address)
    locale = session.get("locale")  # chosen on the sign-in page: the user's choice
    browser = request.accept_languages.best_match(["en", "zh-CN", "zh"])
    first = users.note_sign_in(engine, user["id"], locale or browser)
    if locale and not first:
        users.save_preferences(engine, user["id"], locale=locale)
    session.clear()  # a fresh session: no fixation of a pre-login session id's data
    session["user_id"] = user["id"]
    session["gen"] = user["session_gen"]
    if first and not user.get("timezone"):
        session["tz_probe"] = True  # base.html asks the browser for its zone once
    return redirect(target)


def throttle() -> signin.Throttle:
    """This app's sign-in throttle (Redis when ``REDIS_URL`` is set)."""
    return signin.throttle(current_app)


def _failed(engine, target: str, username: str, address: str):
    locked = throttle().fail(username, address)
    signin.log_event(engine, "login_failed", subject=username, ip=address)
    if locked:
        signin.log_event(engine, "lockout", subject=username, ip=address)
    error = _("Wrong username or password. Check both and try again.")
    return render_template("login.html", next=target, username=username, error=error), 401


def _refused(target: str, username: str, verdict: signin.Verdict):
    if verdict.reason == "delay":
        error = _(
            "Too many failed sign-ins. Wait %(seconds)s seconds and try again.",
            seconds=verdict.wait,
        )
    else:
        error = _(
            "Sign-in is locked after too many failed attempts. Try again in %(minutes)s "
            "minutes, or ask an administrator to unlock the account.",
            minutes=max(1, -(-verdict.wait // 60)),
        )
    page = render_template("login.html", next=target, username=username, error=error)
    return page, 429, {"Retry-After": str(verdict.wait)}


@bp.post("/logout")
def logout():
    """End the session, and every saved copy of it (the user's session generation moves on)."""
    if g.user is not None:
        users.end_sessions(current_app.extensions["tessera"].engine, g.user["id"])
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
        if g.user is not None:  # chosen once, kept on the user for every later session
            users.save_preferences(
                current_app.extensions["tessera"].engine, g.user["id"], locale=locale
            )
    return redirect(safe_next(request.form.get("next"), url_for("shell.home")))
