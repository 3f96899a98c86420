"""Merge page: upgrade a customised app to its author's new version in the browser.

The admin gives the new template (upload, paste, or the built-in template of that id);
the page runs the three-way merge (:mod:`tessera.merge.service`), lists each conflict
with a choice (keep mine / take theirs), previews the migration plan (a dry run) and
applies it in one transaction. The template text travels in the form, so the page
holds no state between steps.

Routes (admins only): ``GET /builder/merge/<app>`` and ``POST /builder/merge/<app>``
(``action=preview|apply``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tessera.errors import Problem, TemplateError, TesseraError
from tessera.merge import service
from tessera.meta import app_from_data, load_app
from tessera.web import common

bp = Blueprint("merge", __name__, url_prefix="/builder/merge")
#: zh-CN texts of this page (a catalog of its own, beside the main one)
TRANSLATIONS = Path(__file__).resolve().parent / "translations_upgrades"
BUILTIN_DIR = Path(__file__).resolve().parents[3] / "templates_builtin"
common.protect(bp)


@bp.before_request
def admins_only():
    """Only admins upgrade apps."""
    if g.get("user") and not g.user.get("is_admin"):
        abort(403, _("Only administrators can upgrade apps."))


def _installed(app_id: str):
    app = common.engine_objects().registry.apps.get(app_id)
    if app is None:
        abort(404, _("No app called “%(app)s” is installed.", app=app_id))
    return app


def _builtin(app_id: str) -> Path | None:
    folder = BUILTIN_DIR / app_id
    return folder if (folder / "template.yaml").is_file() else None


def note(conflict) -> str:
    """Why an item conflicts, in the page's language ("" for a changed setting)."""
    return {
        "deleted_here": _("deleted here, changed in the new version"),
        "deleted_upstream": _("changed here, deleted in the new version"),
        "held": _("removed in the new version, but %(n)s record(s) here hold it", n=conflict.held),
    }.get(conflict.kind, "")


def show(value: Any) -> str:
    """A setting's value for the page: a label map as "en: …" lines, else compact JSON."""
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return "\n".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _page(app_id: str, **ctx: Any) -> dict[str, Any]:
    engine = common.engine_objects().engine
    base = {
        "app_id": app_id,
        "installed": _installed(app_id),
        "customised": service.is_customised(engine, app_id),
        "builtin": _builtin(app_id) is not None,
        "text": "",
        "outcome": None,
        "problems": [],
        "error": None,
        "note": note,
        "show": show,
    }
    return {**base, **ctx}


@bp.get("/<app_id>")
def start(app_id: str):
    """Ask for the author's new version."""
    return render_template("merge/merge.html", **_page(app_id))


def _theirs_text(app_id: str) -> str:
    upload = request.files.get("file")
    if upload and upload.filename:
        return upload.read().decode("utf-8", errors="replace")
    if request.form.get("source") == "builtin" and _builtin(app_id):
        return (_builtin(app_id) / "template.yaml").read_text("utf-8")
    return request.form.get("template", "")


def _theirs(app_id: str, text: str):
    """The posted template compiled, or the problems that stop it."""
    if request.form.get("source") == "builtin" and _builtin(app_id):
        return load_app(_builtin(app_id)), []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [Problem("", _("The template is not valid YAML: %(e)s", e=str(exc)))]
    except RecursionError:  # "[[[[…" thousands deep: no template nests like that
        return None, [Problem("", _("The template is nested too deeply to be a template."))]
    try:
        app = app_from_data(data, "<uploaded template>")
    except TemplateError as exc:
        return None, exc.problems
    if app.id != app_id:
        msg = _("This template is app “%(other)s”, not “%(app)s”.", other=app.id, app=app_id)
        return None, [Problem("id", msg)]
    return app, []


@bp.post("/<app_id>")
def run(app_id: str):
    """Merge with the posted template; preview the plan, or apply it."""
    _installed(app_id)
    text = _theirs_text(app_id)
    theirs, problems = _theirs(app_id, text)
    if theirs is None:
        return render_template(
            "merge/merge.html", **_page(app_id, text=text, problems=problems)
        ), 422
    choices = {k[7:]: v for k, v in request.form.items() if k.startswith("choice:")}
    apply = request.form.get("action") == "apply"
    t = common.engine_objects()
    try:
        out = service.merge_upgrade(
            t.engine, theirs, choices=choices, dry_run=not apply, user=g.user["id"]
        )
    except TesseraError as exc:
        return render_template("merge/merge.html", **_page(app_id, text=text, error=str(exc))), 409
    if out.applied:
        t.registry.reload()
        flash(_("%(app)s %(version)s is live.", app=app_id, version=out.version), "ok")
        return redirect(url_for("shell.app_home", app_id=app_id))
    status = 409 if apply else 200
    ctx = _page(app_id, text=text, outcome=out, problems=out.problems, error=out.error)
    ctx["source"] = request.form.get("source", "")
    return render_template("merge/merge.html", **ctx), status
