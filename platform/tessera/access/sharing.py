"""Sharing records with users or teams, and "why can this user see this record?".

A share gives one user, or every member of one team (and of its parent teams' managers
through the team scope), ``read`` or ``edit`` access to one record whatever their roles
say; the access rules (:mod:`tessera.access.rules`) include shares in the read and
update conditions. Shares and unshares are written to the security log.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tessera.access import audit
from tessera.access.principal import bump_access_version, load_principal
from tessera.access.rules import grant_sql, rights
from tessera.access.tables import record_shares, teams
from tessera.errors import BadRequest, NotFound
from tessera.storage.system import users

LEVELS = ("read", "edit")


def share(
    t,
    app_id: str,
    rt_key: str,
    record_id: int,
    *,
    user_id: int | None = None,
    team_id: int | None = None,
    level: str = "read",
    by: int | None = None,
) -> int:
    """Share a record with a user or a team (replacing an earlier share with them); its id."""
    if (user_id is None) == (team_id is None):
        raise BadRequest("share with exactly one of a user or a team", {"with": ["one of"]})
    if level not in LEVELS:
        raise BadRequest(f"level must be read or edit, got {level!r}", {"level": [level]})
    t.records.get(app_id, rt_key, record_id, by)  # the sharer must see it (404 otherwise)
    whom = {"user_id": user_id, "team_id": team_id}
    with t.engine.begin() as conn:
        _check_target(conn, user_id, team_id)
        conn.execute(record_shares.delete().where(*_same(app_id, rt_key, record_id, whom)))
        share_id = conn.execute(
            record_shares.insert().values(
                app_id=app_id, record_type=rt_key, record_id=record_id, level=level,
                created_by=by, **whom,
            )
        ).inserted_primary_key[0]  # fmt: skip
        _audit(conn, "share", by, app_id, rt_key, record_id, {**whom, "level": level})
    return share_id


def unshare(
    t,
    app_id: str,
    rt_key: str,
    record_id: int,
    *,
    user_id: int | None = None,
    team_id: int | None = None,
    by: int | None = None,
) -> bool:
    """Remove a share; True when there was one."""
    whom = {"user_id": user_id, "team_id": team_id}
    with t.engine.begin() as conn:
        gone = conn.execute(record_shares.delete().where(*_same(app_id, rt_key, record_id, whom)))
        if gone.rowcount:
            _audit(conn, "unshare", by, app_id, rt_key, record_id, whom)
    return bool(gone.rowcount)


def shares_of(t, app_id: str, rt_key: str, record_id: int) -> list[dict[str, Any]]:
    """The record's shares: ``{id, user_id, team_id, level}``."""
    s = record_shares.c
    query = (
        sa.select(s.id, s.user_id, s.team_id, s.level)
        .where(s.app_id == app_id, s.record_type == rt_key, s.record_id == record_id)
        .order_by(s.id)
    )
    with t.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _same(app_id, rt_key, record_id, whom) -> list:
    s = record_shares.c
    out = [s.app_id == app_id, s.record_type == rt_key, s.record_id == record_id]
    for key, value in whom.items():
        out.append(s[key].is_(None) if value is None else s[key] == value)
    return out


def _check_target(conn, user_id, team_id) -> None:
    table, wanted = (users, user_id) if user_id is not None else (teams, team_id)
    if conn.execute(sa.select(table.c.id).where(table.c.id == wanted)).first() is None:
        what = "user" if user_id is not None else "team"
        raise NotFound(f"no {what} with id {wanted}")


def _audit(conn, action, by, app_id, rt_key, record_id, detail) -> None:
    bump_access_version(conn)  # the shared record types are part of the principal
    audit.log(conn, action, by=by, app_id=app_id, subject=f"{rt_key}#{record_id}", detail=detail)


# -- why can this user see this? ------------------------------------------------------------
def explain(t, app_id: str, rt_key: str, record_id: int, user_id: int) -> dict[str, list[str]]:
    """Per operation (read, update, delete), the rules letting ``user_id`` do it (empty: none).

    Reasons read like ``role sales_rep: read own (owner)`` or ``shared with team east
    (edit)``; an admin or an app without roles gets one reason for every operation.
    """
    app, rt, table = t.records.resolve(app_id, rt_key)
    with t.engine.connect() as conn:
        if conn.execute(sa.select(table.c.id).where(table.c.id == record_id)).first() is None:
            raise NotFound(f"{rt_key} #{record_id} does not exist")
        who = load_principal(conn, user_id)
        r = rights(app, rt, who)
        if r is None:
            why = "built-in admin" if who.is_admin else "the app declares no roles"
            return {op: [why] for op in ("read", "update", "delete")}
        out = {}
        for op in ("read", "update", "delete"):
            reasons = [
                f"role {g.role}: {op} {_scope_text(g)}"
                for g in r.grants.get(op, ())
                if _holds(conn, table, record_id, grant_sql(g, app, rt, table, who))
            ]
            if op != "delete":
                reasons += _share_reasons(conn, app_id, rt_key, record_id, who, op)
            out[op] = reasons
        return out


def _holds(conn, table, record_id, cond) -> bool:
    query = sa.select(table.c.id).where(table.c.id == record_id, cond)
    return conn.execute(query).first() is not None


def _scope_text(grant) -> str:
    if grant.scope == "all":
        return "all"
    if grant.scope in ("own", "team"):
        return f"{grant.scope} ({grant.owner})"
    if grant.scope == {"field": grant.owner, "op": "is_empty"}:  # see rules.rights
        return f"pool ({grant.owner} empty)"
    return "by condition"


def _share_reasons(conn, app_id, rt_key, record_id, who, op) -> list[str]:
    s = record_shares.c
    whom = s.user_id == who.user_id
    if who.team_ids:
        whom = sa.or_(whom, s.team_id.in_(sorted(who.team_ids)))
    query = (
        sa.select(s.level, teams.c.name)
        .select_from(record_shares.outerjoin(teams, teams.c.id == s.team_id))
        .where(s.app_id == app_id, s.record_type == rt_key, s.record_id == record_id, whom)
    )
    out = []
    for level, team in conn.execute(query):
        if op == "read" or level == "edit":
            out.append(f"shared with {'team ' + team if team else 'them'} ({level})")
    return out
