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
from pathlib import Path
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

from tessera import gallery, prefs
from tessera.errors import TemplateError, TesseraError
from tessera.fields import base as field_registry
from tessera.meta import app_from_data, dump_app, validate_data
from tessera.meta import usages as usage_finder
from tessera.meta.validate import SCHEMA_DIR
from tessera.storage import installer, migrate
from tessera.web import builder_flows, common
from tessera.web.builder_palette import palette
from tessera.web.builder_words import problem_words, usage_answer
from tessera.web.hostile import json_object, maybe_int

bp = Blueprint("builder", __name__, url_prefix="/builder")
TRANSLATIONS = Path(__file__).resolve().parent / "translations_builder"
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
        if name in field_registry.WRITTEN_AS:  # poly_link: a `link` whose `to` is a list
            continue
        spec = defs.get(name, {})
        props = {k: v for k, v in spec.get("properties", {}).items() if k not in COMMON_FIELD_KEYS}
        operators = field_registry.get(name).operators
        out[name] = {
            "description": spec.get("description", ""),
            "options": props,
            "required": [r for r in spec.get("required", []) if r not in COMMON_FIELD_KEYS],
            "operators": [op for op in OPERATOR_ORDER if op in operators],
        }
    return out


def section_options() -> list[str]:
    """The settings a form section takes beyond its title and fields (columns, tab, ...)."""
    schema = json.loads((SCHEMA_DIR / "form.json").read_text("utf-8"))
    items = schema.get("properties", {}).get("sections", {}).get("items", {})
    return [k for k in items.get("properties", {}) if k not in ("title", "fields")]


