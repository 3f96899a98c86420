"""Command line, through Flask's CLI: ``flask --app app template|user|init ...``.

Every command exits 1 with its errors on stderr when something is wrong, and changes
nothing in that case.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

import click
import yaml
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from tessera.errors import TemplateError, TesseraError

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "templates_builtin"

template_cli = AppGroup(
    "template", help="Validate, install, upgrade, export and list app templates."
)
user_cli = AppGroup("user", help="Manage users.")
token_cli = AppGroup("token", help="Create, list and revoke API tokens.")
team_cli = AppGroup("team", help="Create and list teams.")


def _tessera():
    return current_app.extensions["tessera"]


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _load(path: str):
    from tessera.meta import load_app

    try:
        return load_app(path)
    except TemplateError as exc:
        _fail(str(exc))


def source_text(path: str | Path) -> str:
    """The template's own text: the file, or a folder's template.yaml."""
    p = Path(path)
    return (p / "template.yaml").read_text("utf-8") if p.is_dir() else p.read_text("utf-8")


@template_cli.command("validate")
@click.argument("path", type=click.Path(exists=True))
def validate_cmd(path: str) -> None:
    """Check a template file or folder; print every problem found."""
    started = time.perf_counter()
    app = _load(path)
    ms = (time.perf_counter() - started) * 1000
    click.echo(
        f"{path}: OK — app {app.id!r} {app.version}, "
        f"{len(app.record_types)} record types ({ms:.0f} ms)"
    )


@template_cli.command("install")
@click.argument("path", type=click.Path(exists=True))
def install_cmd(path: str) -> None:
    """Install a template: create its tables and record it as installed."""
    from tessera.storage import installer

    app = _load(path)
    t = _tessera()
    started = time.perf_counter()
    try:
        installer.install(t.engine, app, source_text(path))
    except TesseraError as exc:
        _fail(f"install refused: {exc}")
    t.registry.reload()
    ms = (time.perf_counter() - started) * 1000
    click.echo(
        f"installed {app.id} {app.version}: {len(app.record_types)} record types ({ms:.0f} ms)"
    )


@template_cli.command("upgrade")
@click.argument("args", nargs=-1, required=True, metavar="[APP] PATH")
@click.option("--dry-run", is_flag=True, help="Print the migration plan; change nothing.")
@click.option("--purge", is_flag=True, help="Really drop removed fields and record types.")
@click.option(
    "--take",
    type=click.Choice(["mine", "theirs"]),
    help="Decide every merge conflict: keep the local customisation or take the template's.",
)
@click.option(
    "--choose",
    multiple=True,
    metavar="PATH=mine|theirs",
    help="Decide one merge conflict (repeatable), e.g. record_types.deal.fields.amount.label=mine",
)
def upgrade_cmd(
    args: tuple[str, ...], dry_run: bool, purge: bool, take: str | None, choose: tuple[str, ...]
) -> None:
    """Upgrade an installed app to this template's version.

    When the installed app holds local customisations (builder edits), the upgrade is a
    three-way merge: changes from both sides apply, and conflicts are listed until
    decided with --take or --choose.
    """
    from tessera.merge import service
    from tessera.storage import installer

    if len(args) > 2:
        _fail("usage: flask template upgrade [APP] PATH")
    path = args[-1]
    if not Path(path).exists():
        _fail(f"{path}: no such file or folder")
    app = _load(path)
    if len(args) == 2 and args[0] != app.id:
        _fail(f"{path} is a template of app {app.id!r}, not {args[0]!r}")
    t = _tessera()
    try:
        if service.is_customised(t.engine, app.id):
            _merge_upgrade(t, app, dry_run, purge, take, _choices(choose))
            return
        plan = installer.upgrade(t.engine, app, source_text(path), dry_run=dry_run, purge=purge)
    except TesseraError as exc:
        _fail(f"upgrade refused: {exc}")
    _print_plan(plan)
    if dry_run:
        click.echo(f"dry run: {len(plan.steps)} step(s) planned, nothing changed")
        return
    t.registry.reload()
    click.echo(f"upgraded {app.id} to {app.version}: {len(plan.steps)} step(s) applied")


def _print_plan(plan) -> None:
    for step in plan.steps:
        mark = " [DATA LOSS]" if step.data_loss else ""
        click.echo(f"  - {step.description}{mark}")


def _choices(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        path, _, choice = pair.rpartition("=")
        if not path or choice not in ("mine", "theirs"):
            _fail(f"--choose {pair!r}: write PATH=mine or PATH=theirs")
        out[path] = choice
    return out


def _merge_upgrade(t, app, dry_run: bool, purge: bool, take, choices: dict[str, str]) -> None:
    """Three-way merge of the customised installed app with ``app``; print, then apply."""
    from tessera.merge import service

    if choices:  # a typo in a path must not apply anything
        result = service.merge(t.engine, app, choices=choices, default=take)[0]
        unknown = set(choices) - {c.path for c in result.conflicts}
        if unknown:
            _fail(f"--choose names no conflict: {', '.join(sorted(unknown))}")
    out = service.merge_upgrade(
        t.engine, app, choices=choices, default=take, dry_run=dry_run, purge=purge
    )
    click.echo(f"{app.id} has local customisations: three-way merge into {out.version}")
    for c in out.conflicts:
        chosen = f"  -> {c.choice}" if c.choice else ""
        note = f" ({c.note})" if c.note else ""
        click.echo(
            f"  conflict {c.path}{note}: mine {_short(c.mine)}, theirs {_short(c.theirs)}{chosen}"
        )
    if out.result.undecided:
        _fail(
            f"{len(out.result.undecided)} conflict(s) undecided: rerun with --take mine|theirs "
            "or --choose PATH=mine|theirs for each"
        )
    if out.problems:
        _fail("the merged template is not valid:\n" + "\n".join(str(p) for p in out.problems))
    if out.error:
        _fail(f"upgrade refused: {out.error}")
    _print_plan(out.plan)
    if dry_run:
        click.echo(f"dry run: {len(out.plan.steps)} step(s) planned, nothing changed")
        return
    t.registry.reload()
    click.echo(
        f"upgraded {app.id} to {out.version} (merged): {len(out.plan.steps)} step(s) applied"
    )


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


@template_cli.command("export")
@click.argument("app_id")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml")
def export_cmd(app_id: str, fmt: str) -> None:
    """Print an installed app's template (re-installable as is)."""
    from tessera.storage import installer

    try:
        data = installer.export(_tessera().engine, app_id)
    except TesseraError as exc:
        _fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), nl=False)


