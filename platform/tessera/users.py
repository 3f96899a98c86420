"""Users of the system table: create, find, check passwords."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from tessera.errors import TesseraError
from tessera.storage.system import users

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


class UserError(TesseraError):
    """A user could not be created or changed."""


def create_user(
    engine: sa.Engine,
    username: str,
    password: str,
    *,
    is_admin: bool = False,
    display_name: str | None = None,
    email: str | None = None,
    role: str = "user",
    locale: str = "en",
) -> int:
    """Create a user and return its id; refuses bad names, short passwords, duplicates."""
    if not USERNAME.match(username or ""):
        raise UserError(f"username {username!r}: use 2-64 letters, digits or _ . @ -")
    if len(password or "") < 8:
        raise UserError("password: must be at least 8 characters")
    with engine.begin() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first():
            raise UserError(f"username {username!r} is taken")
        return conn.execute(
            users.insert().values(
                username=username,
                password_hash=generate_password_hash(password),
                display_name=display_name or username,
                email=email,
                is_admin=is_admin,
                role="admin" if is_admin else role,
                locale=locale,
            )
        ).inserted_primary_key[0]


def authenticate(engine: sa.Engine, username: str, password: str) -> dict[str, Any] | None:
    """The active user with these credentials, or None (same hash work either way)."""
    from tessera.signin import verify

    return verify(engine, username, password)


def count_users(engine: sa.Engine) -> int:
    """How many users exist."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()


def has_admin(engine: sa.Engine) -> bool:
    """True when at least one active admin exists."""
    query = sa.select(users.c.id).where(users.c.is_admin.is_(True), users.c.active.is_(True))
    with engine.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None


#: what pages and APIs may see of a user (never the password hash)
PUBLIC_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.display_name,
    users.c.email,
    users.c.is_admin,
    users.c.role,
    users.c.locale,
)


def get_active(engine: sa.Engine, user_id: Any) -> dict[str, Any] | None:
    """The active user ``user_id`` (public columns only), or None for anything else."""
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    query = sa.select(*PUBLIC_COLUMNS).where(users.c.id == user_id, users.c.active.is_(True))
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def display_names(engine: sa.Engine, *, active_only: bool = False) -> list[tuple[int, str]]:
    """(id, display name or username) of every user, ordered by name."""
    query = sa.select(users.c.id, users.c.display_name, users.c.username)
    if active_only:
        query = query.where(users.c.active.is_(True))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(users.c.display_name, users.c.id)).all()
    return [(r.id, r.display_name or r.username) for r in rows]


def session_user(engine: sa.Engine, user_id: Any, gen: Any) -> dict[str, Any] | None:
    """The active user ``user_id`` when ``gen`` is still their session generation, else None."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (user_id, gen)):
        return None
    query = sa.select(*PUBLIC_COLUMNS).where(
        users.c.id == user_id, users.c.active.is_(True), users.c.session_gen == gen
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def end_sessions(engine: sa.Engine, user_id: int) -> None:
    """Move the user's session generation on: every session signed in before ends."""
    with engine.begin() as conn:
        conn.execute(
            users.update().where(users.c.id == user_id).values(session_gen=users.c.session_gen + 1)
        )
