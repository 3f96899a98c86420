"""Server-rendered web UI (Flask blueprints + Jinja2), wired into an app by :func:`init_app`.

Blueprints: ``auth`` (sign-in, sign-out, language), ``shell`` (home, app overview),
``views`` (table, kanban, calendar, chart, saved variants, bulk actions), ``records``
(record page, create/edit forms, link lookup, attachments) and ``public`` (public forms
at ``/f/<app>/<form>``). Templates extend ``base.html``; its blocks (``title``,
``nav_extra``, ``bell``, ``content``, ``scripts``) are the extension points for the
builder and for notifications. Every asset is served from ``web/static``.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the web blueprints, Babel, CSRF checks, sign-in loading and template helpers."""
    from tessera.web import auth, i18n, public, records, security, shell, views

    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("PUBLIC_FORM_LIMIT", 5)  # submissions per IP and form...
    app.config.setdefault("PUBLIC_FORM_WINDOW", 60)  # ...per this many seconds
    i18n.init_app(app)
    security.init_app(app)
    for module in (auth, shell, views, records, public):
        app.register_blueprint(module.bp)
