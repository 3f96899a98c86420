"""People: users, teams and per-app role assignments, as the admin pages and the CLI
change them. Every change is checked first (nothing is written when anything is
wrong) and written with its security-log entry in one transaction.

Roles are the ones an installed app declares (``App.roles``, each with a ``key`` and a
``label``). ``admin`` is not a role of an app: it is the user's administrator flag
(``users.is_admin``: everything, in every app). An app that declares no roles accepts any role key
that looks like an identifier, so assignments can be prepared before its template
declares them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from tessera import users as user_store
from tessera.access import audit
from tessera.access.principal import bump_access_version
from tessera.access.tables import team_members, teams, user_roles
from tessera.storage.system import users
from tessera.users import UserError

BUILTIN_ROLES = ("admin",)
ROLE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
TEAM_NAME_MAX = 150


class PeopleError(UserError):
    """A change to users, teams or roles was refused; nothing was written."""


@dataclass(frozen=True)
class RoleRef:
    """One role of one app: ``crm:sales_rep``."""

    app_id: str
    role: str

    def __str__(self) -> str:
        return f"{self.app_id}:{self.role}"


# -- roles --------------------------------------------------------------------------------
def declared_roles(app: Any) -> tuple:
    """The roles an app declares (empty before the app, or the engine, declares any)."""
    return tuple(getattr(app, "roles", None) or ())


def role_keys(app: Any) -> list[str]:
    """The role keys the app declares."""
    return [r.key for r in declared_roles(app) if r.key not in BUILTIN_ROLES]


def parse_role(text: str, apps: Mapping[str, Any]) -> RoleRef:
    """``APP:ROLE`` checked against the installed app's declared roles."""
    app_id, sep, role = (text or "").partition(":")
    if not sep or not app_id or not role:
        raise PeopleError(
            f"role {text!r}: write it as APP:ROLE, e.g. crm:sales_rep", "role_syntax", role=text
        )
    return check_role(app_id.strip(), role.strip(), apps)


def check_role(app_id: str, role: str, apps: Mapping[str, Any]) -> RoleRef:
    """A valid :class:`RoleRef`, or PeopleError naming the app and its roles."""
    app = apps.get(app_id)
    if app is None:
        installed = ", ".join(sorted(apps)) or "none"
        raise PeopleError(
            f"role {app_id}:{role}: no app {app_id!r} is installed ({installed})",
            "app_unknown",
            app=app_id,
        )
    if role in BUILTIN_ROLES:
        raise PeopleError(
            f"role {app_id}:{role}: admin is built in, not a role of an app; "
            "make the user an administrator instead (--admin)",
            "role_admin",
        )
    keys = role_keys(app)
    if declared_roles(app) and role not in keys:
        raise PeopleError(
            f"role {app_id}:{role}: app {app_id!r} declares no role {role!r}; "
            f"its roles are {', '.join(keys)}",
            "role_unknown",
            app=app_id,
            role=role,
            roles=", ".join(keys),
        )
    if not ROLE_KEY.match(role):
        raise PeopleError(
            f"role {app_id}:{role}: a role key is lower-case letters, digits, _",
            "role_key",
            role=role,
        )
    return RoleRef(app_id, role)


def roles_of(conn_or_engine: sa.Engine | sa.Connection, user_id: int) -> list[RoleRef]:
    """The roles ``user_id`` holds, by app then role."""
    query = (
        sa.select(user_roles.c.app_id, user_roles.c.role)
        .where(user_roles.c.user_id == user_id)
        .order_by(user_roles.c.app_id, user_roles.c.role)
    )
    return [RoleRef(r.app_id, r.role) for r in _rows(conn_or_engine, query)]


def set_roles(
    engine: sa.Engine,
    user_id: int,
    roles: Iterable[RoleRef],
    *,
    by: int | None = None,
    only_apps: Iterable[str] | None = None,
) -> tuple[list[RoleRef], list[RoleRef]]:
    """Make ``roles`` the user's roles (in ``only_apps``, or in every app); (granted, revoked)."""
    with engine.begin() as conn:
        return set_roles_in(conn, user_id, roles, by=by, only_apps=only_apps)


