"""Automation in the web UI: the notification bell, operations pages, recipes, webhooks.

Three blueprints:

- ``automation`` (``/automation``, admins only, others get 403): ``GET /`` workflows per
  app (trigger, paused, failed runs, last run, loop warnings) with ``POST
  /<app>/<wf>/pause|resume``; ``GET /<app>/<wf>/test?record_id=`` test mode (a dry run, step
  by step); ``GET /runs`` (filters ``app``, ``workflow``, ``status``, ``record_type``,
  ``record_id``; paged with ``before``); ``GET /runs/<id>``; ``POST /runs/<id>/retry``;
  ``GET /queue`` queue depth and worker liveness; ``GET /mail`` the local mail outbox;
  ``GET /recipes``; ``GET|POST /recipes/<key>`` the install form generated from the
  recipe's parameters; ``POST /recipes/installed/<app>/<wf>/uninstall``.
- ``automation_user`` (signed-in users): ``GET /notifications``, ``POST
  /notifications/read`` (``id`` values, or all), ``POST /notifications/<id>/open`` (mark
  read, go to the record), and ``POST /run/<app>`` which starts a ``manual`` workflow on
  the records in ``ids`` (the record page's "Run workflow" menu and the table's bulk bar).
- ``hooks`` (CSRF-exempt like ``/api``, no session): ``POST /hooks/<app>/<workflow>``
  with the secret in ``X-Tessera-Secret`` or ``?secret=``; the JSON body becomes the run's
  ``vars.payload``. Answers are JSON: 202 ``{"run_id": n}``, 400 bad JSON, 403 wrong
  secret, 404 unknown app or workflow.

Template helpers (Jinja globals): ``bell()``, ``manual_workflows(app_id, rt_key)`` and
``record_runs(app_id, rt_key, record_id)``. :func:`form_submitted` is what the record and
public form pages call after a save so ``form.submitted`` triggers fire.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from tessera.automation import recipes, runs
from tessera.automation.workflows import paused, workflows_of
from tessera.errors import BadRequest, NotFound, RecordError, TemplateError, TesseraError
from tessera.meta.model import thaw
from tessera.web import common
from tessera.web.hostile import db_int, maybe_int
from tessera.web.i18n import label, translated
from tessera.web.security import safe_next

log = logging.getLogger("tessera.web.automation")

bp = Blueprint("automation", __name__, url_prefix="/automation")
common.protect(bp)
user_bp = Blueprint("automation_user", __name__)
common.protect(user_bp)
hooks_bp = Blueprint("hooks", __name__, url_prefix="/hooks")

RUN_STATUSES = ("pending", "running", "waiting", "retrying", "done", "failed", "skipped", "stopped")
RETRYABLE = ("failed", "stopped")
PAGE_SIZE = 50
BELL_ITEMS = 8


def init_app(app: Flask) -> None:
    """Register the three blueprints and the template helpers."""
    for blueprint in (bp, user_bp, hooks_bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(
        bell=bell, manual_workflows=manual_workflows, record_runs=record_runs, as_json=as_json
    )


def _t() -> Any:
    return common.engine_objects()


@bp.before_request
def admins_only():
    """Only admins operate automation (sign-in itself is checked by ``common.protect``)."""
    if g.get("user") and not g.user.get("is_admin"):
        abort(403, _("Only administrators can manage automation."))


@bp.errorhandler(403)
def _forbidden(exc):
    return render_template("error.html", status=403, message=exc.description), 403


# -- template helpers -------------------------------------------------------------------------
def bell() -> dict[str, Any]:
    """The signed-in user's unread count and latest notifications, for the top bar."""
    if not g.get("user"):
        return {"unread": 0, "items": []}
    t, uid = _t(), g.user["id"]
    return {
        "unread": runs.unread_count(t, uid),
        "items": runs.notifications(t, uid, limit=BELL_ITEMS),
    }


