"""Admin pages for people: users (create, edit, deactivate, reset password, teams, roles),
teams (tree, manager, members) and the global audit log (filters, CSV export).

Administrators only. Every change goes through :mod:`tessera.access.people`, which checks
it and writes the security log; these views parse forms and render.
"""

from __future__ import annotations

import importlib

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from tessera import tokens
from tessera.access import audit, people
from tessera.fields.choice import option_label
from tessera.users import UserError, time_zones
from tessera.web import common, i18n
from tessera.web import people as web_people
from tessera.web.i18n import label

bp = Blueprint("admin_people", __name__, url_prefix="/admin")
common.protect(bp)
AUDIT_PAGE = 50
NO_STORE = {"Cache-Control": "no-store"}  # pages showing a password or token once


@bp.app_template_global("local_time")
def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment in the signed-in user's time zone (every template may use it)."""
    return i18n.local_time(value, fmt)


@bp.before_request
def admins_only():
    """Only administrators manage people and read the audit log."""
    if g.get("user") and not g.user.get("is_admin"):
        abort(403, _("Only administrators can manage users, teams and roles."))


def message(exc: UserError) -> str:
    """A refusal of the people service in the reader's language."""
    p = exc.params
    texts = {
        "username_taken": lambda: _("The username “%(name)s” is taken.", name=p["name"]),
        "username_invalid": lambda: _(
            "Username “%(name)s”: use 2-64 letters, digits or _ . @ -", name=p["name"]
        ),
        "password_short": lambda: _("The password must be at least 8 characters."),
        "locale_invalid": lambda: _("Unknown language “%(locale)s”.", locale=p["locale"]),
        "timezone_invalid": lambda: _(
            "“%(zone)s” is not a time zone. Pick one from the list, e.g. Asia/Shanghai.",
            zone=p["zone"],
        ),
        "role_unknown": lambda: _(
            "App “%(app)s” has no role “%(role)s”. Its roles: %(roles)s.", **p
        ),
        "app_unknown": lambda: _("No app called “%(app)s” is installed.", app=p["app"]),
        "role_key": lambda: _(
            "Role “%(role)s”: use lower-case letters, digits and _.", role=p["role"]
        ),
        "role_syntax": lambda: _("Write a role as APP:ROLE, e.g. crm:sales_rep."),
        "role_admin": lambda: _(
            "“admin” is not a role of an app: tick “Administrator” in the profile instead."
        ),
        "no_user": lambda: _("There is no such user."),
        "no_team": lambda: _("There is no such team."),
        "team_name": lambda: _("A team name is 1 to 150 characters."),
        "team_taken": lambda: _("The team name “%(name)s” is taken.", name=p["name"]),
        "team_cycle": lambda: _("A team cannot be placed under itself or one of its sub-teams."),
        "self_deactivate": lambda: _("You cannot deactivate yourself. Ask another administrator."),
        "self_unadmin": lambda: _("You cannot take away your own administrator rights."),
        "last_admin": lambda: _(
            "This is the last active administrator. Make someone else an administrator first."
        ),
        "current_password": lambda: _("The current password is not right."),
    }
    found = texts.get(exc.code)
    return found() if found else str(exc)


def _engine():
    return common.engine_objects().engine


def _apps():
    return common.engine_objects().registry.apps


def role_choices(held: set[str]) -> list[dict]:
    """Per installed app: its role keys and labels, and (if it declares none) the
    held role keys as free text."""
    out = []
    for app in sorted(_apps().values(), key=lambda a: a.id):
        declared = people.declared_roles(app)
        roles = [(r.key, label(r.label, r.key)) for r in declared if r.key != "admin"]
        prefix = f"{app.id}:"
        extra = " ".join(sorted(h[len(prefix) :] for h in held if h.startswith(prefix)))
        if request.method == "POST":
            extra = request.form.get(f"roles-{app.id}", "")
        out.append({"app": app, "declared": bool(declared), "roles": roles, "extra": extra})
    return out


def posted_roles() -> list[people.RoleRef]:
    """Roles from the form: ticked ``role`` boxes and free ``roles-<app>`` text."""
    apps = _apps()
    texts = list(request.form.getlist("role"))
    for app_id in apps:
        extra = request.form.get(f"roles-{app_id}", "")
        texts += [f"{app_id}:{r.strip()}" for r in extra.replace(",", " ").split() if r.strip()]
    return [people.parse_role(t, apps) for t in texts]


