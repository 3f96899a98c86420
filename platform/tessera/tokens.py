"""API tokens: create, look up, revoke and list.

A token is ``tsr_`` + ``secrets.token_urlsafe(32)`` (43 characters, 256 random bits).
Only its SHA-256 hash is stored, so a database leak does not leak usable tokens; the
plain token is shown once, when it is created. The first 12 characters (``prefix``)
are kept in clear so a person can tell their tokens apart in ``token list``.

``last_used_at`` is refreshed at most once a minute per token: a busy client should
not turn every read into a write (on SQLite a write takes the database lock).

A token may carry scopes (``read``, ``write``; none means everything its user may do)
and an expiry. Only active users' tokens work: deactivating a user clears this
process's cache at once (other processes' caches forget within ``ttl`` seconds).
Creating and revoking a token is written to the security log.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tessera.access import audit
from tessera.errors import TesseraError
from tessera.storage.events import api_tokens
from tessera.storage.system import users

PREFIX = "tsr_"
PREFIX_LENGTH = 12
TOUCH_EVERY = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 200  # anything longer is not one of ours; refuse before hashing


SCOPES = ("read", "write")
MAX_DAYS = 3650


class TokenError(TesseraError):
    """A token could not be created or revoked."""


class TokenExpired(TokenError):
    """A real token whose expiry has passed."""

    def __init__(self, expires_at: datetime):
        super().__init__(f"API token expired at {expires_at.isoformat(timespec='minutes')}")
        self.expires_at = expires_at


@dataclass(frozen=True)
class TokenUser:
    """Who a valid token authenticates: the token id and its owner."""

    token_id: int
    user_id: int
    username: str
    locale: str
    scopes: frozenset[str] = frozenset(SCOPES)
    expires_at: datetime | None = None

    def may_write(self) -> bool:
        """True when the token's scopes allow changes."""
        return "write" in self.scopes


def hash_token(token: str) -> str:
    """The hex SHA-256 of a plain token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random plain token."""
    return PREFIX + secrets.token_urlsafe(32)


