"""Who is asking: a user's admin flag, roles per app and teams, read once per request.

A :class:`Principal` is what the access rules are evaluated for. It is loaded with a
handful of indexed reads (the user row, their role assignments, the team tree) so
the SQL condition of every list can name plain ids instead of joining role tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import sqlalchemy as sa

from tessera.access.tables import record_shares, team_members, teams, user_roles
from tessera.storage.system import users


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the access rules see them.

    ``team_ids`` are the teams whose records team scopes reach: teams the user belongs
    to or manages, and all their sub-teams. ``team_user_ids`` are those teams' members
    (the user included), for checking one record in Python; only writers need them, so
    :func:`load_principal` leaves just the user there (see :func:`with_team_members`).
    """

    user_id: int
    is_admin: bool = False
    roles: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    team_ids: frozenset[int] = frozenset()
    team_user_ids: frozenset[int] = frozenset()
    #: (app id, record type) pairs with a record shared with the user or their teams:
    #: only those lists carry the share condition (which would spoil an index-ordered scan)
    shared: frozenset[tuple[str, str]] = frozenset()

    def roles_in(self, app_id: str) -> frozenset[str]:
        """Role keys the user holds in ``app_id``."""
        return self.roles.get(app_id, frozenset())


def load_principal(conn: sa.Connection, user_id: int) -> Principal:
    """The principal of ``user_id`` (an unknown or deactivated user holds nothing).

    Three small indexed reads: the user with their roles, the team tree with the user's
    memberships, the record types shared with them. Team members (for checking one
    record in Python) are read only by writers, see :func:`with_team_members`.
    """
    query = (
        sa.select(users.c.is_admin, users.c.active, user_roles.c.app_id, user_roles.c.role)
        .select_from(users.outerjoin(user_roles, user_roles.c.user_id == users.c.id))
        .where(users.c.id == user_id)
    )
    rows = conn.execute(query).all()
    if not rows or not rows[0].active:
        return Principal(user_id)
    if rows[0].is_admin:  # every rule yields to an admin: nothing more to read
        return Principal(user_id, is_admin=True)
    roles: dict[str, set[str]] = {}
    for row in rows:
        if row.app_id is not None:
            roles.setdefault(row.app_id, set()).add(row.role)
    team_ids = _reachable_teams(conn, user_id)
    return Principal(
        user_id=user_id,
        roles=MappingProxyType({k: frozenset(v) for k, v in roles.items()}),
        team_ids=frozenset(team_ids),
        team_user_ids=frozenset({user_id}),
        shared=_shared_types(conn, user_id, team_ids),
    )


def with_team_members(conn: sa.Connection, who: Principal) -> Principal:
    """``who`` with ``team_user_ids`` filled in (the members of their reachable teams)."""
    if not who.team_ids:
        return who
    query = sa.select(team_members.c.user_id).where(team_members.c.team_id.in_(who.team_ids))
    return replace(who, team_user_ids=frozenset({who.user_id, *conn.scalars(query)}))


def _shared_types(conn: sa.Connection, user_id: int, team_ids: set[int]) -> frozenset:
    """Which record types have a record shared with the user or one of their teams."""
    s = record_shares.c
    whom = s.user_id == user_id
    if team_ids:
        whom = sa.or_(whom, s.team_id.in_(sorted(team_ids)))
    query = sa.select(s.app_id, s.record_type).where(whom).distinct()
    return frozenset((a, r) for a, r in conn.execute(query))


def _reachable_teams(conn: sa.Connection, user_id: int) -> set[int]:
    """Teams the user is in or manages, and every team below them."""
    mine = (
        sa.select(team_members.c.team_id)
        .where(team_members.c.team_id == teams.c.id, team_members.c.user_id == user_id)
        .exists()
    )
    tree = conn.execute(sa.select(teams.c.id, teams.c.parent_id, teams.c.manager_id, mine)).all()
    direct = {t.id for t in tree if t.manager_id == user_id or t[3]}
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
