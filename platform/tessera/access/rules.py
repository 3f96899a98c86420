"""The rules: what a principal may do with a record type, as SQL and as a Python check.

Decisions made here, once:

- ``None`` as the principal is the system (workflows running as system, the public
  form's own writes, maintenance jobs): no rule applies;
- a built-in admin (``users.is_admin``) may do everything in every app;
- an app that declares no ``roles:`` keeps the open behaviour: every signed-in user
  may do everything in it;
- an app that declares roles gives a user exactly the union of the roles they hold
  there: no role, nothing (not even reading);
- ``own`` compares the permission's owner field with the user; ``team`` also accepts
  owners who belong to one of the user's teams (or sub-teams, or teams they manage);
  a condition is the condition language with ``$me`` the user;
- a field is ``write`` unless every role reaching the record type says less (a role's
  ``fields: {"*": read}`` sets its level for the fields it does not name); hidden
  (``none``) fields are absent from what the user reads and unusable in filters.

The SQL form is built for indexes: ``own`` is ``owner = :me`` and ``team`` an
``IN (SELECT user_id FROM team_members WHERE team_id IN (...))`` over the
(team_id, user_id) key, never a subquery per row. On PostgreSQL that IN is written
``owner = ANY (ARRAY(SELECT ...))``: the subquery runs once (an InitPlan) and the owner
index is searched with its result even inside an OR (a plain ``IN (SELECT ...)`` there
becomes a filter applied to every row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from tessera.access.principal import Principal
from tessera.access.tables import record_shares, team_members
from tessera.meta.children import expand
from tessera.meta.model import (
    FIELD_LEVELS,
    OPERATIONS,
    App,
    Permission,
    RecordType,
    freeze,
    thaw,
)
from tessera.query import conditions
from tessera.storage.naming import table_name


@dataclass(frozen=True)
class Grant:
    """One role's scope for one operation: "own", "team", "all" or a condition."""

    scope: Any
    owner: str
    role: str


@dataclass(frozen=True)
class Rights:
    """What one principal may do with one record type (their roles' union)."""

    app_id: str
    rt_key: str
    grants: Mapping[str, tuple[Grant, ...]]  # operation -> grants (none left out)
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def can(self, operation: str) -> bool:
        """True when some role grants ``operation`` on at least some records."""
        return bool(self.grants.get(operation))

    def everywhere(self, operation: str) -> bool:
        """True when some role grants ``operation`` on every record."""
        return any(g.scope == "all" for g in self.grants.get(operation, ()))

    def level(self, key: str) -> str:
        """``none``, ``read`` or ``write`` for field ``key``."""
        return self.fields.get(key, "write")

    @property
    def hidden(self) -> frozenset[str]:
        """Fields the principal may not read."""
        return frozenset(k for k, v in self.fields.items() if v == "none")


def owner_field(perm: Permission, rt: RecordType) -> str:
    """The owner field on ``rt``: declared, else ``owner`` (a user field), else created_by."""
    if perm.owner:
        return perm.owner
    if rt.has_field("owner") and rt.field("owner").type == "user":
        return "owner"
    return "created_by"


#: memo of compiled rights and visible apps: they depend only on the (immutable) Meta
#: objects and the roles held, and every list asks several times. Entries keep their Meta
#: objects and are used only for those very objects (an upgraded app never hits them).
_MEMO: dict[tuple, tuple[Any, Any, Any]] = {}
_MEMO_MAX = 4096


def _memo(kind: str, app: App, rt: Any, held: frozenset[str], build: Callable[[], Any]) -> Any:
    key = (kind, id(app), id(rt), held)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is app and hit[1] is rt:
        return hit[2]
    value = build()
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.clear()
    _MEMO[key] = (app, rt, value)
    return value


def rights(app: App, rt: RecordType, who: Principal | None) -> Rights | None:
    """The principal's rights on ``rt``; None when no rule applies (system, admin, open app)."""
    if who is None or who.is_admin or not app.roles:
        return None
    held = who.roles_in(app.id)
    return _memo("rights", app, rt, held, lambda: _rights(app, rt, held))


def _rights(app: App, rt: RecordType, held: frozenset[str]) -> Rights:
    perms = [
        (role.key, p)
        for role in app.roles
        if role.key in held and (p := role.permission(rt.key)) is not None
    ]
    grants = {
        op: tuple(
            Grant(p.scope(op), owner_field(p, rt), key) for key, p in perms if p.scope(op) != "none"
        )
        for op in OPERATIONS
    }
    grants["read"] += tuple(  # the pool: records nobody owns are readable (and claimable)
        Grant(freeze({"field": owner_field(p, rt), "op": "is_empty"}), owner_field(p, rt), key)
        for key, p in perms
        if p.pool is not None
    )
    return Rights(app.id, rt.key, MappingProxyType(grants), _field_levels(rt, perms))


def _field_levels(rt: RecordType, perms: list[tuple[str, Permission]]) -> Mapping[str, str]:
    """Each field's highest level over the roles that reach the record type.

    With no role reaching it, the user reads only records shared with them, and
    sees those whole.
    """
    levels = {}
    for f in rt.fields:
        found = [p.fields.get(f.key, p.fields.get("*", "write")) for _, p in perms] or ["write"]
        best = max(found, key=FIELD_LEVELS.index)
        if best != "write":
            levels[f.key] = best
    return MappingProxyType(levels)


