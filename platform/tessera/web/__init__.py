"""Server-rendered web UI (Flask blueprints + Jinja2), wired into an app by :func:`init_app`.

Blueprints: ``auth`` (sign-in, sign-out, language), ``shell`` (home, app overview),
``views`` (table, kanban, calendar, chart, saved variants, bulk actions), ``records``
(record page, create/edit forms, link lookup, attachments), ``public`` (public forms
at ``/f/<app>/<form>``), ``access`` (who can see a record, shares, the customer
pool) and ``builder`` (the no-code builder at ``/builder``, admins).
Templates extend ``base.html``; its blocks (``title``, ``nav_extra``, ``bell``,
``content``, ``scripts``) are the extension points for notifications. Every asset is
served from ``web/static``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask

from tessera.meta.children import row_fields

#: templates and assets of the web UI (no routes of its own besides /assets/...)
assets = Blueprint(
    "web", __name__, static_folder="static", static_url_path="/assets", template_folder="templates"
)


def init_app(app: Flask) -> None:
    """Register the web blueprints, Babel, CSRF checks, sign-in loading and template helpers."""
    from tessera.web import (
        access,
        admin_people,
        auth,
        automation,
        builder,
        dashboards,
        dataio,
        deletion,
        errorpages,
        forms,
        headers,
        hostile,
        i18n,
        inline_edit,
        kanban,
        merge,
        present,
        profile,
        public,
        public_share,
        records,
        security,
        shell,
        uploads,
        views,
    )

    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("PUBLIC_FORM_LIMIT", 5)  # submissions per IP and form...
    app.config.setdefault("PUBLIC_FORM_WINDOW", 60)  # ...per this many seconds
    app.register_blueprint(assets)
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES",
        f"{i18n.TRANSLATIONS};{dataio.TRANSLATIONS};{access.TRANSLATIONS};{merge.TRANSLATIONS};"
        f"{builder.TRANSLATIONS};{kanban.TRANSLATIONS};{dashboards.TRANSLATIONS};"
        f"{forms.TRANSLATIONS};{FIELDBEH_TRANSLATIONS};{public.TRANSLATIONS};"
        f"{deletion.TRANSLATIONS}",
    )
    i18n.init_app(app)
    security.init_app(app)
    hostile.init_app(app)
    errorpages.init_app(app)
    headers.init_app(app)
    uploads.init_app(app)
    app.jinja_env.globals.update(
        cell=present.cell,
        column_label=present.column_label,
        record_title=present.title,
        rt_label=present.rt_label,
        value_html=present.value_html,
        fixed_html=present.fixed_html,
        query_with=query_with,
        row_fields=row_fields,
    )
    for module in (auth, shell, views, records, public, dataio, admin_people, profile, access):
        app.register_blueprint(module.bp)
    dataio.init_app(app)
    app.register_blueprint(builder.bp)
    app.register_blueprint(merge.bp)
    app.register_blueprint(inline_edit.bp)
    app.register_blueprint(public_share.bp)
    automation.init_app(app)


#: the Chinese catalogue of field behaviour's strings (form tabs, rich text, refusals)
FIELDBEH_TRANSLATIONS = Path(__file__).parent / "translations_fieldbeh"


def query_with(args, **changes) -> str:
    """``args`` (a MultiDict) as a query string with ``changes`` applied (None removes)."""
    from urllib.parse import urlencode

    items = [(k, v) for k, v in args.items(multi=True) if k not in changes]
    items += [(k, v) for k, v in changes.items() if v is not None]
    return urlencode(items)