def check_scopes(scopes: Any) -> str | None:
    """Scopes as stored (``"read write"``), None for no restriction; unknown ones refused."""
    if not scopes:
        return None
    wanted = set(scopes.split() if isinstance(scopes, str) else scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise TokenError(f"scope {unknown[0]!r}: use {' or '.join(SCOPES)}")
    return " ".join(s for s in SCOPES if s in wanted)


def expiry(days: Any, now: datetime | None = None) -> datetime | None:
    """The expiry ``days`` from now (None: never); refuses non-numbers and out-of-range days."""
    if days in (None, ""):
        return None
    try:
        n = int(days)
    except (TypeError, ValueError):
        raise TokenError(f"expires in {days!r}: a whole number of days") from None
    if not 1 <= n <= MAX_DAYS:
        raise TokenError(f"expires in {n} days: use 1 to {MAX_DAYS}")
    return (now or datetime.now(UTC)) + timedelta(days=n)


def create_token(
    engine: sa.Engine,
    user_id: int,
    name: str | None = None,
    *,
    scopes: Any = None,
    expires_at: datetime | None = None,
    by: int | None = None,
) -> tuple[int, str]:
    """Store a new token for ``user_id``; returns (token id, plain token shown once)."""
    token = new_token()
    row = {
        "user_id": user_id,
        "name": (name or "").strip()[:100] or None,
        "prefix": token[:PREFIX_LENGTH],
        "token_hash": hash_token(token),
        "created_at": datetime.now(UTC),
        "scopes": check_scopes(scopes),
        "expires_at": expires_at,
    }
    with engine.begin() as conn:
        token_id = conn.execute(api_tokens.insert().values(row)).inserted_primary_key[0]
        owner = conn.execute(sa.select(users.c.username).where(users.c.id == user_id)).scalar()
        detail = {"token_id": token_id, "name": row["name"], "scopes": row["scopes"]}
        detail["expires_at"] = expires_at.isoformat() if expires_at else None
        audit.log(conn, "token_create", by=by or user_id, subject=owner, detail=detail)
    return token_id, token


def create_for_username(
    engine: sa.Engine,
    username: str,
    name: str | None = None,
    *,
    scopes: Any = None,
    expires_at: datetime | None = None,
) -> tuple[int, str]:
    """:func:`create_token` for the active user called ``username`` (TokenError if none)."""
    query = sa.select(users.c.id, users.c.active).where(users.c.username == username)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise TokenError(
            f"no user {username!r} (create one with: flask --app app user create {username})"
        )
    if not row.active:
        raise TokenError(f"user {username!r} is deactivated; tokens are not issued to them")
    return create_token(engine, row.id, name, scopes=scopes, expires_at=expires_at)


# Built once: this runs on every API request.
_BY_HASH = (
    sa.select(api_tokens.c.id, api_tokens.c.last_used_at, users.c.id.label("user_id"))
    .add_columns(users.c.username, users.c.locale, api_tokens.c.scopes, api_tokens.c.expires_at)
    .join(users, users.c.id == api_tokens.c.user_id)
    .where(
        api_tokens.c.token_hash == sa.bindparam("token_hash"),
        api_tokens.c.revoked.is_(False),
        users.c.active.is_(True),
    )
)


class TokenCache:
    """Tokens verified in the last ``ttl`` seconds, so a busy API client costs one
    database lookup per ``ttl`` rather than one per request.

    The price: a token revoked in another process keeps working here for up to
    ``ttl`` seconds (config ``API_TOKEN_CACHE_SECONDS``, default 5; 0 disables).
    """

    MAX_ITEMS = 10_000

    def __init__(self, ttl: float = 5.0):
        self.ttl = ttl
        self._items: dict[str, tuple[float, TokenUser]] = {}

    def get(self, token_hash: str) -> TokenUser | None:
        """The cached owner of a token hash, if verified within ttl."""
        item = self._items.get(token_hash)
        return item[1] if item and item[0] > time.monotonic() else None

    def put(self, token_hash: str, user: TokenUser) -> None:
        """Remember a verified token."""
        if self.ttl <= 0:
            return
        if len(self._items) >= self.MAX_ITEMS:
            self._items.clear()
        self._items[token_hash] = (time.monotonic() + self.ttl, user)

    def clear(self) -> None:
        """Forget everything (after a revocation in this process)."""
        self._items.clear()


def authenticate(
    engine: sa.Engine, token: str, now: datetime | None = None, cache: TokenCache | None = None
) -> TokenUser | None:
    """The owner of a valid, unrevoked token of an active user, or None.

    Raises :class:`TokenExpired` for a token that is ours but past its expiry.
    """
    if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = now or datetime.now(UTC)
    token_hash = hash_token(token)
    user = cache.get(token_hash) if cache else None
    if user is None:
        with engine.connect() as conn:
            row = conn.execute(_BY_HASH, {"token_hash": token_hash}).first()
        if row is None:
            return None
        user = _token_user(row)
        if user.expires_at is None or user.expires_at > now:
            _touch(engine, row.id, row.last_used_at, now)
            if cache:
                cache.put(token_hash, user)
    if user.expires_at is not None and user.expires_at <= now:
        raise TokenExpired(user.expires_at)
    return user


def _token_user(row: Any) -> TokenUser:
    scopes = frozenset(row.scopes.split()) if row.scopes else frozenset(SCOPES)
    expires = _aware(row.expires_at) if row.expires_at else None
    return TokenUser(row.id, row.user_id, row.username, row.locale or "en", scopes, expires)


def _touch(engine: sa.Engine, token_id: int, last: datetime | None, now: datetime) -> None:
    if last is not None and now - _aware(last) < TOUCH_EVERY:
        return
    with engine.begin() as conn:
        conn.execute(
            api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=now)
        )


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def revoke(
    engine: sa.Engine, token_id: int, *, by: int | None = None, owner_id: int | None = None
) -> None:
    """Revoke a token for good (TokenError if there is no such token, or not ``owner_id``'s)."""
    where = [api_tokens.c.id == token_id]
    if owner_id is not None:
        where.append(api_tokens.c.user_id == owner_id)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(api_tokens.c.user_id, users.c.username, api_tokens.c.revoked)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(*where)
        ).first()
        if row is None:
            raise TokenError(f"no API token with id {token_id} (see: flask --app app token list)")
        if row.revoked:
            return
        conn.execute(api_tokens.update().where(*where).values(revoked=True))
        detail = {"token_id": token_id}
        audit.log(conn, "token_revoke", by=by, subject=row.username, detail=detail)


def list_tokens(engine: sa.Engine, user_id: int | None = None) -> list[dict[str, Any]]:
    """Tokens (never their hashes) with their owner's username, oldest first."""
    query = (
        sa.select(
            api_tokens.c.id,
            api_tokens.c.name,
            api_tokens.c.prefix,
            api_tokens.c.created_at,
            api_tokens.c.last_used_at,
            api_tokens.c.revoked,
            api_tokens.c.scopes,
            api_tokens.c.expires_at,
            api_tokens.c.user_id,
            users.c.username,
        )
        .join(users, users.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.id)
    )
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