def set_roles_in(
    conn: sa.Connection,
    user_id: int,
    roles: Iterable[RoleRef],
    *,
    by: int | None = None,
    only_apps: Iterable[str] | None = None,
) -> tuple[list[RoleRef], list[RoleRef]]:
    """:func:`set_roles` in the caller's transaction."""
    username = _username(conn, user_id)
    scope = set(only_apps) if only_apps is not None else None
    wanted = set(roles)
    held = {r for r in roles_of(conn, user_id) if scope is None or r.app_id in scope}
    granted = sorted(wanted - held, key=str)
    revoked = sorted(held - wanted, key=str)
    if granted or revoked:
        bump_access_version(conn)  # cached principals of every process go stale
    for r in revoked:
        conn.execute(
            user_roles.delete().where(
                user_roles.c.user_id == user_id,
                user_roles.c.app_id == r.app_id,
                user_roles.c.role == r.role,
            )
        )
        audit.log(
            conn, "role_revoke", by=by, subject=username, app_id=r.app_id, detail={"role": r.role}
        )
    for r in granted:
        conn.execute(user_roles.insert().values(user_id=user_id, app_id=r.app_id, role=r.role))
        audit.log(
            conn, "role_grant", by=by, subject=username, app_id=r.app_id, detail={"role": r.role}
        )
    return granted, revoked


# -- users --------------------------------------------------------------------------------
@dataclass
class NewUser:
    """What an admin fills in to create a user (password None: one is generated)."""

    username: str
    password: str | None = None
    display_name: str | None = None
    email: str | None = None
    locale: str = "en"
    timezone: str | None = None
    is_admin: bool = False
    roles: tuple[RoleRef, ...] = ()
    teams: tuple[int, ...] = ()


def generate_password() -> str:
    """A random password to hand over once."""
    return secrets.token_urlsafe(12)


def create_user(engine: sa.Engine, new: NewUser, *, by: int | None = None) -> tuple[int, str]:
    """Create a user with their roles and teams; (id, password — show it once)."""
    password = new.password or generate_password()
    try:
        return _create_user(engine, new, password, by), password
    except sa.exc.IntegrityError:  # the same name created at the same moment elsewhere
        raise PeopleError(
            f"username {new.username!r} is taken", "username_taken", name=new.username
        ) from None


def _create_user(engine: sa.Engine, new: NewUser, password: str, by: int | None) -> int:
    with engine.begin() as conn:
        for team_id in new.teams:
            _team(conn, team_id)
        user_id = user_store.insert_user(
            conn,
            new.username,
            password,
            is_admin=new.is_admin,
            display_name=(new.display_name or "").strip() or None,
            email=(new.email or "").strip() or None,
            locale=new.locale,
            timezone=new.timezone,
        )
        detail = {"admin": new.is_admin, "generated_password": not new.password}
        audit.log(conn, "user_create", by=by, subject=new.username, detail=detail)
        set_roles_in(conn, user_id, new.roles, by=by)
        _set_teams(conn, user_id, new.teams, by=by)
    return user_id


