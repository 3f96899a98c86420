"""Who is asking: a user's admin flag, roles per app and teams, read once per request.

A :class:`Principal` is what the access rules are evaluated for. It is loaded with a
handful of indexed reads (the user row, their role assignments, the team tree) so
the SQL condition of every list can name plain ids instead of joining role tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import sqlalchemy as sa

from tessera.access.tables import team_members, teams, user_roles
from tessera.storage.system import users


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the access rules see them.

    ``team_ids`` are the teams whose records team scopes reach: teams the user belongs
    to or manages, and all their sub-teams. ``team_user_ids`` are those teams' members
    (the user included), for checking one record in Python.
    """

    user_id: int
    is_admin: bool = False
    roles: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    team_ids: frozenset[int] = frozenset()
    team_user_ids: frozenset[int] = frozenset()

    def roles_in(self, app_id: str) -> frozenset[str]:
        """Role keys the user holds in ``app_id``."""
        return self.roles.get(app_id, frozenset())


def load_principal(conn: sa.Connection, user_id: int) -> Principal:
    """The principal of ``user_id`` (an unknown or deactivated user holds nothing)."""
    user = conn.execute(
        sa.select(users.c.is_admin, users.c.active).where(users.c.id == user_id)
    ).first()
    if user is None or not user.active:
        return Principal(user_id)
    roles: dict[str, set[str]] = {}
    query = sa.select(user_roles.c.app_id, user_roles.c.role).where(user_roles.c.user_id == user_id)
    for app_id, role in conn.execute(query):
        roles.setdefault(app_id, set()).add(role)
    team_ids = _reachable_teams(conn, user_id)
    members = {user_id}
    if team_ids:
        query = sa.select(team_members.c.user_id).where(team_members.c.team_id.in_(team_ids))
        members.update(conn.scalars(query))
    return Principal(
        user_id=user_id,
        is_admin=bool(user.is_admin),
        roles=MappingProxyType({k: frozenset(v) for k, v in roles.items()}),
        team_ids=frozenset(team_ids),
        team_user_ids=frozenset(members),
    )


def _reachable_teams(conn: sa.Connection, user_id: int) -> set[int]:
    """Teams the user is in or manages, and every team below them."""
    direct = set(
        conn.scalars(sa.select(team_members.c.team_id).where(team_members.c.user_id == user_id))
    )
    tree = conn.execute(sa.select(teams.c.id, teams.c.parent_id, teams.c.manager_id)).all()
    direct |= {t.id for t in tree if t.manager_id == user_id}
    children: dict[int, list[int]] = {}
    for t in tree:
        if t.parent_id is not None:
            children.setdefault(t.parent_id, []).append(t.id)
    found, todo = set(), list(direct)
    while todo:  # the team tree is small (tens of teams): walk it in Python
        team = todo.pop()
        if team not in found:
            found.add(team)
            todo.extend(children.get(team, ()))
    return found