@template_cli.command("list")
def list_cmd() -> None:
    """List installed apps and their versions."""
    from tessera.storage import installer

    rows = installer.list_apps(_tessera().engine)
    if not rows:
        click.echo("no apps installed (try: flask --app app init)")
    for row in rows:
        click.echo(f"{row['id']}\t{row['version']}")


@user_cli.command("create")
@click.argument("username")
@click.option("--password", help="Password; a random one is generated and printed if omitted.")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--name", "display_name", help="Display name.")
@click.option("--email")
@click.option("--locale", default="en", show_default=True, help="en or zh-CN.")
@click.option("--timezone", help="IANA time zone, e.g. Asia/Shanghai.")
@click.option("--role", "roles", multiple=True, metavar="APP:ROLE", help="A role (repeatable).")
@click.option("--team", "team_names", multiple=True, metavar="TEAM", help="A team (repeatable).")
def user_create_cmd(
    username, password, admin, display_name, email, locale, timezone, roles, team_names
) -> None:
    """Create a user who can sign in (and own API tokens), with roles and teams."""
    from tessera.access import people

    t = _tessera()
    try:
        new = people.NewUser(
            username=username,
            password=password,
            display_name=display_name,
            email=email,
            locale=locale,
            timezone=timezone,
            is_admin=admin,
            roles=tuple(people.parse_role(r, t.registry.apps) for r in roles),
            teams=tuple(people.find_team(t.engine, n)["id"] for n in team_names),
        )
        _, password = people.create_user(t.engine, new)
    except TesseraError as exc:
        _fail(str(exc))
    extras = [f"role {r}" for r in new.roles] + [f"team {n}" for n in team_names]
    suffix = f" ({', '.join(extras)})" if extras else ""
    click.echo(f"created user {username}{' (admin)' if admin else ''}{suffix}")
    if not new.password:
        click.echo(f"password: {password}")


@user_cli.command("roles")
@click.argument("username")
@click.argument("roles", nargs=-1, metavar="[APP:ROLE]...")
@click.option("--clear", is_flag=True, help="Take every role away.")
def user_roles_cmd(username: str, roles: tuple[str, ...], clear: bool) -> None:
    """Set USERNAME's roles to exactly APP:ROLE ... (none given: print them)."""
    from tessera.access import people

    t = _tessera()
    try:
        user = people.find(t.engine, username)
        if not roles and not clear:
            held = people.roles_of(t.engine, user["id"])
            click.echo(" ".join(str(r) for r in held) or f"{username} holds no roles")
            return
        wanted = [people.parse_role(r, t.registry.apps) for r in roles]
        granted, revoked = people.set_roles(t.engine, user["id"], wanted)
    except TesseraError as exc:
        _fail(str(exc))
    for r in granted:
        click.echo(f"granted {r}")
    for r in revoked:
        click.echo(f"revoked {r}")
    if not granted and not revoked:
        click.echo(f"{username}: roles unchanged")