def find(engine: sa.Engine, username: str) -> dict[str, Any]:
    """The user called ``username`` (any state), or PeopleError."""
    query = sa.select(*user_store.PUBLIC_COLUMNS, users.c.active).where(
        users.c.username == username
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise PeopleError(
            f"no user {username!r} (see: flask --app app user list)", "no_user", name=username
        )
    return dict(row)


def get(engine: sa.Engine, user_id: int) -> dict[str, Any]:
    """User ``user_id`` (any state) with roles and team ids, or PeopleError."""
    query = sa.select(*user_store.PUBLIC_COLUMNS, users.c.active, users.c.created_at).where(
        users.c.id == user_id
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
        if row is None:
            raise PeopleError(f"no user with id {user_id}", "no_user", name=user_id)
        team_ids = [
            r.team_id
            for r in conn.execute(
                sa.select(team_members.c.team_id).where(team_members.c.user_id == user_id)
            )
        ]
        return {**row, "roles": roles_of(conn, user_id), "team_ids": team_ids}


def list_users(engine: sa.Engine) -> list[dict[str, Any]]:
    """Every user with their roles and team names, by username."""
    query = sa.select(*user_store.PUBLIC_COLUMNS, users.c.active).order_by(users.c.username)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        roles: dict[int, list[RoleRef]] = {}
        for r in conn.execute(sa.select(user_roles).order_by(user_roles.c.app_id)):
            roles.setdefault(r.user_id, []).append(RoleRef(r.app_id, r.role))
        names: dict[int, list[str]] = {}
        member_query = sa.select(team_members.c.user_id, teams.c.name).join(teams)
        for r in conn.execute(member_query.order_by(teams.c.name)):
            names.setdefault(r.user_id, []).append(r.name)
    for row in rows:
        row["roles"] = roles.get(row["id"], [])
        row["teams"] = names.get(row["id"], [])
    return rows


def update_profile(
    engine: sa.Engine,
    user_id: int,
    *,
    by: int | None = None,
    display_name: str | None = None,
    email: str | None = None,
    locale: str | None = None,
    timezone: str | None = None,
    is_admin: bool | None = None,
) -> dict[str, list]:
    """Change a user's display name, email, locale, time zone or admin flag; the changes."""
    profile = {
        "display_name": display_name,
        "email": email,
        "locale": locale,
        "timezone": timezone,
        "is_admin": is_admin,
    }
    with engine.begin() as conn:
        return _update_profile(conn, user_id, by=by, **profile)


def update_user(
    engine: sa.Engine,
    user_id: int,
    *,
    by: int | None = None,
    profile: dict[str, Any],
    team_ids: Iterable[int],
    roles: Iterable[RoleRef],
    role_apps: Iterable[str],
) -> None:
    """Profile, teams and roles (in ``role_apps``) of a user in one transaction."""
    with engine.begin() as conn:
        _update_profile(conn, user_id, by=by, **profile)
        _set_teams(conn, user_id, team_ids, by=by)
        set_roles_in(conn, user_id, roles, by=by, only_apps=role_apps)


def _update_profile(
    conn: sa.Connection,
    user_id: int,
    *,
    by: int | None,
    display_name: str | None = None,
    email: str | None = None,
    locale: str | None = None,
    timezone: str | None = None,
    is_admin: bool | None = None,
) -> dict[str, list]:
    values: dict[str, Any] = {}
    if display_name is not None:
        values["display_name"] = display_name.strip() or None
    if email is not None:
        values["email"] = email.strip() or None
    if locale is not None:
        values["locale"] = user_store.check_locale(locale)
    if timezone is not None:
        values["timezone"] = user_store.check_timezone(timezone.strip())
    if is_admin is not None:
        values["is_admin"] = bool(is_admin)
    old = _user_row(conn, user_id)
    if values.get("is_admin") is False and old["is_admin"]:
        if by == user_id:
            raise PeopleError("you cannot take away your own administrator rights", "self_unadmin")
        _keep_an_admin(conn, user_id)
    changes = {k: [old[k], v] for k, v in values.items() if old[k] != v}
    if not changes:
        return {}
    if "is_admin" in changes:
        values["role"] = "admin" if values["is_admin"] else "user"
    conn.execute(users.update().where(users.c.id == user_id).values(values))
    audit.log(conn, "user_update", by=by, subject=old["username"], detail=changes)
    bump_access_version(conn)
    return changes


def set_active(
    engine: sa.Engine, user_id: int, active: bool, *, by: int | None = None, token_cache=None
) -> bool:
    """Deactivate (sessions and API tokens stop at once) or reactivate; False if unchanged."""
    with engine.begin() as conn:
        row = _user_row(conn, user_id)
        if row["active"] == active:
            return False
        if not active and by == user_id:
            raise PeopleError(
                "you cannot deactivate yourself; ask another administrator", "self_deactivate"
            )
        if not active and row["is_admin"]:
            _keep_an_admin(conn, user_id)
        conn.execute(users.update().where(users.c.id == user_id).values(active=active))
        if not active:
            user_store.bump_session_gen(conn, user_id)
        action = "user_activate" if active else "user_deactivate"
        audit.log(conn, action, by=by, subject=row["username"])
        bump_access_version(conn)
    if token_cache is not None:
        token_cache.clear()  # no cached token of theirs is served after this
    return True


def reset_password(
    engine: sa.Engine, user_id: int, *, by: int | None = None, password: str | None = None
) -> str:
    """Set (or generate) a new password and end the user's sessions; the new password."""
    password = password or generate_password()
    user_store.check_password(password)
    with engine.begin() as conn:
        row = _user_row(conn, user_id)
        conn.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(password_hash=generate_password_hash(password))
        )
        user_store.bump_session_gen(conn, user_id)
        audit.log(conn, "password_reset", by=by, subject=row["username"])
    return password


def change_own_password(engine: sa.Engine, user_id: int, current: str, new: str) -> None:
    """Change one's own password after checking the current one."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(users.c.username, users.c.password_hash).where(users.c.id == user_id)
        ).first()
        if row is None or not check_password_hash(row.password_hash or "", current or ""):
            raise PeopleError("current password: it is not right", "current_password")
        user_store.check_password(new)
        conn.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(password_hash=generate_password_hash(new))
        )
        audit.log(conn, "password_change", by=user_id, subject=row.username)


def _user_row(conn: sa.Connection, user_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
    if row is None:
        raise PeopleError(f"no user with id {user_id}", "no_user", name=user_id)
    return dict(row)


def _username(conn: sa.Connection, user_id: int) -> str:
    return _user_row(conn, user_id)["username"]


def _keep_an_admin(conn: sa.Connection, user_id: int) -> None:
    others = conn.execute(
        sa.select(sa.func.count())
        .select_from(users)
        .where(users.c.is_admin.is_(True), users.c.active.is_(True), users.c.id != user_id)
    ).scalar_one()
    if not others:
        raise PeopleError(
            "this is the last active administrator; make someone else admin first", "last_admin"
        )


# -- teams --------------------------------------------------------------------------------
def list_teams(engine: sa.Engine) -> list[dict[str, Any]]:
    """Every team with its parent's and manager's names, member count and depth, as a tree."""
    members = (
        sa.select(team_members.c.team_id, sa.func.count().label("n"))
        .group_by(team_members.c.team_id)
        .subquery()
    )
    query = (
        sa.select(
            teams.c.id,
            teams.c.name,
            teams.c.parent_id,
            teams.c.manager_id,
            users.c.username.label("manager"),
            users.c.display_name.label("manager_name"),
            sa.func.coalesce(members.c.n, 0).label("members"),
        )
        .outerjoin(users, users.c.id == teams.c.manager_id)
        .outerjoin(members, members.c.team_id == teams.c.id)
        .order_by(teams.c.name)
    )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return _as_tree(rows)


def _as_tree(rows: list[dict]) -> list[dict]:
    children: dict[int | None, list[dict]] = {}
    ids = {r["id"] for r in rows}
    for r in rows:
        children.setdefault(r["parent_id"] if r["parent_id"] in ids else None, []).append(r)
    out: list[dict] = []

    def walk(parent: int | None, depth: int) -> None:
        for r in children.get(parent, []):
            out.append({**r, "depth": depth})
            walk(r["id"], depth + 1)

    walk(None, 0)
    return out


def team(engine: sa.Engine, team_id: int) -> dict[str, Any]:
    """A team with its member ids, or PeopleError."""
    with engine.connect() as conn:
        row = _team(conn, team_id)
        member_ids = [
            r.user_id
            for r in conn.execute(
                sa.select(team_members.c.user_id).where(team_members.c.team_id == team_id)
            )
        ]
    return {**row, "member_ids": member_ids}


def find_team(engine: sa.Engine, name: str) -> dict[str, Any]:
    """The team called ``name``, or PeopleError."""
    with engine.connect() as conn:
        return _team_by_name(conn, name)


def create_team(
    engine: sa.Engine,
    name: str,
    *,
    parent_id: int | None = None,
    manager_id: int | None = None,
    by: int | None = None,
) -> int:
    """Create a team (optionally under a parent, with a manager); its id."""
    name = _team_name(name)
    try:
        return _insert_team(engine, name, parent_id, manager_id, by)
    except sa.exc.IntegrityError:  # the same name created at the same moment elsewhere
        raise PeopleError(f"team name {name!r} is taken", "team_taken", name=name) from None


def _insert_team(engine, name: str, parent_id, manager_id, by) -> int:
    with engine.begin() as conn:
        _unique_team(conn, name)
        parent = _team(conn, parent_id)["name"] if parent_id else None
        manager = _username(conn, manager_id) if manager_id else None
        team_id = conn.execute(
            teams.insert().values(name=name, parent_id=parent_id, manager_id=manager_id)
        ).inserted_primary_key[0]
        detail = {"parent": parent, "manager": manager}
        audit.log(conn, "team_create", by=by, subject=name, detail=detail)
        bump_access_version(conn)
    return team_id


def update_team(
    engine: sa.Engine,
    team_id: int,
    *,
    name: str,
    parent_id: int | None,
    manager_id: int | None,
    member_ids: Iterable[int] | None = None,
    by: int | None = None,
) -> dict[str, list]:
    """Rename a team, move it under another (no cycles), change its manager and (when
    given) its members, all or nothing; the changes to the team itself."""
    name = _team_name(name)
    try:
        with engine.begin() as conn:
            changes = _update_team(conn, team_id, name, parent_id, manager_id, by)
            if member_ids is not None:
                _set_members(conn, team_id, member_ids, by)
    except sa.exc.IntegrityError:  # renamed to a name taken at the same moment elsewhere
        raise PeopleError(f"team name {name!r} is taken", "team_taken", name=name) from None
    return changes


def _update_team(conn, team_id: int, name: str, parent_id, manager_id, by) -> dict[str, list]:
    old = _team(conn, team_id)
    if name != old["name"]:
        _unique_team(conn, name)
    if parent_id:
        _no_cycle(conn, team_id, parent_id)
    if manager_id:
        _username(conn, manager_id)
    values = {"name": name, "parent_id": parent_id or None, "manager_id": manager_id or None}
    changes = {k: [old[k], v] for k, v in values.items() if old[k] != v}
    if changes:
        conn.execute(teams.update().where(teams.c.id == team_id).values(values))
        audit.log(conn, "team_update", by=by, subject=old["name"], detail=changes)
        bump_access_version(conn)
    return changes


def delete_team(engine: sa.Engine, team_id: int, *, by: int | None = None) -> None:
    """Delete a team: its members leave it, its sub-teams move up to its parent."""
    with engine.begin() as conn:
        row = _team(conn, team_id)
        conn.execute(
            teams.update().where(teams.c.parent_id == team_id).values(parent_id=row["parent_id"])
        )
        conn.execute(team_members.delete().where(team_members.c.team_id == team_id))
        conn.execute(teams.delete().where(teams.c.id == team_id))
        audit.log(conn, "team_delete", by=by, subject=row["name"])
        bump_access_version(conn)


def set_members(
    engine: sa.Engine, team_id: int, user_ids: Iterable[int], *, by: int | None = None
) -> None:
    """Make ``user_ids`` the members of a team."""
    with engine.begin() as conn:
        _set_members(conn, team_id, user_ids, by)


def _set_members(conn: sa.Connection, team_id: int, user_ids: Iterable[int], by) -> None:
    wanted = set(user_ids)
    row = _team(conn, team_id)
    query = sa.select(team_members.c.user_id).where(team_members.c.team_id == team_id)
    held = {r.user_id for r in conn.execute(query)}
    for user_id in sorted(wanted - held):
        name = _username(conn, user_id)
        conn.execute(team_members.insert().values(team_id=team_id, user_id=user_id))
        audit.log(conn, "team_join", by=by, subject=name, detail={"team": row["name"]})
        bump_access_version(conn)
    for user_id in sorted(held - wanted):
        _leave(conn, team_id, user_id, row["name"], by)


def set_teams(
    engine: sa.Engine, user_id: int, team_ids: Iterable[int], *, by: int | None = None
) -> None:
    """Make ``team_ids`` the teams a user belongs to."""
    with engine.begin() as conn:
        _set_teams(conn, user_id, team_ids, by=by)


def add_to_team(engine: sa.Engine, user_id: int, team_id: int, *, by: int | None = None) -> None:
    """Add a user to one more team (nothing if they are in it already)."""
    with engine.begin() as conn:
        held = _team_ids(conn, user_id)
        _set_teams(conn, user_id, held | {team_id}, by=by)


def _set_teams(
    conn: sa.Connection, user_id: int, team_ids: Iterable[int], *, by: int | None
) -> None:
    wanted = set(team_ids)
    username = _username(conn, user_id)
    held = _team_ids(conn, user_id)
    for team_id in sorted(wanted - held):
        name = _team(conn, team_id)["name"]
        conn.execute(team_members.insert().values(team_id=team_id, user_id=user_id))
        audit.log(conn, "team_join", by=by, subject=username, detail={"team": name})
        bump_access_version(conn)
    for team_id in sorted(held - wanted):
        _leave(conn, team_id, user_id, _team(conn, team_id)["name"], by)


def _team_ids(conn: sa.Connection, user_id: int) -> set[int]:
    query = sa.select(team_members.c.team_id).where(team_members.c.user_id == user_id)
    return {r.team_id for r in conn.execute(query)}


def _leave(conn: sa.Connection, team_id: int, user_id: int, team_name: str, by) -> None:
    conn.execute(
        team_members.delete().where(
            team_members.c.team_id == team_id, team_members.c.user_id == user_id
        )
    )
    username = _username(conn, user_id)
    audit.log(conn, "team_leave", by=by, subject=username, detail={"team": team_name})
    bump_access_version(conn)


def _team(conn: sa.Connection, team_id: int | None) -> dict[str, Any]:
    row = conn.execute(sa.select(teams).where(teams.c.id == team_id)).mappings().first()
    if row is None:
        raise PeopleError(f"no team with id {team_id}", "no_team", name=team_id)
    return dict(row)


def _team_by_name(conn: sa.Connection, name: str) -> dict[str, Any]:
    row = conn.execute(sa.select(teams).where(teams.c.name == name)).mappings().first()
    if row is None:
        raise PeopleError(
            f"no team {name!r} (create it: flask --app app team create {name!r})",
            "no_team",
            name=name,
        )
    return dict(row)


def _team_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > TEAM_NAME_MAX:
        raise PeopleError(f"team name: 1-{TEAM_NAME_MAX} characters", "team_name")
    return name


def _unique_team(conn: sa.Connection, name: str) -> None:
    if conn.execute(sa.select(teams.c.id).where(teams.c.name == name)).first():
        raise PeopleError(f"team name {name!r} is taken", "team_taken", name=name)


def _no_cycle(conn: sa.Connection, team_id: int, parent_id: int) -> None:
    """Refuse a parent that is the team itself or one of its sub-teams."""
    parents = dict(conn.execute(sa.select(teams.c.id, teams.c.parent_id)).all())
    if parent_id not in parents:
        raise PeopleError(f"no team with id {parent_id}", "no_team", name=parent_id)
    seen, current = set(), parent_id
    while current is not None and current not in seen:
        if current == team_id:
            raise PeopleError(
                "a team cannot be placed under itself or one of its sub-teams", "team_cycle"
            )
        seen.add(current)
        current = parents.get(current)


def _rows(conn_or_engine: sa.Engine | sa.Connection, query: sa.Select) -> list:
    if isinstance(conn_or_engine, sa.Engine):
        with conn_or_engine.connect() as conn:
            return conn.execute(query).all()
    return conn_or_engine.execute(query).all()
