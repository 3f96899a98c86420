"""The no-code builder: admins create or change an app in the browser, then apply it.

The builder edits a *draft*: plain template data of the same shape as
:func:`tessera.meta.dump_app` output, kept server-side per admin and app in the
``builder_drafts`` table so a reload loses nothing. The page script (``builder.js``)
holds the draft, saves it on every change and shows the validator's problems next to
the thing each path names. Nothing reaches the app's tables until "Apply", which goes
through exactly the path of ``flask template install|upgrade``: the same validator
(:func:`tessera.meta.app_from_data`), the same installer (dry run for the review), and
``registry.reload()`` afterwards. A failed apply leaves the installed version working.

Routes (all under ``/builder``, admins only, others get 403):
``GET /`` apps and drafts, ``POST /new`` start a new app, ``GET /<app>`` the editor,
``POST /<app>/draft`` save the draft (JSON; answers with problems), ``GET /<app>/review``
the migration plan, ``POST /<app>/apply``, ``GET /<app>/export.yaml``,
``POST /<app>/discard``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from typing import Any

import sqlalchemy as sa
import yaml
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from tessera import prefs
from tessera.errors import TemplateError, TesseraError
from tessera.fields import base as field_registry
from tessera.meta import app_from_data, dump_app, validate_data
from tessera.meta.validate import SCHEMA_DIR
from tessera.storage import installer, migrate
from tessera.web import common

bp = Blueprint("builder", __name__, url_prefix="/builder")
common.protect(bp)

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: plan steps that only add things: an upgrade made of these bumps the patch version
ADDITIVE_STEPS = frozenset({"create_table", "add_column", "create_index"})
#: settings every field has; the rest of a type's options come from schemas/field.json
COMMON_FIELD_KEYS = ("key", "type", "label", "help", "required", "unique", "renamed_from")
OPERATOR_ORDER = (
    *("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "not_contains"),
    *("starts_with", "is_empty", "is_not_empty", "between", "within_last_days"),
    *("within_next_days", "before_today", "after_today"),
)


@bp.before_request
def admins_only():
    """Only admins build apps (sign-in itself is checked by ``common.protect``)."""
    if g.get("user") and not g.user.get("is_admin"):
        abort(403, _("Only administrators can use the builder."))


@bp.errorhandler(403)
def _forbidden(exc):
    return render_template("error.html", status=403, message=exc.description), 403


# ---------------------------------------------------------------- drafts


def _engine() -> sa.Engine:
    return common.engine_objects().engine


def load_draft(app_id: str) -> dict[str, Any] | None:
    """The signed-in admin's draft of ``app_id`` (data, base_version, updated_at) or None."""
    return prefs.load_draft(_engine(), g.user["id"], app_id)


def save_draft(app_id: str, data: dict[str, Any], base_version: str | None) -> None:
    """Store (replace) the signed-in admin's draft of ``app_id``."""
    prefs.save_draft(_engine(), g.user["id"], app_id, data, base_version)


def drop_draft(app_id: str) -> None:
    """Forget the signed-in admin's draft of ``app_id``."""
    prefs.drop_draft(_engine(), g.user["id"], app_id)


def _my_drafts() -> list[dict[str, Any]]:
    return prefs.list_drafts(_engine(), g.user["id"])


def _installed(app_id: str):
    return common.engine_objects().registry.apps.get(app_id)


def _draft_or_start(app_id: str) -> dict[str, Any]:
    """The draft, else one starting from the installed version (stored on first save; 404)."""
    draft = load_draft(app_id)
    if draft is not None:
        return draft
    app = _installed(app_id)
    if app is None:
        abort(404, _("No app or draft called “%(app)s”.", app=app_id))
    data = copy.deepcopy(installer.export(_engine(), app_id))
    return {"app_id": app_id, "data": data, "base_version": app.version, "updated_at": None}


# ---------------------------------------------------------------- what the editor needs


def _schema_defs(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text("utf-8")).get("$defs", {})


def field_types() -> dict[str, dict[str, Any]]:
    """Every registered field type with the options its JSON Schema declares."""
    defs = _schema_defs("field.json")
    out = {}
    for name in field_registry.names():
        spec = defs.get(name, {})
        props = {k: v for k, v in spec.get("properties", {}).items() if k not in COMMON_FIELD_KEYS}
        operators = field_registry.get(name).operators
        out[name] = {
            "options": props,
            "required": [r for r in spec.get("required", []) if r not in COMMON_FIELD_KEYS],
            "operators": [op for op in OPERATOR_ORDER if op in operators],
        }
    return out