@user_cli.command("deactivate")
@click.argument("username")
def user_deactivate_cmd(username: str) -> None:
    """Deactivate USERNAME: their sessions and API tokens stop working at once."""
    _set_active(username, False)


@user_cli.command("activate")
@click.argument("username")
def user_activate_cmd(username: str) -> None:
    """Reactivate a deactivated user."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    from tessera.access import people

    t = _tessera()
    try:
        user = people.find(t.engine, username)
        changed = people.set_active(t.engine, user["id"], active, token_cache=t.token_cache)
    except TesseraError as exc:
        _fail(str(exc))
    state = "activated" if active else "deactivated"
    click.echo(f"{state} {username}" if changed else f"{username} was already {state}")


@user_cli.command("list")
def user_list_cmd() -> None:
    """List users: name, state, admin, roles, teams."""
    from tessera.access import people

    for u in people.list_users(_tessera().engine):
        state = "active" if u["active"] else "deactivated"
        admin = "admin" if u["is_admin"] else "-"
        roles = " ".join(str(r) for r in u["roles"]) or "-"
        click.echo(f"{u['username']}\t{state}\t{admin}\t{roles}\t{', '.join(u['teams']) or '-'}")


@team_cli.command("create")
@click.argument("name")
@click.option("--parent", help="The team this one belongs under.")
@click.option("--manager", help="Username of the team's manager.")
def team_create_cmd(name: str, parent: str | None, manager: str | None) -> None:
    """Create a team, optionally a sub-team of PARENT, with a manager."""
    from tessera.access import people

    engine = _tessera().engine
    try:
        parent_id = people.find_team(engine, parent)["id"] if parent else None
        manager_id = people.find(engine, manager)["id"] if manager else None
        people.create_team(engine, name, parent_id=parent_id, manager_id=manager_id)
    except TesseraError as exc:
        _fail(str(exc))
    click.echo(f"created team {name}")


@team_cli.command("list")
def team_list_cmd() -> None:
    """List teams as a tree: name, manager, members."""
    from tessera.access import people

    rows = people.list_teams(_tessera().engine)
    if not rows:
        click.echo("no teams (create one: flask --app app team create NAME)")
    for t in rows:
        indent = "  " * t["depth"]
        click.echo(f"{indent}{t['name']}\t{t['manager'] or '-'}\t{t['members']} member(s)")


@user_cli.command("ensure-admin")
def ensure_admin_cmd() -> None:
    """Create a local admin (printing a one-time password) unless an admin exists."""
    from tessera import users

    engine = _tessera().engine
    if users.has_admin(engine):
        click.echo(
            "sign in with your admin account (flask --app app user create NAME --admin adds one)"
        )
        return
    password = secrets.token_urlsafe(12)
    users.create_user(engine, "admin", password, is_admin=True, display_name="Administrator")
    click.echo(f"created admin user: sign in as 'admin' with password {password}  (shown once)")


@user_cli.command("unlock")
@click.argument("username")
def user_unlock_cmd(username: str) -> None:
    """Lift USERNAME's sign-in lockout (after too many wrong passwords)."""
    from tessera import signin

    had = signin.unlock(current_app, username)
    click.echo(f"unlocked {username}" if had else f"{username} had no failed sign-ins to clear")


@token_cli.command("create")
@click.argument("username")
@click.option("--name", help="What the token is for (shown by 'token list').")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["read", "write"]),
    help="Limit the token (repeatable); none: everything its user may do.",
)
@click.option("--expires-in", "days", type=int, help="Expire after DAYS days.")
def token_create_cmd(username: str, name: str | None, scopes, days) -> None:
    """Create an API token for USERNAME and print it (shown only this once)."""
    from tessera import tokens

    try:
        token_id, token = tokens.create_for_username(
            _tessera().engine, username, name, scopes=scopes, expires_at=tokens.expiry(days)
        )
    except TesseraError as exc:
        _fail(str(exc))
    click.echo(f"created token {token_id} for {username}; copy it now, it is not shown again:")
    click.echo(token)


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def token_revoke_cmd(token_id: int) -> None:
    """Revoke the API token with this id (see 'token list')."""
    from tessera import tokens

    try:
        tokens.revoke(_tessera().engine, token_id)
    except TesseraError as exc:
        _fail(str(exc))
    _tessera().token_cache.clear()
    click.echo(f"revoked token {token_id}")