# -- SQL ---------------------------------------------------------------------------------
def sql_condition(
    app: App,
    rt: RecordType,
    table: sa.Table,
    who: Principal | None,
    operation: str = "read",
    now: datetime | None = None,
) -> sa.ColumnElement[bool] | None:
    """The rows of ``table`` the principal may ``operation``; None for every row."""
    r = rights(app, rt, who)
    if r is None or r.everywhere(operation):
        return None
    parts = [grant_sql(g, app, rt, table, who, now) for g in r.grants.get(operation, ())]
    if operation in ("read", "update") and (app.id, rt.key) in who.shared:
        parts.append(_shared_sql(app, rt, table, who, operation))
    return sa.or_(sa.false(), *parts)


def grant_sql(grant: Grant, app, rt, table, who: Principal, now=None) -> sa.ColumnElement[bool]:
    """One grant as a SQL condition over ``table``."""
    if grant.scope == "all":
        return sa.true()
    if grant.scope == "own":
        return table.c[grant.owner] == who.user_id
    if grant.scope == "team":
        col = table.c[grant.owner]
        if not who.team_ids:
            return col == who.user_id
        members = sa.select(team_members.c.user_id).where(
            team_members.c.team_id.in_(sorted(who.team_ids))
        )
        return sa.or_(col == who.user_id, InSubquery(col, members))
    return conditions.to_sql(
        thaw(grant.scope),
        rt,
        app,
        _tables(app, table),
        me=who.user_id,
        now=now or _now(),
        path=f"roles.{grant.role}.permissions.{rt.key}",
    )


def _shared_sql(app, rt, table, who: Principal, operation: str) -> sa.ColumnElement[bool]:
    """Records shared with the user or one of their teams (edit shares also for update)."""
    shares = record_shares.c
    whom = shares.user_id == who.user_id
    if who.team_ids:
        whom = sa.or_(whom, shares.team_id.in_(sorted(who.team_ids)))
    query = sa.select(shares.record_id).where(
        shares.app_id == app.id, shares.record_type == rt.key, whom
    )
    if operation != "read":
        query = query.where(shares.level == "edit")
    return table.c.id.in_(query)


def _tables(app: App, table: sa.Table) -> dict[str, sa.Table]:
    """The app's tables, found beside ``table`` in its MetaData (for dotted conditions)."""
    found = table.metadata.tables
    return {
        r.key: found[table_name(app.id, r.key)]
        for r in expand(app).record_types  # with child tables, for items.product
        if table_name(app.id, r.key) in found
    }


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


# -- Python ------------------------------------------------------------------------------
Resolver = Callable[[str, Any], Mapping[str, Any] | None]


def grants_match(
    app: App,
    rt: RecordType,
    grants: tuple[Grant, ...],
    record: Mapping[str, Any],
    who: Principal,
    *,
    resolve: Resolver | None = None,
    now: datetime | None = None,
) -> bool:
    """True when ``record`` (a dict of Python values) is inside one of ``grants``."""
    return any(_grant_matches(app, rt, g, record, who, resolve, now) for g in grants)


def _grant_matches(app, rt, grant: Grant, record, who: Principal, resolve, now) -> bool:
    if grant.scope == "all":
        return True
    if grant.scope == "own":
        return record.get(grant.owner) == who.user_id
    if grant.scope == "team":
        return record.get(grant.owner) in who.team_user_ids | {who.user_id}
    return conditions.evaluate(
        thaw(grant.scope), record, rt, app, me=who.user_id, now=now or _now(), resolve=resolve
    )


# -- what a principal sees of the Meta ----------------------------------------------------
def visible_app(app: App, who: Principal | None) -> App:
    """``app`` with every field ``who`` may not read removed (so using one is "unknown")."""
    if who is None or who.is_admin or not app.roles:
        return app
    held = who.roles_in(app.id)

    def build() -> App:
        types = tuple(visible_record_type(app, rt, who) for rt in app.record_types)
        return replace(app, record_types=types)

    return _memo("visible", app, None, held, build)


def visible_record_type(app: App, rt: RecordType, who: Principal | None) -> RecordType:
    """``rt`` without the fields ``who`` may not read."""
    r = rights(app, rt, who)
    if r is None or not r.hidden:
        return rt
    fields = tuple(f for f in rt.fields if f.key not in r.hidden)
    search = tuple(k for k in rt.search if k not in r.hidden)  # the query layer then
    return replace(rt, fields=fields, search=search)  # skips the index (see search_condition)


def strip(r: Rights | None, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without the fields ``r`` hides (absent, not blanked)."""
    if r is None or not r.hidden:
        return row
    return {k: v for k, v in row.items() if k not in r.hidden}


class InSubquery(ColumnElement):
    """``column IN (select)``, which PostgreSQL gets as ``= ANY (ARRAY(select))`` so the
    column's index stays usable under an OR (see the module docstring)."""

    type = sa.Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a comparison already: no "= 1" where booleans are ints
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("query", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column, query: sa.Select) -> None:
        self.column = column
        self.query = query


@compiles(InSubquery)
def _in_subquery(element: InSubquery, compiler, **kw) -> str:
    return compiler.process(element.column.in_(element.query), **kw)


@compiles(InSubquery, "postgresql")
def _any_array(element: InSubquery, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY (ARRAY{compiler.process(element.query.scalar_subquery(), **kw)})"
