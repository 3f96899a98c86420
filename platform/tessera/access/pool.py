"""The customer pool (公海池): records nobody owns, claimable by roles that declare a pool.

A role's permission may declare ``pool: {max_held: 50}``: records of that type whose
owner field is empty are readable by the role, and a holder may *claim* one (becoming
its owner) while owning fewer than ``max_held`` (the highest cap of their roles), or
*release* one they own back to the pool. Claims and releases are written through the
records service as the user (audit kind ``system``, ref ``pool:claim``/``pool:release``,
because the pool, not the user's update scope, allows them) and to the security log.
A recipe (``workflows/pool_release.yaml``) releases records after N idle days.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from tessera.access import audit
from tessera.access.principal import load_principal
from tessera.access.rules import owner_field
from tessera.errors import Conflict, Forbidden, NotFound
from tessera.records.actor import Actor


@dataclass(frozen=True)
class PoolRule:
    """The pool a user may claim from on one record type."""

    owner: str
    max_held: int | None  # None: no cap


def pool_rule(app, rt, who) -> PoolRule | None:
    """The pool of ``rt`` open to principal ``who`` (None: no pool for them)."""
    held = who.roles_in(app.id)
    perms = [p for r in app.roles if r.key in held and (p := r.permission(rt.key)) and p.pool]
    if not perms:
        return None
    caps = [p.pool.get("max_held") for p in perms]
    cap = None if any(c is None for c in caps) else max(caps)
    return PoolRule(owner_field(perms[0], rt), cap)


def held(t, app_id: str, rt_key: str, user_id: int, owner: str) -> int:
    """How many records of ``rt_key`` the user owns."""
    table = t.registry.table(app_id, rt_key)
    query = sa.select(sa.func.count()).where(table.c[owner] == user_id)
    with t.engine.connect() as conn:
        return conn.execute(query).scalar_one()


def claim(t, app_id: str, rt_key: str, record_id: int, user_id: int) -> dict:
    """Take an unowned record from the pool; Forbidden past the cap, Conflict if taken."""
    app, rt, table = t.records.resolve(app_id, rt_key)
    rule = _rule(t, app, rt, user_id)
    row = _row(t, table, record_id)
    if row[rule.owner] is not None:
        raise Conflict(f"{rt_key} #{record_id} is not in the pool (someone owns it)")
    count = held(t, app_id, rt_key, user_id, rule.owner)
    if rule.max_held is not None and count >= rule.max_held:
        raise Forbidden(
            f"you already hold {count} {rt_key} records; the pool allows at most {rule.max_held}"
        )
    actor = Actor(user_id, "system", ref="pool:claim")
    # version guards the race: two claims of one record, the second sees a conflict
    out = t.records.update(
        app_id, rt_key, record_id, {rule.owner: user_id}, actor, version=row["version"]
    )
    _audit(t, "pool_claim", user_id, app_id, rt_key, record_id)
    return out


def release(t, app_id: str, rt_key: str, record_id: int, user_id: int) -> dict:
    """Give a record the user owns back to the pool."""
    app, rt, table = t.records.resolve(app_id, rt_key)
    rule = _rule(t, app, rt, user_id)
    row = _row(t, table, record_id)
    if row[rule.owner] != user_id:
        raise Forbidden(f"you do not own {rt_key} #{record_id}, so you cannot release it")
    actor = Actor(user_id, "system", ref="pool:release")
    out = t.records.update(
        app_id, rt_key, record_id, {rule.owner: None}, actor, version=row["version"]
    )
    _audit(t, "pool_release", user_id, app_id, rt_key, record_id)
    return out


def _rule(t, app, rt, user_id: int) -> PoolRule:
    with t.engine.connect() as conn:
        who = load_principal(conn, user_id)
    rule = pool_rule(app, rt, who)
    if rule is None:
        raise Forbidden(f"your roles have no pool of {rt.key} records")
    return rule


def _row(t, table, record_id: int):
    with t.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
    if row is None:
        raise NotFound(f"#{record_id} does not exist")
    return row


def _audit(t, action: str, user_id: int, app_id: str, rt_key: str, record_id: int) -> None:
    with t.engine.begin() as conn:
        audit.log(conn, action, by=user_id, app_id=app_id, subject=f"{rt_key}#{record_id}")
