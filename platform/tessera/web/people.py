"""Users as the pages need them: the signed-in user, names, pickers (read via users.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, g

from tessera import users


def get(engine: sa.Engine, user_id: Any) -> dict[str, Any] | None:
    """The active user ``user_id`` (without the password hash), or None."""
    return users.get_active(engine, user_id)


def session_user(engine: sa.Engine, user_id: Any, gen: Any) -> dict[str, Any] | None:
    """The signed-in user of a session (None once its generation is stale or user inactive)."""
    return users.session_user(engine, user_id, gen)


def directory() -> dict[int, str]:
    """Every user's display name by id, read once per request."""
    if "user_directory" not in g:
        g.user_directory = dict(users.display_names(current_app.extensions["tessera"].engine))
    return g.user_directory


def choices() -> list[tuple[int, str]]:
    """(id, name) of the active users, for user-field pickers."""
    return users.display_names(current_app.extensions["tessera"].engine, active_only=True)
