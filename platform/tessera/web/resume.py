"""Keep what the user typed when Save meets an expired session or a stale CSRF token.

Instead of an error page, the record form's POST is stashed server-side (Redis, or the
embedded one: the same store as the sign-in throttle) for ``RESUME_SECONDS`` under a
random token; the user signs in again (or, still signed in, goes straight back) and the
form's GET with ``?resume=<token>`` shows the typed values, the record version they
started from included (so a change made meanwhile still shows the conflict message).
Nothing is saved on the user's behalf: they look and press Save again.

Only POSTs whose ``Origin`` (else ``Referer``) is this site are stashed: a forged
cross-site POST still gets the plain refusal and cannot prefill someone's form. File
uploads are not kept (the form asks for them again).
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlencode, urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from tessera import signin

RESUMABLE = frozenset({"records.new", "records.edit"})
RESUME_SECONDS = 1800
PREFIX = "tessera:resume:"


def _store():
    return signin.throttle(current_app).redis


def _same_site() -> bool:
    """True when the browser says the POST came from a page of this site."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if not source or source == "null":
        return False
    return urlsplit(source).netloc == request.host


def resumable() -> bool:
    """True for a record form's POST from this site (a page, not a script)."""
    return (
        request.method == "POST"
        and request.endpoint in RESUMABLE
        and not request.is_json
        and _same_site()
    )


def stash_and_sign_in():
    """Keep the posted values and send the user to sign in, then back to the form."""
    token = secrets.token_urlsafe(24)
    kept = {
        "path": request.path,
        "user": session.get("user_id"),
        "form": [(k, v) for k, v in request.form.items(multi=True) if k != "_csrf"],
    }
    _store().set(PREFIX + token, json.dumps(kept), ex=RESUME_SECONDS)
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "resume"]
    target = f"{request.path}?{urlencode([*args, ('resume', token)])}"
    flash(_("Your session expired before Save. Sign in again: what you typed is kept."), "error")
    return redirect(url_for("auth.login", next=target))


def restore(user_id: int | None) -> MultiDict | None:
    """The values stashed for this form and user (``?resume=``), once; None otherwise."""
    token = request.args.get("resume", "")
    if not token or len(token) > 64:
        return None
    raw = _store().getdel(PREFIX + token)
    if raw is None:
        return None
    kept = json.loads(raw)
    if kept["path"] != request.path or kept["user"] not in (None, user_id):
        return None  # another form's values, or another person's: never shown here
    return MultiDict(kept["form"])
