"""Reads of the users system table the pages need: the signed-in user, names, pickers.

Users are not records, so this is the one place the web layer reads a table directly,
and it only reads.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, g

from tessera.storage.system import users

PUBLIC_COLUMNS = (users.c.id, users.c.username, users.c.display_name, users.c.email)
PUBLIC_COLUMNS += (users.c.is_admin, users.c.role, users.c.locale)


def get(engine: sa.Engine, user_id: Any) -> dict[str, Any] | None:
    """The active user ``user_id`` (without the password hash), or None."""
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    query = sa.select(*PUBLIC_COLUMNS).where(users.c.id == user_id, users.c.active.is_(True))
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def directory() -> dict[int, str]:
    """Every user's display name by id, read once per request."""
    if "user_directory" not in g:
        engine = current_app.extensions["tessera"].engine
        query = sa.select(users.c.id, users.c.display_name, users.c.username)
        with engine.connect() as conn:
            g.user_directory = {r.id: r.display_name or r.username for r in conn.execute(query)}
    return g.user_directory


def choices() -> list[tuple[int, str]]:
    """(id, name) of the active users, for user-field pickers."""
    engine = current_app.extensions["tessera"].engine
    query = sa.select(users.c.id, users.c.display_name, users.c.username).where(
        users.c.active.is_(True)
    )
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(users.c.display_name)).all()
    return [(r.id, r.display_name or r.username) for r in rows]
