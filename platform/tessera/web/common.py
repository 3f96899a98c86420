"""Helpers every web blueprint shares: the engine objects, lookups that 404, the actor."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import gettext as _

from tessera.access.principal import Principal
from tessera.access.rules import rights, visible_app
from tessera.errors import BadRequest, NotFound, RecordError
from tessera.meta.model import App, RecordType, View
from tessera.query.policy import principal
from tessera.records.actor import Actor
from tessera.web.i18n import label, label_locale, translated
from tessera.web.security import require_login

ALL_PREFIX = "all-"  # pseudo view key of a record type's plain list: all-<record type>


def engine_objects():
    """The Tessera runtime (records, queries, registry, engine) of this app."""
    return current_app.extensions["tessera"]


def meta(app_id: str) -> App:
    """The installed app ``app_id`` as the signed-in user sees it, or a 404 page.

    Fields the user may not read are not in it, so no page can show them as columns,
    form inputs, filters or record sections.
    """
    found = engine_objects().registry.apps.get(app_id)
    if found is None:
        abort(404, _("No app called “%(app)s” is installed.", app=app_id))
    return visible_app(found, who())


def navigable(app: App) -> App:
    """``app`` as the user sees it, with only the record types and views they may read."""
    seen = visible_app(app, who())
    types = tuple(rt for rt in seen.record_types if readable(seen, rt))
    keys = {rt.key for rt in types}
    views = tuple(v for v in seen.views if v.record_type in keys or v.type == "dashboard")
    return replace(seen, record_types=types, views=views)


def who() -> Principal | None:
    """The signed-in user's Principal (roles, teams), loaded once per request."""
    if "principal" not in g:
        g.principal = principal(engine_objects().engine, me())
    return g.principal


def record_type(app: App, rt_key: str) -> RecordType:
    """The record type ``rt_key`` of ``app``; a 404 page if none, 403 if the user reads none."""
    if not app.has_record_type(rt_key):
        abort(404, _("The app has no record type “%(rt)s”.", rt=rt_key))
    rt = app.record_type(rt_key)
    if not readable(app, rt):
        abort(403, _("Your roles give no access to “%(rt)s”.", rt=label(rt.label, rt.key)))
    return rt


def readable(app: App, rt: RecordType) -> bool:
    """True when the signed-in user may read at least some records of ``rt``."""
    full = engine_objects().registry.apps[app.id]
    r = rights(full, full.record_type(rt.key), who())
    return r is None or r.can("read")


def view(app: App, key: str) -> View:
    """A declared view, or the plain table of a record type for ``all-<record type>``."""
    if key.startswith(ALL_PREFIX):
        rt = record_type(app, key[len(ALL_PREFIX) :])
        return all_view(rt)
    for v in app.views:
        if v.key == key:
            if v.record_type is not None:  # a dashboard checks each of its widgets
                record_type(app, v.record_type)  # 403 when the user reads none of its records
            return v
    abort(404, _("The app has no view “%(view)s”.", view=key))


def all_view(rt: RecordType) -> View:
    """A table of every record of ``rt`` showing its first fields."""
    skip = ("long_text", "rich_text", "attachment")
    columns = tuple(f.key for f in rt.fields if f.type not in skip)[:7]
    return View(
        key=ALL_PREFIX + rt.key, type="table", record_type=rt.key, label=rt.label, columns=columns
    )


def views_of(app: App, rt_key: str) -> list[View]:
    """The declared views over one record type."""
    return [v for v in app.views if v.record_type == rt_key]


def actor(ref: str | None = None) -> Actor:
    """The signed-in user as the records service's actor."""
    user_id = g.user["id"] if g.get("user") else None
    return Actor(user_id=user_id, kind="user", ref=ref, locale=label_locale())


def me() -> int | None:
    """The signed-in user's id."""
    return g.user["id"] if g.get("user") else None


def wants_json() -> bool:
    """True for script requests (fetch with JSON)."""
    return request.is_json or request.accept_mimetypes.best == "application/json"


def protect(bp: Blueprint) -> None:
    """Require sign-in for every page of ``bp`` and show service errors as pages."""
    bp.before_request(require_login)
    bp.register_error_handler(RecordError, _record_error)
    for code in (400, 403, 404, 413, 429):
        bp.register_error_handler(code, _http_error)


def _record_error(exc: RecordError):
    status = (
        404 if isinstance(exc, NotFound) else 400 if isinstance(exc, BadRequest) else exc.status
    )
    if wants_json():
        return {"error": error_body(exc)}, status
    return render_template("error.html", status=status, message=translated(exc.message)), status


def error_body(exc: RecordError) -> dict:
    """The JSON error of a service refusal for the UI's scripts, in the reader's language."""
    fields = {k: [translated(m) for m in v] for k, v in exc.fields.items()}
    return {"code": exc.code, "message": translated(exc.message), "fields": fields}


def _http_error(exc):
    message = exc.description if isinstance(exc.description, str) else str(exc)
    if exc.description == type(exc).description:  # Werkzeug's English default
        from tessera.web.errorpages import default_message

        message = default_message(exc.code) or message
    message = translated(message)
    if exc.code == 413:
        message = _("The upload is too large.")
    if wants_json():
        return {"error": {"code": exc.code, "message": message}}, exc.code
    return render_template("error.html", status=exc.code, message=message), exc.code