def posted_ids(name: str) -> list[int]:
    """Whole numbers posted under ``name`` (others ignored)."""
    return [int(v) for v in request.form.getlist(name) if v.isascii() and v.isdigit()]


# -- users ----------------------------------------------------------------------------------
@bp.get("/")
def index():
    """The people admin starts at the user list."""
    return redirect(url_for("admin_people.user_list"))


@bp.get("/users")
def user_list():
    """Every user with state, roles and teams."""
    return render_template(
        "admin/users.html", users=people.list_users(_engine()), role_label=role_label
    )


def role_label(ref: people.RoleRef) -> str:
    """A held role as "App: Role label" in the reader's language."""
    app = _apps().get(ref.app_id)
    if app is None:
        return str(ref)
    found = next((r for r in people.declared_roles(app) if r.key == ref.role), None)
    return f"{label(app.label, app.id)}: {label(found.label, ref.role) if found else ref.role}"


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    """Create a user (a password is generated unless one is given) and show it once."""
    form = request.form if request.method == "POST" else {}
    if request.method == "GET":
        return _user_form(None, {"locale": "en"}, set(), [])
    try:
        new = people.NewUser(
            username=form.get("username", "").strip(),
            password=form.get("password") or None,
            display_name=form.get("display_name"),
            email=form.get("email"),
            locale=form.get("locale", "en"),
            timezone=form.get("timezone", "").strip() or None,
            is_admin=form.get("is_admin") == "on",
            roles=tuple(posted_roles()),
            teams=tuple(posted_ids("team")),
        )
        user_id, password = people.create_user(_engine(), new, by=common.me())
    except UserError as exc:
        return _user_form(None, form, _form_roles(), posted_ids("team"), error=message(exc))
    page = render_template(
        "admin/password_once.html",
        user=people.get(_engine(), user_id),
        password=password,
        created=True,
    )
    return page, 200, NO_STORE


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    """A user's profile, teams and roles (one form), plus deactivate and reset password."""
    user = _user_or_404(user_id)
    held = {str(r) for r in user["roles"]}
    if request.method == "GET":
        return _user_form(user, user, held, user["team_ids"])
    form = request.form
    engine, me = _engine(), common.me()
    try:
        profile = {
            "display_name": form.get("display_name", ""),
            "email": form.get("email", ""),
            "locale": form.get("locale", "en"),
            "timezone": form.get("timezone", ""),
            "is_admin": form.get("is_admin") == "on",
        }
        people.update_user(
            engine,
            user_id,
            by=me,
            profile=profile,
            team_ids=posted_ids("team"),
            roles=posted_roles(),
            role_apps=list(_apps()),
        )
    except UserError as exc:
        merged = {**user, **form.to_dict(), "is_admin": form.get("is_admin") == "on"}
        return _user_form(user, merged, _form_roles(), posted_ids("team"), error=message(exc))
    flash(_("Saved %(name)s.", name=user["username"]), "ok")
    return redirect(url_for("admin_people.user_edit", user_id=user_id))


def _form_roles() -> set[str]:
    return set(request.form.getlist("role"))


def _user_form(user, values, held_roles, team_ids, error=None):
    status = 422 if error else 200
    return (
        render_template(
            "admin/user_form.html",
            user=user,
            values=values,
            held_roles=held_roles,
            team_ids=set(team_ids),
            teams=people.list_teams(_engine()),
            role_choices=role_choices(held_roles),
            zones=sorted(time_zones()),
            tokens=tokens.list_tokens(_engine(), user["id"]) if user else [],
            can_unlock=_signin() is not None,
            error=error,
        ),
        status,
    )


def _user_or_404(user_id: int) -> dict:
    try:
        return people.get(_engine(), user_id)
    except UserError:
        abort(404, _("There is no such user."))


@bp.post("/users/<int:user_id>/active")
def user_active(user_id: int):
    """Deactivate (sessions and API tokens end at once) or reactivate a user."""
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        people.set_active(
            _engine(),
            user_id,
            active,
            by=common.me(),
            token_cache=common.engine_objects().token_cache,
        )
    except UserError as exc:
        flash(message(exc), "error")
        return redirect(url_for("admin_people.user_edit", user_id=user_id))
    if active:
        flash(_("%(name)s can sign in again.", name=user["username"]), "ok")
    else:
        flash(
            _(
                "%(name)s is deactivated: their sessions and API tokens stopped working.",
                name=user["username"],
            ),
            "ok",
        )
    return redirect(url_for("admin_people.user_edit", user_id=user_id))


