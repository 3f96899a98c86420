"""Who is asking: a user's admin flag, roles per app and teams, read once per request.

A :class:`Principal` is what the access rules are evaluated for. It is loaded with a
handful of indexed reads (the user row, their role assignments, the team tree) so
the SQL condition of every list can name plain ids instead of joining role tables.

Loaded principals are kept per process (:func:`cached_principal`), keyed by user id
and stamped with the ``access.version`` counter (a row of ``sequences``). Every change
to users, roles, teams, team members or shares advances that counter in its own
transaction (:func:`bump_access_version`), so the next lookup in any process sees a
new number and reads the principal again: one primary-key read per request instead of
three. Code writing those tables directly (fixtures, seeds) must bump it too.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import sqlalchemy as sa

from tessera.access.tables import record_shares, team_members, teams, user_roles
from tessera.storage.system import next_sequence_value, sequences, users

#: the sequences row advanced by every change to what a principal is made of
ACCESS_VERSION = "access.version"


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


# -- the per-process cache -------------------------------------------------------------------
def bump_access_version(conn: sa.Connection) -> int:
    """Advance ``access.version`` in the caller's transaction (cached principals go stale).

    Call it in the same transaction as any change to users (admin flag, active), role
    assignments, teams, team members or shares.
    """
    return next_sequence_value(conn, ACCESS_VERSION)


def access_version(conn: sa.Connection) -> int:
    """The current ``access.version`` (0 before the first change that counted)."""
    query = sa.select(sequences.c.value).where(sequences.c.name == ACCESS_VERSION)
    return int(conn.execute(query).scalar() or 0)


class PrincipalCache:
    """Principals of one database, by user id, each with the access version it was read at.

    An entry is served only while ``access.version`` still has that value. Entries are
    stored only from a connection of the cache's own (no uncommitted change of a caller's
    transaction can be cached); a caller's transaction may read them.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[int, Principal]] = {}

    def get(self, engine: sa.Engine, user_id: int) -> Principal:
        """The principal of ``user_id``, read again only when access changed since."""
        with engine.connect() as conn:
            version = access_version(conn)  # first: the reads below are at least as new
            hit = self._entries.get(user_id)
            if hit is not None and hit[0] == version:
                return hit[1]
            who = load_principal(conn, user_id)
        self._put(user_id, version, who)
        return who

    def get_in(self, conn: sa.Connection, user_id: int) -> Principal:
        """The principal as the caller's transaction sees it (a cached one if still current)."""
        version = access_version(conn)
        hit = self._entries.get(user_id)
        if hit is not None and hit[0] == version:
            return hit[1]
        return load_principal(conn, user_id)  # not stored: the transaction may roll back

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _put(self, user_id: int, version: int, who: Principal) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            old = self._entries.get(user_id)
            if old is None or old[0] <= version:
                self._entries[user_id] = (version, who)


_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def principal_cache(engine: sa.Engine) -> PrincipalCache | None:
    """The cache of ``engine``'s database (None for in-memory SQLite, whose connections
    may share one transaction)."""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return None
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = PrincipalCache()
        return cache


def cached_principal(engine_or_conn, user_id: int) -> Principal:
    """:func:`load_principal` through the per-process cache of the database."""
    if isinstance(engine_or_conn, sa.Connection):
        cache = principal_cache(engine_or_conn.engine)
        if cache is None:
            return load_principal(engine_or_conn, user_id)
        return cache.get_in(engine_or_conn, user_id)
    cache = principal_cache(engine_or_conn)
    if cache is None:
        with engine_or_conn.connect() as conn:
            return load_principal(conn, user_id)
    return cache.get(engine_or_conn, user_id)