def manual_workflows(app_id: str, rt_key: str) -> list[dict[str, Any]]:
    """Enabled, running ``manual`` workflows on one record type: key and label."""
    t = _t()
    with t.engine.connect() as conn:
        stopped = paused(conn, app_id)
    return [
        {"key": w.key, "label": thaw(w.label)}
        for w in workflows_of(t, app_id)
        if w.trigger.get("on") == "manual"
        and w.record_type == rt_key
        and w.enabled
        and w.key not in stopped
    ]


def record_runs(app_id: str, rt_key: str, record_id: int, limit: int = 10) -> list[dict]:
    """A record's latest runs (admins see them on the record page)."""
    return runs.list_runs(_t(), app_id=app_id, record_type=rt_key, record_id=record_id, limit=limit)


def as_json(value: Any) -> str:
    """``value`` as indented JSON for a <pre> block (dates and the like as text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True)


def form_submitted(app_id: str, form_key: str, record_id: int, user_id: int | None) -> None:
    """Start the form's ``form.submitted`` workflows; a failure is logged, the save stands."""
    try:
        runs.submit_form(_t(), app_id, form_key, record_id, user_id)
    except Exception:  # noqa: BLE001 - the record is saved; the sweep re-enqueues pending runs
        log.exception("form.submitted workflows of %s/%s did not start", app_id, form_key)


# -- workflows ----------------------------------------------------------------------------------
@bp.get("/")
def index():
    """Every app's workflows with their state, and the queue at a glance."""
    t = _t()
    apps = sorted(t.registry.apps.values(), key=lambda a: a.id)
    groups = [{"app": a, "workflows": runs.list_workflows(t, a.id)} for a in apps]
    failed = sum(w["failed_runs"] for grp in groups for w in grp["workflows"])
    return render_template(
        "automation/index.html", groups=groups, stats=_stats(), failed_total=failed
    )


@bp.post("/<app_id>/<wf_key>/pause")
def pause(app_id: str, wf_key: str):
    """Pause a workflow."""
    runs.pause_workflow(_t(), common.meta(app_id).id, wf_key)
    flash(_("Paused “%(wf)s”. Its triggers are ignored until you resume it.", wf=wf_key), "ok")
    return redirect(_back(url_for("automation.index")))


@bp.post("/<app_id>/<wf_key>/resume")
def resume(app_id: str, wf_key: str):
    """Resume a paused workflow."""
    runs.resume_workflow(_t(), common.meta(app_id).id, wf_key)
    flash(_("Resumed “%(wf)s”.", wf=wf_key), "ok")
    return redirect(_back(url_for("automation.index")))


@bp.get("/<app_id>/<wf_key>/test")
def test(app_id: str, wf_key: str):
    """Test mode: pick a record, see the condition and what each action would do."""
    app = common.meta(app_id)
    wf = _workflow_row(app.id, wf_key)
    record_id = request.args.get("record_id", type=db_int)
    result, error, status = None, None, 200
    if record_id is not None or "run" in request.args:
        try:
            result = runs.test_workflow(_t(), app.id, wf_key, record_id)
        except NotFound as exc:
            error, status = translated(exc.message), 404
        except TesseraError as exc:  # a step that cannot even be previewed
            error = translated(getattr(exc, "message", None) or str(exc))
    return render_template(
        "automation/test.html", app=app, wf=wf, record_id=record_id, result=result, error=error
    ), status


def _workflow_row(app_id: str, wf_key: str) -> dict[str, Any]:
    found = next((w for w in runs.list_workflows(_t(), app_id) if w["key"] == wf_key), None)
    if found is None:
        abort(404, _("The app has no workflow “%(wf)s”.", wf=wf_key))
    return found


