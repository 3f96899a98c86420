"""Users of the system table: create, find, check passwords."""

from __future__ import annotations

import contextlib
import difflib
import functools
import re
import zoneinfo
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from tessera.errors import TesseraError
from tessera.storage.system import users

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
LOCALES = ("en", "zh-CN")


class UserError(TesseraError):
    """A user could not be created or changed.

    ``code`` and ``params`` let a page say the same in the reader's language.
    """

    def __init__(self, message: str, code: str = "", **params: Any):
        super().__init__(message)
        self.code = code
        self.params = params


def create_user(engine: sa.Engine, username: str, password: str, **options: Any) -> int:
    """Create a user and return its id; refuses bad names, short passwords, duplicates.

    ``options`` are :func:`insert_user`'s (is_admin, display_name, email, role, locale,
    timezone).
    """
    with engine.begin() as conn:
        return insert_user(conn, username, password, **options)


def insert_user(
    conn: sa.Connection,
    username: str,
    password: str,
    *,
    is_admin: bool = False,
    display_name: str | None = None,
    email: str | None = None,
    role: str = "user",
    locale: str = "en",
    timezone: str | None = None,
) -> int:
    """:func:`create_user` inside the caller's transaction."""
    check_username(username)
    check_password(password)
    locale = check_locale(locale)
    timezone = check_timezone(timezone)
    if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first():
        raise UserError(f"username {username!r} is taken", "username_taken", name=username)
    from tessera.access.principal import bump_access_version  # (access imports this module)

    bump_access_version(conn)  # a principal cached for this id as unknown goes stale
    return conn.execute(
        users.insert().values(
            username=username,
            password_hash=generate_password_hash(password),
            display_name=display_name or username,
            email=email or None,
            is_admin=is_admin,
            role="admin" if is_admin else role,
            locale=locale,
            timezone=timezone,
        )
    ).inserted_primary_key[0]


def check_username(username: str) -> None:
    """Refuse a username that is not 2-64 letters, digits or _ . @ -."""
    if not USERNAME.match(username or ""):
        raise UserError(
            f"username {username!r}: use 2-64 letters, digits or _ . @ -",
            "username_invalid",
            name=username,
        )


def check_password(password: str) -> None:
    """Refuse a password shorter than 8 characters."""
    if len(password or "") < 8:
        raise UserError("password: must be at least 8 characters", "password_short")


def check_locale(locale: str | None) -> str:
    """``en`` or ``zh-CN`` (other spellings of them accepted); anything else is refused."""
    lowered = (locale or "en").replace("_", "-").lower()
    if lowered.startswith("zh"):
        return "zh-CN"
    if lowered in ("en", "en-us", "en-gb"):
        return "en"
    raise UserError(
        f"locale {locale!r}: use one of {', '.join(LOCALES)}", "locale_invalid", locale=locale
    )


def check_timezone(zone: str | None) -> str | None:
    """An IANA time zone name (e.g. Asia/Shanghai), None for the default; else refused."""
    if not zone:
        return None
    if zone not in time_zones():
        hint = difflib.get_close_matches(zone, sorted(time_zones()), n=1)
        more = f" — did you mean {hint[0]!r}?" if hint else " (e.g. Asia/Shanghai, Europe/Berlin)"
        raise UserError(
            f"time zone {zone!r} is not an IANA time zone{more}", "timezone_invalid", zone=zone
        )
    return zone


@functools.cache
def time_zones() -> frozenset[str]:
    """Every IANA time zone name this system knows."""
    return frozenset(zoneinfo.available_timezones())


def time_zone_of(engine: sa.Engine, user_id: int) -> str | None:
    """The user's own time zone (a known IANA name), or None when they have none."""
    with engine.connect() as conn:
        zone = conn.execute(sa.select(users.c.timezone).where(users.c.id == user_id)).scalar()
    return zone if zone in time_zones() else None


def bump_session_gen(conn: sa.Connection, user_id: int) -> None:
    """End every session of ``user_id`` (moves ``users.session_gen`` on), in the caller's
    transaction: a session cookie issued under an older generation is refused."""
    conn.execute(
        users.update().where(users.c.id == user_id).values(session_gen=users.c.session_gen + 1)
    )


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
    users.c.timezone,
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


def note_sign_in(engine: sa.Engine, user_id: int, browser_locale: str | None) -> bool:
    """Record a sign-in; the first one keeps ``browser_locale`` as the user's language
    (chosen once, then theirs to change on their profile). True on the first sign-in."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        first = conn.execute(
            users.update()
            .where(users.c.id == user_id, users.c.signed_in_at.is_(None))
            .values(signed_in_at=now)
        ).rowcount
        if not first:
            conn.execute(users.update().where(users.c.id == user_id).values(signed_in_at=now))
        elif browser_locale:
            with contextlib.suppress(UserError):
                locale = check_locale(browser_locale)
                conn.execute(users.update().where(users.c.id == user_id).values(locale=locale))
    return bool(first)


def save_preferences(
    engine: sa.Engine, user_id: int, *, locale: str | None = None, timezone: str | None = None
) -> None:
    """Keep the user's chosen language and/or time zone (each checked; None leaves it)."""
    values: dict[str, Any] = {}
    if locale is not None:
        values["locale"] = check_locale(locale)
    if timezone is not None:
        values["timezone"] = check_timezone(timezone)
    if values:
        with engine.begin() as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(**values))


def end_sessions(engine: sa.Engine, user_id: int) -> None:
    """Move the user's session generation on: every session signed in before ends."""
    with engine.begin() as conn:
        conn.execute(
            users.update().where(users.c.id == user_id).values(session_gen=users.c.session_gen + 1)
        )