@token_cli.command("list")
def token_list_cmd() -> None:
    """List API tokens: id, user, name, prefix, last use, state (never the token)."""
    from tessera import tokens

    rows = tokens.list_tokens(_tessera().engine)
    if not rows:
        click.echo("no API tokens (create one: flask --app app token create USERNAME)")
    for t in rows:
        state = "revoked" if t["revoked"] else "active"
        if t["expires_at"] and not t["revoked"]:
            state += f" until {t['expires_at'].isoformat(timespec='minutes')}"
        if t["scopes"]:
            state += f" [{t['scopes']}]"
        used = t["last_used_at"].isoformat(timespec="seconds") if t["last_used_at"] else "never"
        click.echo(
            f"{t['id']}\t{t['username']}\t{t['name'] or '-'}\t{t['prefix']}…\t{used}\t{state}"
        )


@click.command("init")
@with_appcontext
def init_cmd() -> None:
    """Create the database and install the built-in templates not yet installed.

    Gallery-only templates (``init: false`` in their gallery.yaml) are left to the
    builder's gallery and ``flask template install``.
    """
    from tessera import gallery
    from tessera.storage import installer

    t = _tessera()
    installed = {row["id"] for row in installer.list_apps(t.engine)}
    for folder in gallery.folders(BUILTIN_DIR):
        if not gallery.starts_on_init(folder):
            continue
        app = _load(str(folder))
        if app.id in installed:
            continue
        try:
            installer.install(t.engine, app, source_text(folder))
        except TesseraError as exc:
            _fail(f"installing built-in {folder.name} failed: {exc}")
        click.echo(f"installed built-in template {app.id} {app.version}")
    t.registry.reload()
    click.echo(f"database ready: {t.engine.url.render_as_string(hide_password=True)}")


@click.command("demo")
@click.argument("app_id", required=False)
@click.option("--force", is_flag=True, help="Add the sample records even if the app has records.")
@click.option(
    "--scale", type=click.FloatRange(0.01, 10), default=1.0, show_default=True,
    help="Generate this fraction (or multiple) of the generated sample records.",
)  # fmt: skip
@click.option(
    "--offer", is_flag=True,
    help="Only when the apps have no records yet: ask first (load without asking when not a "
    "terminal is not done; a hint is printed instead). For `make run`.",
)  # fmt: skip
@with_appcontext
def demo_cmd(app_id: str | None, force: bool, scale: float, offer: bool) -> None:
    """Load sample data (a built-in template's demo.yaml) into installed apps."""
    if offer and not _offer_demo():
        return
    from tessera.access.demo import demo_people
    from tessera.demo import DemoError, demo_size, load_demo

    t = _tessera()
    done = False
    for folder in sorted(p for p in BUILTIN_DIR.iterdir() if (p / "demo.yaml").exists()):
        app = _load(str(folder))
        if (app_id and app.id != app_id) or app.id not in t.registry.apps:
            continue
        # the people first: generated records are dealt to them (owners, assignees)
        people = demo_people(t, t.registry.app(app.id))
        started = time.perf_counter()
        try:
            with click.progressbar(
                length=demo_size(folder / "demo.yaml", scale),
                label=f"loading demo data into {app.id}",
                file=sys.stderr,
            ) as bar:  # fmt: skip
                counts = load_demo(
                    t, app.id, folder / "demo.yaml", force=force, scale=scale,
                    progress=lambda _rt, n: bar.update(n),
                )  # fmt: skip
        except DemoError as exc:
            _fail(f"demo data not loaded: {exc}")
        done = True
        summary = ", ".join(f"{n} {key}" for key, n in counts.items())
        seconds = time.perf_counter() - started
        click.echo(f"loaded demo data into {app.id} in {seconds:.1f} s: {summary}")
        for name, role, password in people:
            click.echo(f"  demo user {name} ({role} in {app.id}), password: {password}")
    if not done:
        _fail(f"no demo data for {app_id or 'the installed apps'} (run: flask --app app init)")


def _offer_demo() -> bool:
    """``demo --offer``: True when the user wants sample data in an empty database."""
    from tessera.demo import has_records

    t = _tessera()
    if any(has_records(t, app) for app in t.registry.apps.values()):
        return False
    if not sys.stdin.isatty():
        click.echo("the database is empty; load sample data with: flask --app app demo")
        return False
    return click.confirm("The database is empty. Load the demo data (a year of a sample CRM)?",
                         default=True)  # fmt: skip


def register(app: Flask) -> None:
    """Attach the command groups to the Flask app."""
    app.cli.add_command(template_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(token_cli)
    app.cli.add_command(team_cli)
    app.cli.add_command(init_cmd)
    app.cli.add_command(demo_cmd)
    from tessera.automation import cli as automation_cli

    automation_cli.register(app)
    from tessera.dataio import cli as dataio_cli

    dataio_cli.register(app)