def view_types() -> dict[str, dict[str, Any]]:
    """Every view type with the settings its JSON Schema declares."""
    fixed = ("key", "type", "record_type", "label")
    return {
        name: {
            "options": {k: v for k, v in spec.get("properties", {}).items() if k not in fixed},
            "required": spec.get("required", []),
        }
        for name, spec in _schema_defs("view.json").items()
        if name != "column"
    }


def _base_keys(app_id: str) -> dict[str, list[str]]:
    """The installed record types and their field keys (the builder sets renamed_from)."""
    app = _installed(app_id)
    if app is None:
        return {}
    return {rt.key: [f.key for f in rt.fields] for rt in app.record_types}


def _problems(data: Any) -> list[dict[str, Any]]:
    return [
        {"path": p.path, "message": p.message, "hint": p.hint} for p in validate_data(data) or []
    ]


def _strings() -> dict[str, str]:
    """UI strings of builder.js, translated here so they live in the message catalog."""
    return {
        "saved": _("All changes saved"),
        "saving": _("Saving…"),
        "save_failed": _("Could not save the draft. Check your connection and try again."),
        "problems": _("%(n)s problem(s): fix them before you apply.", n="{n}"),
        "record_types": _("Record types"),
        "views": _("Views"),
        "forms": _("Forms"),
        "add_record_type": _("Add record type"),
        "add_field": _("Add field"),
        "add_view": _("Add view"),
        "add_form": _("Add form"),
        "key": _("Key"),
        "type": _("Type"),
        "label_en": _("Label (English)"),
        "label_zh": _("Label (中文)"),
        "help_en": _("Help (English)"),
        "help_zh": _("Help (中文)"),
        "required": _("Required"),
        "unique": _("Unique"),
        "title_field": _("Title field"),
        "fields": _("Fields"),
        "remove": _("Remove"),
        "move_up": _("Move up"),
        "move_down": _("Move down"),
        "drag": _("Drag to reorder"),
        "edit": _("Edit"),
        "renamed_from": _("Renamed from “{old}”: the upgrade renames the column, data kept."),
        "record_type": _("Record type"),
        "columns": _("Columns"),
        "add_column": _("Add column"),
        "filter": _("Filter"),
        "sort": _("Sort"),
        "add_sort": _("Add sort"),
        "ascending": _("Ascending"),
        "descending": _("Descending"),
        "all": _("all of"),
        "any": _("any of"),
        "not": _("not"),
        "match": _("Match"),
        "add_condition": _("Add condition"),
        "add_group": _("Add group"),
        "value_hint": _("Comma-separated for in/between; @field compares with another field."),
        "sections": _("Sections"),
        "add_section": _("Add section"),
        "section_title_en": _("Section title (English)"),
        "section_title_zh": _("Section title (中文)"),
        "visibility": _("Visibility rules"),
        "add_rule": _("Add rule"),
        "shown_when": _("shown when"),
        "public": _("Public (anyone with the link can submit)"),
        "options": _("Options"),
        "add_option": _("Add option"),
        "choose": _("— choose —"),
        "none": _("(none)"),
        "comma_list": _("comma-separated"),
        "empty_rts": _("No record types yet. Add one to start."),
        "empty_fields": _("No fields yet. Add the first field below."),
        "new_key": _("new_key"),
        "app_settings": _("App settings"),
        "version": _("Version"),
        "confirm_remove": _("Remove “{what}”?"),
        "ops": json.dumps(_operator_names(), ensure_ascii=False),
    }


def _operator_names() -> dict[str, str]:
    return {
        "eq": _("is"),
        "ne": _("is not"),
        "lt": _("less than"),
        "lte": _("at most"),
        "gt": _("greater than"),
        "gte": _("at least"),
        "in": _("is one of"),
        "not_in": _("is none of"),
        "contains": _("contains"),
        "not_contains": _("does not contain"),
        "starts_with": _("starts with"),
        "is_empty": _("is empty"),
        "is_not_empty": _("is not empty"),
        "between": _("between"),
        "within_last_days": _("within the last N days"),
        "within_next_days": _("within the next N days"),
        "before_today": _("before today"),
        "after_today": _("after today"),
    }