def view_types() -> dict[str, dict[str, Any]]:
    """Every view type with the settings its JSON Schema declares."""
    fixed = ("key", "type", "record_type", "label")
    return {
        name: {
            "options": {k: v for k, v in spec.get("properties", {}).items() if k not in fixed},
            "required": [r for r in spec.get("required", []) if r not in fixed],
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


def _installed_options(app_id: str) -> dict[str, list[str]]:
    """Option values of the installed select fields (records hold them: keep them stable)."""
    app = _installed(app_id)
    out: dict[str, list[str]] = {}
    for rt in app.record_types if app else ():
        for f in rt.fields:
            for o in f.opt("options", ()) or ():
                out.setdefault(f.key, []).append(o["value"])
    return out


def _problems(data: Any) -> list[dict[str, Any]]:
    """The validator's problems, each with where it is in words and a place to go."""
    safe = data if isinstance(data, dict) else {}
    found = validate_data(data) or []
    if not found:
        # the compiler's app checks too (workflow actions, ...): exactly what YAML gets
        try:
            app_from_data(copy.deepcopy(safe), f"<builder {safe.get('id')}>")
        except TemplateError as exc:
            found = exc.problems
    return [
        {"path": p.path, "message": p.message, "hint": p.hint, **problem_words(safe, p.path)}
        for p in found
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
        "go_there": _("Go there"),
        "cancel": _("Cancel"),
        "remove_with_uses": _("Remove it and these uses"),
        "used_in": _("It is used in {n} place(s). Removing it changes them as follows:"),
        "not_used": _("Nothing else uses it."),
        "ops": json.dumps(_operator_names(), ensure_ascii=False),
        **_designer_strings(),
        "view_words": json.dumps(_view_words(), ensure_ascii=False),
    }


def _view_words() -> dict[str, dict[str, Any]]:
    """View types, settings and their choices in words (chart settings included)."""
    return {
        "types": {
            "table": _("Table"),
            "kanban": _("Board (cards in columns)"),
            "calendar": _("Calendar"),
            "chart": _("Chart"),
        },
        "settings": {
            "description": _("Description"),
            "page_size": _("Rows per page"),
            "group_by": _("Columns of the board by"),
            "date_field": _("Date that places each record"),
            "end_field": _("End date (optional)"),
            "chart_type": _("Kind of chart"),
            "x": _("One bar or slice per"),
            "aggregate": _("Show"),
            "value": _("Of the field"),
        },
        "chart_settings": {
            "group_by": _("Split each bar by (optional)"),
        },
        "enums": {
            "chart_type": {"bar": _("Bars"), "line": _("Line"), "pie": _("Pie")},
            "aggregate": {
                "count": _("how many records"),
                "sum": _("the total of a field"),
                "avg": _("the average of a field"),
                "min": _("the smallest value of a field"),
                "max": _("the largest value of a field"),
            },
        },
    }


def _designer_strings() -> dict[str, str]:
    """Words of the form designer and the workflow builder."""
    return {
        "palette": _("Add a field"),
        "palette_hint": _("Click a type to add it, or drag it onto the form."),
        "add_to_table": _("Also show new fields in the table"),
        "add_to_form_table": _("Also put new fields on the form and in the table"),
        "preview": _("Preview"),
        "public_short": _("Public"),
        "section": _("Section"),
        "section_title": _("Section title"),
        "n_columns": _("{n} column(s)"),
        "tab": _("Tab"),
        "drop_here": _("Drop fields here"),
        "not_on_form": _("Fields not on this form:"),
        "submit": _("Save"),
        "option": _("Option"),
        "colour": _("Colour"),
        "c_gray": _("Grey"),
        "c_blue": _("Blue"),
        "c_green": _("Green"),
        "c_orange": _("Orange"),
        "c_red": _("Red"),
        "c_purple": _("Purple"),
        "options_bulk": _("Add several options"),
        "options_bulk_hint": _("One option per line"),
        "choose_file": _("Choose a file"),
        "search": _("Search…"),
        "computed": _("filled in automatically"),
        "conditional": _("sometimes shown"),
        "missing_field": _("This field no longer exists"),
        "number_kind": _("Numbers"),
        "whole_numbers": _("Whole numbers"),
        "decimals_with": _("Decimals with"),
        "places": _("places"),
        "decimal_places": _("Decimal places"),
        "currency": _("Currency"),
        "links_to": _("Links to"),
        "max_chars": _("At most this many characters"),
        "at_least": _("Smallest allowed"),
        "at_most": _("Largest allowed"),
        "stars": _("Number of stars"),
        "several_files": _("Allow several files"),
        "prefix": _("Starts with"),
        "digits": _("Digits"),
        "default_value": _("Starts with the value"),
        "ticked_default": _("Ticked to start with"),
        "field_name": _("Name"),
        "help_text": _("Help shown under the field"),
        "must_be_ticked": _("Must be ticked"),
        "visibility_one": _("When it shows"),
        "show_only_when": _("Show only when…"),
        "more_settings": _("More settings"),
        "identifier": _("Identifier and type"),
        "identifier_hint": _(
            "The identifier names the field in exports, the API and formulas. It follows the "
            "English name until the app is installed."
        ),
        "remove_field": _("Remove this field"),
        "field_settings": _("Field settings"),
        "form_settings": _("Form settings"),
        "rt_name": _("What one entry is called"),
        "form_title": _("Form title"),
        "success_message": _("Message after sending"),
        "click_a_field": _("Click a field in the preview to change it."),
        "form_designer": _("Form"),
        "form_as_list": _("Sections as a list"),
        "new_type": _("New type"),
        "name": _("Name"),
        "workflows": _("Workflows"),
        "add_workflow": _("Add workflow"),
        "new_workflow": _("New workflow"),
        "workflow": _("Workflow"),
        "enabled": _("On (runs when triggered)"),
        "when_starts": _("When it starts"),
        "trigger": _("Starts when"),
        "of_type": _("Records of"),
        "watched_fields": _("Any of these fields changes"),
        "date_field": _("Date in the record"),
        "created_at": _("Created"),
        "offset": _("Before or after it (-1d = a day before, +2h = two hours after)"),
        "at_time": _("At this time of day"),
        "when_runs": _("Runs"),
        "every_day_9": _("Every day at 09:00"),
        "every_monday_9": _("Every Monday at 09:00"),
        "every_month_9": _("On the 1st of every month at 09:00"),
        "every_hour": _("Every hour"),
        "cron_custom": _("Or a schedule of your own (cron)"),
        "timezone": _("Time zone"),
        "which_form": _("Which form"),
        "secret": _("Secret the caller must send"),
        "only_when": _("Only when"),
        "steps": _("Steps"),
        "add_step": _("Add step"),
        "step_kind": _("What to do"),
        "this_record": _("this record"),
        "insert_field": _("Insert a field"),
        "set_field": _("Set a field"),
        "would": _("Would:"),
        "test_mode": _("Try it out"),
        "test_record": _("Record number to try it on"),
        "newest_record": _("newest record"),
        "test_run": _("Test (nothing is sent or changed)"),
        "tested_on": _("Tried on record {id}:"),
        "cond_true": _("the condition holds, so these steps would run:"),
        "cond_false": _("the condition does not hold, so it would stop here. The steps would be:"),
        "cond_none": _("no condition; these steps would run:"),
        "run_log": _("Run log"),
        "install_to_test": _("Install the app to try workflows on its records."),
        "validations": _("Validation rules"),
        "rule": _("Rule"),
        "rule_hint": _("A record can be saved only when this holds:"),
        "rule_message": _("Message when it does not"),
        "rule_default": _("Please check this value."),
        "show_message_at": _("Show the message at"),
        "whole_record": _("the whole record"),
        "indexes": _("Indexes"),
        "index_hint": _("Make lists sorted or filtered by these fields faster on large tables."),
        "add_index": _("Add index"),
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
        "changed": _("changed"),
        "changed_to": _("changed to"),
        "changed_from": _("changed from"),
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
        "problems": _problems(data),
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
        safe = data if isinstance(data, dict) else {}
        ctx["problems"] = [
            {"path": p.path, "message": p.message, "hint": p.hint, **problem_words(safe, p.path)}
            for p in exc.problems
        ]
    except TesseraError as exc:
        ctx["error"] = str(exc)
    return ctx


# ---------------------------------------------------------------- routes


@bp.get("/")
def index():
    """The template gallery, installed apps to open, this admin's drafts, the new-app form."""
    apps = sorted(common.engine_objects().registry.apps.values(), key=lambda a: a.id)
    return render_template(
        "builder/index.html", apps=apps, drafts=_my_drafts(), errors={}, gallery=_gallery()
    )


def _gallery() -> list[gallery.Entry]:
    try:
        return gallery.entries()
    except TesseraError:  # a broken built-in must not take the builder down with it
        return []


@bp.post("/gallery/<name>/install")
def gallery_install(name: str):
    """Install a built-in template from the gallery, with its demo data when ``demo`` is on."""
    t = common.engine_objects()
    demo = bool(request.form.get("demo"))
    try:
        counts = gallery.install(t, name, demo=demo, user=g.user["id"])
    except TesseraError as exc:
        flash(_("Could not install the template: %(error)s", error=str(exc)), "error")
        return redirect(url_for("builder.index"))
    app_id = gallery.entry(name).app.id
    if counts:
        flash(
            _("Installed with %(n)s sample records.", n=sum(counts.values())),
            "ok",
        )
    else:
        flash(_("Installed. The app is empty: add your first records."), "ok")
    return redirect(url_for("shell.app_home", app_id=app_id))


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
        ctx["gallery"] = _gallery()
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
    types = field_types()
    boot = {
        "draft": draft["data"],
        "base": _base_keys(app_id),
        "problems": _problems(draft["data"]),
        "field_types": types,
        "palette": palette(types),
        "section_options": section_options(),
        "flows": {
            "triggers": list(builder_flows.TRIGGERS),
            "trigger_names": builder_flows.trigger_names(),
            "actions": builder_flows.actions_spec(),
            "action_names": builder_flows.action_names(),
            "params": builder_flows.param_names(),
            "long_text": list(builder_flows.LONG_TEXT),
            "installed": installed is not None,
            "runs_url": url_for("automation.run_list", app=app_id),
        },
        "installed_options": _installed_options(app_id),
        "view_types": view_types(),
        "urls": {
            "save": url_for("builder.save", app_id=app_id),
            "usages": url_for("builder.usages", app_id=app_id),
            "remove": url_for("builder.remove", app_id=app_id),
            "test": url_for("builder.test_workflow", app_id=app_id),
        },
        "t": _strings(),
    }
    stale = installed is not None and draft["base_version"] != installed.version
    return render_template(
        "builder/edit.html", app_id=app_id, boot=boot, installed=installed, stale=stale
    )


@bp.post("/<app_id>/draft")
def save(app_id: str):
    """Store the posted draft (JSON ``{"data": {...}}``); answer with its problems."""
    body = json_object()
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


# ---------------------------------------------------------------- safe removal


def _removal(body: dict[str, Any]):
    """(data, record type key, field key or None) of a usages/remove request, else abort 400."""
    data, rt_key, field_key = body.get("data"), body.get("record_type"), body.get("field")
    if not isinstance(data, dict) or not isinstance(rt_key, str):
        abort(400, _("Send the draft as data and the record type to remove from."))
    if field_key is not None and not isinstance(field_key, str):
        abort(400, _("The field to remove must be named by its key."))
    return data, rt_key, field_key


@bp.post("/<app_id>/usages")
def usages(app_id: str):
    """Everywhere a field (``field`` given) or record type is used in the posted draft."""
    data, rt_key, field_key = _removal(json_object())
    if field_key is None:
        found = usage_finder.record_type_usages(data, rt_key)
    else:
        found = usage_finder.field_usages(data, rt_key, field_key)
    return {"usages": usage_answer(data, found)}


@bp.post("/<app_id>/remove")
def remove(app_id: str):
    """Remove a field or record type with all its uses from the draft; store and answer it."""
    body = json_object()
    data, rt_key, field_key = _removal(body)
    data["id"] = app_id
    if _installed(app_id) is None and load_draft(app_id) is None:
        abort(404, _("No app or draft called “%(app)s”.", app=app_id))
    if field_key is None:
        new, found = usage_finder.remove_record_type(data, rt_key)
    else:
        new, found = usage_finder.remove_field(data, rt_key, field_key)
    previous = load_draft(app_id)
    save_draft(app_id, new, previous["base_version"] if previous else _installed(app_id).version)
    return {"data": new, "removed": len(found), "problems": _problems(new)}


# ---------------------------------------------------------------- workflow test mode


@bp.post("/<app_id>/workflows/test")
def test_workflow(app_id: str):
    """Dry-run a workflow of the posted draft against a record (the newest when none given)."""
    body = json_object()
    data, key, record_id = body.get("data"), body.get("workflow"), body.get("record_id")
    if not isinstance(data, dict) or not isinstance(key, str):
        return {"error": _("Send the draft as data and the workflow to test.")}, 400
    if record_id in ("", None):
        record_id = None
    elif isinstance(record_id, bool) or (maybe_int(record_id) or 0) < 1:
        return {"error": _("A record is chosen by its number.")}, 400
    data["id"] = app_id
    try:
        result = builder_flows.test_draft_workflow(
            common.engine_objects(), data, key, maybe_int(record_id) if record_id else None
        )
    except TemplateError:
        error = _("Fix the problems of the draft first.")
        return {"error": error, "problems": _problems(data)}, 422
    except TesseraError as exc:
        return {"error": getattr(exc, "message", None) or str(exc)}, 409
    return json.loads(json.dumps(result, default=str))