# -- runs ---------------------------------------------------------------------------------------
@bp.get("/runs")
def run_list():
    """Runs, newest first, filtered by app, workflow, status and record; paged."""
    filters = _run_filters()
    rows = runs.list_runs(
        _t(), **filters, before_id=request.args.get("before", type=db_int), limit=PAGE_SIZE + 1
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render_template(
        "automation/runs.html",
        rows=rows,
        filters=filters,
        next_before=rows[-1]["id"] if more else None,
        paged="before" in request.args,
        apps=sorted(_t().registry.apps),
        statuses=RUN_STATUSES,
        args=request.args,
    )


def _run_filters() -> dict[str, Any]:
    args = request.args
    status = args.get("status") or None
    if status is not None and status not in RUN_STATUSES:
        abort(400, _("Unknown run status “%(s)s”.", s=status))
    return {
        "app_id": args.get("app") or None,
        "workflow_key": args.get("workflow") or None,
        "status": status,
        "record_type": args.get("record_type") or None,
        "record_id": args.get("record_id", type=db_int),
    }


@bp.get("/runs/<int:run_id>")
def run_detail(run_id: int):
    """One run step by step: input, output, error, duration and attempts of each action."""
    run = runs.get_run(_t(), run_id)
    return render_template("automation/run.html", run=run, retryable=run["status"] in RETRYABLE)


@bp.post("/runs/<int:run_id>/retry")
def retry(run_id: int):
    """Re-run a failed run from its failed step; anything else is refused with a message."""
    try:
        runs.retry_run(_t(), run_id)
    except BadRequest as exc:
        flash(translated(exc.message), "error")
    else:
        flash(_("Run #%(id)d is queued again from its failed step.", id=run_id), "ok")
    return redirect(url_for("automation.run_detail", run_id=run_id))


# -- queue and mail -----------------------------------------------------------------------------
@bp.get("/queue")
def queue():
    """Queue depth, job registries and worker liveness."""
    return render_template("automation/queue.html", stats=_stats())


def _stats() -> dict[str, Any]:
    t = _t()
    try:
        stats = runs.queue_stats(t)
    except Exception as exc:  # noqa: BLE001 - Redis down: say so on the page instead of a 500
        return {"error": str(exc), "workers": [], "embedded": t.automation.embedded}
    return {**stats, "thread_running": t.automation.running}


@bp.get("/mail")
def mail():
    """E-mails the embedded default wrote to the local outbox (no SMTP_HOST)."""
    t = _t()
    return render_template(
        "automation/mail.html",
        mails=runs.mail_outbox(t, limit=100),
        smtp=t.config.get("SMTP_HOST"),
    )


# -- recipes ------------------------------------------------------------------------------------
@bp.get("/recipes")
def recipe_list():
    """The recipes in workflows/ and the ones installed, with uninstall buttons."""
    return render_template(
        "automation/recipes.html", recipes=recipes.list_recipes(), installed=recipes.installed(_t())
    )


@bp.route("/recipes/<key>", methods=["GET", "POST"])
def install(key: str):
    """The install form of one recipe: target record type, then its parameters."""
    recipe = _recipe(key)
    target = request.values.get("target", "")
    app, rt = _target(target)
    if request.method == "GET" or rt is None:
        return _install_page(recipe, target, app, rt, {}, {}, [])
    values = _posted_params(recipe)
    wf_key = request.form.get("workflow_key", "").strip() or None
    try:
        done = recipes.install_recipe(_t(), app.id, rt.key, key, values, key=wf_key)
    except TemplateError as exc:
        errors, general = _problems_by_param(exc)
        return _install_page(recipe, target, app, rt, request.form, errors, general), 422
    flash(_("Installed “%(wf)s” on %(rt)s.", wf=done, rt=label(rt.label, rt.key)), "ok")
    return redirect(url_for("automation.recipe_list"))


def _recipe(key: str) -> dict[str, Any]:
    found = next((r for r in recipes.list_recipes() if r["key"] == key), None)
    if found is None:
        abort(404, _("There is no recipe “%(key)s”.", key=key))
    return found


def _target(target: str):
    """``app.record_type`` -> (App, RecordType); (None, None) when empty or unknown."""
    app_id, _sep, rt_key = target.partition(".")
    app = _t().registry.apps.get(app_id)
    if app is None or not app.has_record_type(rt_key):
        return None, None
    return app, app.record_type(rt_key)


def _posted_params(recipe: dict[str, Any]) -> dict[str, Any]:
    """The form's parameter values; empty ones are left out so defaults apply."""
    values: dict[str, Any] = {}
    for p in recipe["params"]:
        name = f"p.{p['key']}"
        if p["type"] == "fields":
            chosen = request.form.getlist(name)
            if chosen:
                values[p["key"]] = chosen
        elif p["type"] == "boolean":
            values[p["key"]] = request.form.getlist(name)[-1:] == ["true"]
        elif request.form.get(name, "").strip() != "":
            values[p["key"]] = request.form[name].strip()
    return values


def _problems_by_param(exc: TemplateError) -> tuple[dict[str, list[str]], list[str]]:
    errors: dict[str, list[str]] = {}
    general = []
    for p in exc.problems:
        text = f"{p.message} — {p.hint}" if p.hint else p.message
        if p.path.startswith("params."):
            errors.setdefault(p.path.split(".", 1)[1], []).append(text)
        elif p.path == "key":
            errors.setdefault("workflow_key", []).append(text)
        else:
            general.append(f"{p.path}: {text}")
    return errors, general


def _install_page(recipe, target, app, rt, posted, errors, general):
    return render_template(
        "automation/install.html",
        recipe=recipe,
        target=target,
        app=app,
        rt=rt,
        targets=_targets(),
        params=[_param_view(p, rt, posted) for p in recipe["params"]],
        posted=posted,
        errors=errors,
        general=general,
    )


def _targets() -> list[tuple[str, str]]:
    """(``app.rt``, "App › Record type") of every installed record type."""
    apps = sorted(_t().registry.apps.values(), key=lambda a: a.id)
    return [
        (f"{a.id}.{rt.key}", f"{label(a.label, a.id)} › {label(rt.label, rt.key)}")
        for a in apps
        for rt in a.record_types
    ]


def _param_view(p: dict[str, Any], rt, posted) -> dict[str, Any]:
    """One parameter with its input kind, current value and (for fields) the choices."""
    name = f"p.{p['key']}"
    default = p.get("default")
    if p["type"] == "fields":
        value = posted.getlist(name) if posted else list(default or [])
    elif posted:
        value = posted.get(name, "")
    else:
        value = "" if default is None else default
    return {**p, "name": name, "value": value, "choices": _field_choices(p, rt)}


def _field_choices(p: dict[str, Any], rt) -> list[tuple[str, str]]:
    if p["type"] not in ("field", "fields") or rt is None:
        return []
    wanted = p.get("field_types")
    out = [(f.key, label(f.label, f.key)) for f in rt.fields if not wanted or f.type in wanted]
    if not wanted or "datetime" in wanted:
        out += [(k, k) for k in recipes.SYSTEM_DATES]
    return out


@bp.post("/recipes/installed/<app_id>/<wf_key>/uninstall")
def uninstall(app_id: str, wf_key: str):
    """Remove an installed recipe workflow (its runs stay in the log)."""
    try:
        recipes.uninstall_recipe(_t(), app_id, wf_key)
    except TemplateError as exc:
        flash("; ".join(p.message for p in exc.problems), "error")
    else:
        flash(_("Uninstalled “%(wf)s”.", wf=wf_key), "ok")
    return redirect(url_for("automation.recipe_list"))


# -- notifications and manual runs (every signed-in user) --------------------------------------
@user_bp.get("/notifications")
def notifications():
    """The signed-in user's notifications, newest first."""
    items = runs.notifications(_t(), g.user["id"], limit=200)
    return render_template("automation/notifications.html", items=items)


@user_bp.post("/notifications/read")
def mark_read():
    """Mark the posted notification ids read, or every one when none are posted."""
    ids = [i for i in map(maybe_int, request.form.getlist("id")) if i is not None] or None
    changed = runs.mark_read(_t(), g.user["id"], ids)
    flash(
        ngettext(
            "Marked %(num)d notification read.", "Marked %(num)d notifications read.", changed
        ),
        "ok",
    )
    return redirect(_back(url_for("automation_user.notifications")))


@user_bp.post("/notifications/<int:note_id>/open")
def open_notification(note_id: int):
    """Mark one notification read and go to its record (or the list when it has none)."""
    t, uid = _t(), g.user["id"]
    note = next((n for n in runs.notifications(t, uid, limit=1000) if n["id"] == note_id), None)
    if note is None:
        abort(404, _("No such notification."))
    runs.mark_read(t, uid, [note_id])
    if note["record_id"] is None or note["app_id"] not in t.registry.apps:
        return redirect(url_for("automation_user.notifications"))
    return redirect(
        url_for(
            "records.show",
            app_id=note["app_id"],
            rt_key=note["record_type"],
            record_id=note["record_id"],
        )
    )


@user_bp.post("/run/<app_id>")
def run_manual(app_id: str):
    """Start the posted ``workflow`` (a manual one) on the records in ``ids``."""
    app = common.meta(app_id)
    wf_key = request.form.get("workflow", "")
    ids = [i for i in map(maybe_int, request.form.getlist("ids")) if i is not None]
    back = _back(url_for("shell.app_home", app_id=app.id))
    wf = next(
        (w for w in manual_workflows(app.id, _rt_of(app.id, wf_key)) if w["key"] == wf_key), None
    )
    if wf is None:
        flash(_("“%(wf)s” is not a manual workflow that can run now.", wf=wf_key), "error")
        return redirect(back)
    if not ids:
        flash(_("Select at least one record first."), "error")
        return redirect(back)
    try:
        _readable(app.id, _rt_of(app.id, wf_key), ids)
        started = runs.run_manual(_t(), app.id, wf_key, ids, g.user["id"])
    except RecordError as exc:
        flash(translated(exc.message), "error")
        return redirect(back)
    name = label(wf["label"], wf_key)
    flash(
        ngettext(
            "Started “%(wf)s” on %(num)d record.", "Started “%(wf)s” on %(num)d records.",
            len(started), wf=name,
        ),
        "ok",
    )  # fmt: skip
    return redirect(back)


def _rt_of(app_id: str, wf_key: str) -> str | None:
    return next((w.record_type for w in workflows_of(_t(), app_id) if w.key == wf_key), None)


def _readable(app_id: str, rt_key: str, ids: list[int]) -> None:
    """Raise NotFound unless the user may read every record (the access policy decides)."""
    records = _t().records
    for record_id in ids:
        records.get(app_id, rt_key, record_id, g.user["id"])


def _back(default: str) -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), default)


# -- incoming webhooks --------------------------------------------------------------------------
@hooks_bp.post("/<app_id>/<wf_key>")
def webhook(app_id: str, wf_key: str):
    """An incoming webhook call: check the secret, start the workflow with the JSON body."""
    if app_id not in _t().registry.apps:
        return _hook_error(404, "not_found", f"no app {app_id!r} is installed")
    payload = request.get_json(silent=True) if request.data else {}
    if payload is None:
        return _hook_error(400, "bad_request", "the request body is not JSON")
    if "secret" in request.args:  # URLs end up in proxy and server logs
        message = "send the secret in the X-Tessera-Secret header, not in the URL"
        return _hook_error(400, "bad_request", message)
    secret = request.headers.get("X-Tessera-Secret")
    try:
        run_id = runs.receive_webhook(_t(), app_id, wf_key, secret, payload)
    except NotFound as exc:
        return _hook_error(404, "not_found", exc.message)
    except BadRequest as exc:  # the only refusal receive_webhook makes: a wrong secret
        return _hook_error(403, "forbidden", exc.message)
    return {"run_id": run_id}, 202


def _hook_error(status: int, code: str, message: str):
    return {"error": {"code": code, "message": message}}, status