# ---------------------------------------------------------------- versions and plans


def _bump(version: str, part: str) -> str:
    major, minor, patch = (list(installer.version_key(version)[:3]) + [0, 0])[:3]
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def _with_version(data: dict[str, Any], version: str):
    """The draft compiled as ``version`` (TemplateError lists every problem)."""
    return app_from_data({**copy.deepcopy(data), "version": version}, f"<builder {data.get('id')}>")


def plan_upgrade(data: dict[str, Any], version: str | None, purge: bool):
    """Dry-run the upgrade of the installed app to the draft: (app, plan).

    Without ``version`` it is picked automatically: the next patch when every step only
    adds (or nothing changes in the tables), the next minor otherwise.
    """
    engine = _engine()
    installed = _installed(data["id"])
    if version:
        app = _with_version(data, version)
        return app, installer.upgrade(engine, app, None, dry_run=True, purge=purge)
    app = _with_version(data, _bump(installed.version, "patch"))
    p = installer.upgrade(engine, app, None, dry_run=True, purge=purge)
    if all(s.kind in ADDITIVE_STEPS for s in p.steps):
        return app, p
    app = _with_version(data, _bump(installed.version, "minor"))
    return app, installer.upgrade(engine, app, None, dry_run=True, purge=purge)


def _review_context(app_id: str, draft: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """Problems, or the plan (steps, data loss, version) of applying the draft."""
    data = draft["data"]
    installed = _installed(app_id)
    ctx: dict[str, Any] = {
        "app_id": app_id,
        "draft": draft,
        "installed": installed,
        "purge": bool(form.get("purge")),
        "problems": validate_data(data),
        "plan": None,
        "error": None,
        "version": form.get("version") or "",
        "stale": installed is not None and draft["base_version"] != installed.version,
    }
    if ctx["problems"]:
        return ctx
    try:
        if installed is None:
            app = _with_version(data, ctx["version"] or data.get("version") or "1.0.0")
            ctx["plan"] = migrate.plan(None, app)
        else:
            app, ctx["plan"] = plan_upgrade(data, ctx["version"] or None, ctx["purge"])
        ctx["version"] = app.version
        ctx["app"] = app
    except TemplateError as exc:
        ctx["problems"] = exc.problems
    except TesseraError as exc:
        ctx["error"] = str(exc)
    return ctx


# ---------------------------------------------------------------- routes


@bp.get("/")
def index():
    """Installed apps to open, this admin's drafts, and the new-app form."""
    apps = sorted(common.engine_objects().registry.apps.values(), key=lambda a: a.id)
    return render_template("builder/index.html", apps=apps, drafts=_my_drafts(), errors={})


@bp.post("/new")
def new():
    """Start a draft for a new app (id, English and Chinese label)."""
    app_id = request.form.get("id", "").strip()
    label = {
        k: v
        for k, v in (
            ("en", request.form.get("label_en", "")),
            ("zh-CN", request.form.get("label_zh", "")),
        )
        if v.strip()
    }
    error = _new_app_error(app_id)
    if error:
        apps = sorted(common.engine_objects().registry.apps.values(), key=lambda a: a.id)
        ctx = {"apps": apps, "drafts": _my_drafts(), "errors": {"id": error}, "form": request.form}
        return render_template("builder/index.html", **ctx), 422
    data = {"id": app_id, "version": "1.0.0", "label": label or app_id, "record_types": []}
    save_draft(app_id, data, None)
    return redirect(url_for("builder.edit", app_id=app_id))


def _new_app_error(app_id: str) -> str | None:
    if not IDENTIFIER.match(app_id):
        return _(
            "“%(id)s” is not a valid app id: use lowercase letters, digits and _, "
            "starting with a letter (e.g. “sales”).",
            id=app_id,
        )
    if _installed(app_id) is not None:
        return _("An app called “%(id)s” is already installed: open it instead.", id=app_id)
    if load_draft(app_id) is not None:
        return _("You already have a draft called “%(id)s”: open it instead.", id=app_id)
    return None


@bp.get("/<app_id>")
def edit(app_id: str):
    """The editor page for the draft of ``app_id``."""
    draft = _draft_or_start(app_id)
    installed = _installed(app_id)
    boot = {
        "draft": draft["data"],
        "base": _base_keys(app_id),
        "problems": _problems(draft["data"]),
        "field_types": field_types(),
        "view_types": view_types(),
        "urls": {"save": url_for("builder.save", app_id=app_id)},
        "t": _strings(),
    }
    stale = installed is not None and draft["base_version"] != installed.version
    return render_template(
        "builder/edit.html", app_id=app_id, boot=boot, installed=installed, stale=stale
    )


@bp.post("/<app_id>/draft")
def save(app_id: str):
    """Store the posted draft (JSON ``{"data": {...}}``); answer with its problems."""
    body = request.get_json(silent=True) or {}
    data = body.get("data")
    if not isinstance(data, dict):
        return {"error": {"code": "bad_request", "message": _("Send the draft as data.")}}, 400
    data["id"] = app_id  # the id names the app: it cannot change in the builder
    previous = load_draft(app_id)
    if previous is None and _installed(app_id) is None:
        abort(404, _("No app or draft called “%(app)s”.", app=app_id))
    base = previous["base_version"] if previous else _installed(app_id).version
    save_draft(app_id, data, base)
    return {"saved": True, "problems": _problems(data)}


@bp.get("/<app_id>/review")
def review(app_id: str):
    """The migration plan of applying the draft, with data-loss steps highlighted."""
    draft = _draft_or_start(app_id)
    ctx = _review_context(app_id, draft, request.args)
    return render_template("builder/review.html", **ctx)


@bp.post("/<app_id>/apply")
def apply(app_id: str):
    """Install or upgrade the app to the draft; on failure the old version keeps working."""
    draft = _draft_or_start(app_id)
    ctx = _review_context(app_id, draft, request.form)
    if ctx["problems"] or ctx["error"]:
        return render_template("builder/review.html", **ctx), 422
    if ctx["plan"].data_loss and not request.form.get("confirm_data_loss"):
        ctx["error"] = _(
            "These changes delete stored data. Tick “I understand” to confirm, "
            "or untick purge to keep the data archived."
        )
        return render_template("builder/review.html", **ctx), 422
    try:
        _install_or_upgrade(ctx)
    except TesseraError as exc:
        ctx["error"] = str(exc)
        return render_template("builder/review.html", **ctx), 409
    drop_draft(app_id)
    flash(_("%(app)s %(version)s is live.", app=app_id, version=ctx["version"]), "ok")
    return redirect(url_for("shell.app_home", app_id=app_id))


def _install_or_upgrade(ctx: dict[str, Any]) -> None:
    t = common.engine_objects()
    app = ctx["app"]
    # store normalised data, so `template export` prints what the builder exports
    app = app_from_data(dump_app(app), f"<builder {app.id}>")
    text = yaml.safe_dump(dump_app(app), allow_unicode=True, sort_keys=False)
    user = g.user["id"]
    if ctx["installed"] is None:
        installer.install(t.engine, app, text, user=user)
    else:
        installer.upgrade(t.engine, app, text, purge=ctx["purge"], user=user, local_edit=True)
    t.registry.reload()


@bp.get("/<app_id>/export.yaml")
def export(app_id: str):
    """Download the app as YAML: the draft, or ``?installed=1`` the installed version.

    The installed export is byte for byte ``flask template export APP``. A draft that
    validates is exported normalised (as it will be stored), else as it is.
    """
    if request.args.get("installed") or load_draft(app_id) is None:
        if _installed(app_id) is None:
            abort(404, _("No app or draft called “%(app)s”.", app=app_id))
        data = installer.export(_engine(), app_id)
    else:
        data = load_draft(app_id)["data"]
        # half-built drafts are exported as they are: the admin may finish them by hand
        with contextlib.suppress(TemplateError):
            data = dump_app(app_from_data(data))
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    headers = {"Content-Disposition": f'attachment; filename="{app_id}.yaml"'}
    return Response(text, mimetype="application/x-yaml", headers=headers)


@bp.post("/<app_id>/discard")
def discard(app_id: str):
    """Throw the draft away (the installed version is untouched)."""
    drop_draft(app_id)
    flash(_("Draft of %(app)s discarded.", app=app_id), "ok")
    return redirect(url_for("builder.index"))
