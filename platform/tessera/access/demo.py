"""Demo people: one user per role an app declares, a team, and pool records dealt out.

``flask --app app demo`` calls :func:`demo_people` after loading the sample records, so
the permissions can be tried in a browser: sign in as ``demo_sales_rep`` and see only
their customers (and the pool), as ``demo_sales_manager`` and see the team's.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from tessera import users
from tessera.access.principal import bump_access_version
from tessera.access.tables import team_members, teams, user_roles
from tessera.meta.model import App
from tessera.records.actor import Actor
from tessera.storage.system import users as users_table

ACTOR = Actor(kind="import", ref="demo")


def demo_people(t, app: App) -> list[tuple[str, str, str]]:
    """Create the demo users of ``app``'s roles (two of any role with a pool); who was made.

    Returns (username, role, password) for each user created now; existing demo users
    are left alone, so running it twice creates nobody and prints nothing new.
    """
    made, ids = [], {}
    for role in app.roles:
        extra = [f"demo_{role.key}2"] if _has_pool(role) else []
        for name in [f"demo_{role.key}", *extra]:
            user_id, password = _ensure_user(t.engine, name)
            ids.setdefault(role.key, []).append(user_id)
            if password:
                _grant(t.engine, user_id, app.id, role.key)
                made.append((name, role.key, password))
    if made:
        _team(t.engine, ids)
        _deal(t, app, ids)
    return made


def _has_pool(role) -> bool:
    return any(p.pool is not None for p in role.permissions)


def _ensure_user(engine, name: str) -> tuple[int, str | None]:
    with engine.connect() as conn:
        found = conn.scalar(sa.select(users_table.c.id).where(users_table.c.username == name))
    if found is not None:
        return found, None
    password = secrets.token_urlsafe(9)
    return users.create_user(engine, name, password), password


def _grant(engine, user_id: int, app_id: str, role: str) -> None:
    with engine.begin() as conn:
        conn.execute(user_roles.insert().values(user_id=user_id, app_id=app_id, role=role))
        bump_access_version(conn)


def _team(engine, ids: dict[str, list[int]]) -> None:
    """A demo team managed by the first role whose key says manager, with every pool holder."""
    managers = [v[0] for k, v in ids.items() if "manager" in k]
    members = [u for k, v in ids.items() if "manager" not in k for u in v if len(v) > 1]
    with engine.begin() as conn:
        if conn.scalar(sa.select(teams.c.id).where(teams.c.name == "Demo team")) is not None:
            return
        bump_access_version(conn)
        conn.execute(teams.insert().values(name="Demo team", manager_id=(managers or [None])[0]))
        team_id = conn.scalar(sa.select(teams.c.id).where(teams.c.name == "Demo team"))
        for user_id in members:
            conn.execute(team_members.insert().values(team_id=team_id, user_id=user_id))


def _deal(t, app: App, ids: dict[str, list[int]]) -> None:
    """Give unowned records of pool types to the pool holders in turn; every third stays."""
    for role in app.roles:
        for perm in role.permissions:
            if perm.pool is None or not app.has_record_type(perm.record_type):
                continue
            owner = perm.owner or "owner"
            holders = ids.get(role.key, [])
            flt = {"field": owner, "op": "is_empty"}
            rows = t.queries.list(app.id, perm.record_type, filter=flt, limit=500).rows
            for i, row in enumerate(rows):
                if i % 3 != 2 and holders:
                    values = {owner: holders[i % len(holders)]}
                    t.records.update(app.id, perm.record_type, row["id"], values, ACTOR)