@bp.post("/users/<int:user_id>/password")
def user_password(user_id: int):
    """Reset a password (given, or generated) and show it once; the user's sessions end."""
    user = _user_or_404(user_id)
    try:
        password = people.reset_password(
            _engine(), user_id, by=common.me(), password=request.form.get("password") or None
        )
    except UserError as exc:
        flash(message(exc), "error")
        return redirect(url_for("admin_people.user_edit", user_id=user_id))
    page = render_template("admin/password_once.html", user=user, password=password)
    return page, 200, NO_STORE


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
def user_token_revoke(user_id: int, token_id: int):
    """Revoke one of a user's API tokens (e.g. one that leaked)."""
    try:
        tokens.revoke(_engine(), token_id, by=common.me(), owner_id=user_id)
    except tokens.TokenError:
        flash(_("There is no such token."), "error")
    else:
        common.engine_objects().token_cache.clear()
        flash(_("Token revoked: it stopped working."), "ok")
    return redirect(url_for("admin_people.user_edit", user_id=user_id))


def _signin():
    """The sign-in throttle module when this installation has it (lockouts), else None."""
    try:
        signin = importlib.import_module("tessera.signin")
    except ImportError:
        return None
    return signin if hasattr(signin, "unlock") else None


@bp.post("/users/<int:user_id>/unlock")
def user_unlock(user_id: int):
    """Lift a sign-in lockout (too many wrong passwords) before it runs out."""
    user = _user_or_404(user_id)
    signin = _signin()
    if signin is None:
        abort(404)
    signin.unlock(current_app._get_current_object(), user["username"], by=common.me())
    flash(_("%(name)s may sign in again at once.", name=user["username"]), "ok")
    return redirect(url_for("admin_people.user_edit", user_id=user_id))


# -- teams ----------------------------------------------------------------------------------
@bp.route("/teams", methods=["GET", "POST"])
def team_list():
    """The team tree, and a form to add a team."""
    error, values = None, {}
    if request.method == "POST":
        values = request.form
        try:
            team_id = people.create_team(
                _engine(),
                values.get("name", ""),
                parent_id=_int(values.get("parent_id")),
                manager_id=_int(values.get("manager_id")),
                by=common.me(),
            )
        except UserError as exc:
            error = message(exc)
        else:
            flash(_("Created team %(name)s.", name=values.get("name", "").strip()), "ok")
            return redirect(url_for("admin_people.team_edit", team_id=team_id))
    return (
        render_template(
            "admin/teams.html",
            teams=people.list_teams(_engine()),
            users=web_people.choices(),
            values=values,
            error=error,
        ),
        422 if error else 200,
    )


@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
def team_edit(team_id: int):
    """Rename a team, move it, change its manager and members."""
    try:
        team = people.team(_engine(), team_id)
    except UserError:
        abort(404, _("There is no such team."))
    error, values = None, {**team, "member_ids": set(team["member_ids"])}
    if request.method == "POST":
        form = request.form
        values = {**form.to_dict(), "id": team_id, "member_ids": set(posted_ids("member"))}
        try:
            people.update_team(
                _engine(),
                team_id,
                name=form.get("name", ""),
                parent_id=_int(form.get("parent_id")),
                manager_id=_int(form.get("manager_id")),
                member_ids=posted_ids("member"),
                by=common.me(),
            )
        except UserError as exc:
            error = message(exc)
        else:
            flash(_("Saved team %(name)s.", name=form.get("name", "").strip()), "ok")
            return redirect(url_for("admin_people.team_edit", team_id=team_id))
    return (
        render_template(
            "admin/team_form.html",
            team=team,
            values=values,
            teams=[t for t in people.list_teams(_engine()) if t["id"] != team_id],
            users=web_people.choices(),
            error=error,
        ),
        422 if error else 200,
    )


@bp.post("/teams/<int:team_id>/delete")
def team_delete(team_id: int):
    """Delete a team (members leave it; sub-teams move up)."""
    try:
        people.delete_team(_engine(), team_id, by=common.me())
    except UserError as exc:
        flash(message(exc), "error")
    else:
        flash(_("Team deleted."), "ok")
    return redirect(url_for("admin_people.team_list"))


def _int(value) -> int | None:
    return int(value) if value and str(value).isascii() and str(value).isdigit() else None


