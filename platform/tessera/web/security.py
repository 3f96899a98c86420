"""CSRF tokens kept in the session, and the signed-in user loaded for every request.

Every unsafe request (POST, PUT, PATCH, DELETE) outside the REST API must carry the
session's token, as the ``_csrf`` form field or the ``X-CSRF-Token`` header (the small
script adds the header to its fetches). The API authenticates its own way and is left to
its blueprint.
"""

from __future__ import annotations

import hmac
import secrets
from functools import wraps
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from tessera.web import people, resume

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_BLUEPRINTS = frozenset({"api", "hooks"})  # hooks: incoming webhooks (secret)
#: static files: served without reading who is signed in (no query per asset)
STATIC_ENDPOINTS = frozenset({"static", "web.static"})


def init_app(app: Flask) -> None:
    """Load ``g.user`` and check CSRF before every request; expose ``csrf_token()``."""
    app.before_request(load_user)
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token


def csrf_token() -> str:
    """This session's CSRF token (created on first use)."""
    token = session.get("_csrf")
    if not token:
        token = session["_csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf():
    """Refuse an unsafe request whose token is missing or wrong (400, nothing done)."""
    if request.method in SAFE_METHODS or request.blueprint in EXEMPT_BLUEPRINTS:
        return None
    if not current_app.config.get("TESSERA_CSRF", True):
        return None
    sent = request.headers.get("X-CSRF-Token") or request.form.get("_csrf", "")
    expected = session.get("_csrf", "")
    if expected and sent and hmac.compare_digest(str(sent), str(expected)):
        return None
    message = _(
        "This form has expired or did not come from this site. Reload the page and try again."
    )
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return {"error": {"code": "csrf", "message": message}}, 400
    if resume.resumable():  # Save on an expired form: keep the values, sign in, come back
        return resume.stash_and_sign_in()
    return render_template("error.html", status=400, message=message), 400


def load_user() -> None:
    """Put the signed-in, active user (a dict) on ``g.user``, or None."""
    g.user = None
    user_id = session.get("user_id")
    if (
        user_id is None
        or request.blueprint in EXEMPT_BLUEPRINTS
        or request.endpoint in STATIC_ENDPOINTS
    ):
        return
    user = people.session_user(
        current_app.extensions["tessera"].engine, user_id, session.get("gen")
    )
    if user is None:  # deactivated, deleted, signed out elsewhere since sign-in
        session.pop("user_id", None)
        session.pop("gen", None)
    g.user = user


def login_required(view):
    """Redirect to the sign-in page (then back) when nobody is signed in."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def require_login():
    """A blueprint ``before_request`` hook form of :func:`login_required`."""
    if g.get("user") is None:
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            return {"error": {"code": "unauthorized", "message": _("Sign in first.")}}, 401
        if resume.resumable():
            return resume.stash_and_sign_in()
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects).

    The one check for every redirect whose target comes from the request (sign-in
    ``next``, the language switch, bulk actions, forms). Browsers drop tabs and newlines
    anywhere in a URL, strip leading control characters and read ``\\`` as ``/``, so
    ``/%09/evil.example`` (a tab) becomes ``//evil.example``: any control character, backslash,
    lone surrogate, scheme or host refuses the target, before and after one
    percent-decoding.
    """
    if not isinstance(target, str) or not target or len(target) > 2048:
        return default
    decoded = unquote(target)
    if not all(_local_path(t) for t in (target, decoded)):
        return default
    return target


def _local_path(target: str) -> bool:
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in target):
        return False
    if "\\" in target or not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
