"""Styled error pages for every web route, in the user's language, never with a traceback.

Blueprint handlers (``common.protect``) answer first; these catch the rest: routing
errors (unknown URLs, wrong methods), aborts outside protected blueprints, and anything
unexpected (logged with its traceback on the server, shown as a plain 500 page). A value
out of the database's range (a 64-bit overflow) is the client's mistake: a 400.
The REST API keeps its own JSON error shape (``api/errors.py``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import HTTPException

API_PREFIX = "/api/"


def init_app(app: Flask) -> None:
    """Register the app-wide handlers."""
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def http_error(exc: HTTPException):
    """A 4xx/5xx raised by Werkzeug or ``abort``: the styled page (or JSON for scripts)."""
    if exc.code is None or exc.code < 400:
        return exc
    message = exc.description if isinstance(exc.description, str) else exc.name
    if exc.description == type(exc).description:  # Werkzeug's own English default text
        message = default_message(exc.code) or message
    if exc.code == 413:
        message = _("The upload is too large.")
    response = page(exc.code, message)
    if exc.code == 405:
        response[2]["Allow"] = ", ".join(exc.valid_methods or ())
    return response


def default_message(code: int) -> str | None:
    """Our words, in the reader's language, for a status raised without a message."""
    return {
        400: _("Something is wrong with this request."),
        403: _("You are not allowed to do this."),
        404: _("There is nothing at this address."),
        405: _("This address does not accept that kind of request."),
        429: _("Too many requests. Wait a moment and try again."),
    }.get(code)


def unexpected(exc: Exception):
    """Anything else: out-of-range values are a 400, the rest a logged 500."""
    if isinstance(exc, HTTPException):
        return http_error(exc)
    if isinstance(exc, sa.exc.DataError | OverflowError):
        return page(400, _("A value in the request is out of range."))
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return page(500, _("Something went wrong on our side. It has been logged; try again later."))


def page(status: int, message: str):
    """(body, status, headers): JSON for script and API requests, else ``error.html``."""
    headers: dict[str, str] = {}
    if request.path.startswith(API_PREFIX) or _wants_json():
        body = {"error": {"code": _CODES.get(status, str(status)), "message": message}}
        return body, status, headers
    try:
        return render_template("error.html", status=status, message=message), status, headers
    except Exception:  # the page itself failed (database gone...): plain text, still no trace
        current_app.logger.exception("error page failed")
        html = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>"
        return html, status, headers


_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 500: "internal_error"}


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"