# -- audit log ------------------------------------------------------------------------------
@bp.get("/audit")
def audit_log():
    """Record changes and security events, newest first, filtered and paginated."""
    filters, problems = audit.Filters.parse(request.args)
    page = max(1, _int(request.args.get("page")) or 1)
    rows = audit.entries(_engine(), filters, limit=AUDIT_PAGE + 1, offset=(page - 1) * AUDIT_PAGE)
    apps, types = audit.apps_and_types(_engine())
    return render_template(
        "admin/audit.html",
        rows=rows[:AUDIT_PAGE],
        more=len(rows) > AUDIT_PAGE,
        page=page,
        filters=filters,
        problems=problems,
        apps=apps,
        types=types,
        actions=audit.RECORD_ACTIONS + audit.SECURITY_ACTIONS,
        names=web_people.directory(),
        users=sorted(web_people.directory().items(), key=lambda item: item[1]),
        args=request.args,
        action_label=action_label,
        via_label=via_label,
        detail_text=detail_text,
        record_changes=record_changes,
        record_name=record_name,
    )


def action_label(action: str) -> str:
    """An audit action in words."""
    words = {
        "create": _("Record created"),
        "update": _("Record changed"),
        "delete": _("Record deleted"),
        "login": _("Signed in"),
        "login_failed": _("Sign-in failed"),
        "lockout": _("Sign-in locked"),
        "unlock": _("Sign-in unlocked"),
        "user_create": _("User created"),
        "user_update": _("User changed"),
        "user_deactivate": _("User deactivated"),
        "user_activate": _("User reactivated"),
        "password_reset": _("Password reset"),
        "password_change": _("Password changed"),
        "role_grant": _("Role granted"),
        "role_revoke": _("Role taken away"),
        "team_create": _("Team created"),
        "team_update": _("Team changed"),
        "team_delete": _("Team deleted"),
        "team_join": _("Joined team"),
        "team_leave": _("Left team"),
        "token_create": _("API token created"),
        "token_revoke": _("API token revoked"),
        "share": _("Record shared"),
        "unshare": _("Sharing ended"),
        "pool_claim": _("Claimed from the pool"),
        "pool_release": _("Released to the pool"),
    }
    return words.get(action, action)


def via_label(kind: str | None, ref: str | None) -> str:
    """Through which door a record change came, in words."""
    words = {
        "ui": _("Web"),
        "api": "API",
        "workflow": _("Workflow"),
        "import": _("Import"),
        "public_form": _("Public form"),
    }
    found = audit.via(kind, ref)
    return words.get(found, found)


def _record_type(app_id: str | None, rt_key: str | None):
    app = common.engine_objects().registry.apps.get(app_id or "")
    return app, (app.record_type(rt_key) if app and app.has_record_type(rt_key or "") else None)


def record_name(row) -> str:
    """``客户管理 · 客户 #1``: the app and record type of an audit row by their labels."""
    app, rt = _record_type(row["app_id"], row["record_type"])
    app_name = label(app.label, app.id) if app else row["app_id"]
    rt_name = label(rt.label, rt.key) if rt else row["record_type"]
    return f"{app_name} · {rt_name} #{row['record_id']}"


def record_changes(row) -> list[tuple[str, str, str]]:
    """(field label, old, new) of a record change, options shown by their labels."""
    _app, rt = _record_type(row["app_id"], row["record_type"])
    out = []
    for key, pair in (row["detail"] or {}).items():
        f = rt.field_map.get(key) if rt else None
        old, new = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        out.append((label(f.label, key) if f else key, _shown(f, old), _shown(f, new)))
    return out


def _shown(f, value) -> str:
    if value is None:
        return ""
    if f is not None and f.type in ("select", "multi_select"):
        values = value if isinstance(value, list) else [value]
        return ", ".join(option_label(f, str(v), i18n.label_locale()) for v in values)
    return str(value)


def detail_text(detail: dict) -> str:
    """A security event's detail as ``key: value`` pairs (``[old, new]`` as old → new)."""

    def one(value) -> str:
        if isinstance(value, list) and len(value) == 2:
            return f"{one(value[0])} → {one(value[1])}"
        if value is None:
            return "—"
        if isinstance(value, bool):
            return "✓" if value else "✗"
        return str(value)

    return "; ".join(f"{k}: {one(v)}" for k, v in (detail or {}).items())


@bp.get("/audit.csv")
def audit_csv():
    """The filtered audit log as CSV (UTF-8 with BOM, formula-like cells neutralised)."""
    filters, _problems = audit.Filters.parse(request.args)
    names = dict(web_people.directory())
    engine = _engine()
    body = audit.csv_chunks(audit.iter_entries(engine, filters), names)
    return Response(
        stream_with_context(body),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=audit-log.csv"},
    )
