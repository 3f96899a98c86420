"""Sign-in checks: password verification without timing leaks, throttling and lockout.

Failed sign-ins are counted per account (the username as typed, lower-cased) and per
client address. After ``LOGIN_FREE_ATTEMPTS`` failures each further attempt must wait a
delay that doubles with every failure (``LOGIN_DELAY_SECONDS``, at most
``LOGIN_MAX_DELAY_SECONDS``); after ``LOGIN_LOCKOUT_AFTER`` failures the account is
locked for ``LOGIN_LOCKOUT_SECONDS`` (an admin can unlock it sooner), and an address
with ``LOGIN_ADDRESS_LIMIT`` failures is refused for the same time. The counters live in
Redis when ``REDIS_URL`` is set (shared by every web process), else in a private
in-process store. Sign-ins, failures, lockouts and unlocks go to ``security_log``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from tessera.access import audit
from tessera.storage.system import users

DEFAULTS: dict[str, Any] = {
    "LOGIN_FREE_ATTEMPTS": 3,  # failures before any delay
    "LOGIN_DELAY_SECONDS": 1.0,  # first delay; doubles with each further failure
    "LOGIN_MAX_DELAY_SECONDS": 60.0,
    "LOGIN_LOCKOUT_AFTER": 10,  # failures of one account before it is locked
    "LOGIN_LOCKOUT_SECONDS": 900,  # how long a lockout (account or address) lasts
    "LOGIN_ADDRESS_LIMIT": 50,  # failures from one address before it is refused
}

#: hashed once per process so an unknown username costs the same hash work as a known one
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash("no such user: constant-time filler")
    return _DUMMY_HASH


def verify(engine: sa.Engine, username: str, password: str) -> dict[str, Any] | None:
    """The active user with these credentials, or None; always does one password hash."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    stored = row["password_hash"] if row else _dummy_hash()
    ok = check_password_hash(stored, password)
    if row and ok and row["active"]:
        return dict(row)
    return None


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may go ahead; ``wait`` seconds and why when it may not."""

    allowed: bool
    wait: int = 0
    reason: str = ""  # "delay" | "locked" | "address"


class Throttle:
    """Failure counters per key in Redis (or a private fakeredis), with the policy above."""

    def __init__(self, redis: Any, config: dict[str, Any]):
        self.redis = redis
        self.cfg = {k: config.get(k, v) for k, v in DEFAULTS.items()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Throttle:
        """Redis at ``REDIS_URL``, else an in-process store private to this app."""
        if config.get("REDIS_URL"):
            from redis import Redis

            return cls(Redis.from_url(config["REDIS_URL"]), config)
        import fakeredis

        return cls(fakeredis.FakeRedis(server=fakeredis.FakeServer()), config)

    def _key(self, kind: str, value: str) -> bytes:
        safe = value.lower()[:200].encode("utf-8", "backslashreplace")
        return b"tessera:signin:" + kind.encode() + b":" + safe

    def _state(self, key: bytes) -> tuple[int, float]:
        raw = self.redis.hmget(key, "n", "last")
        return int(raw[0] or 0), float(raw[1] or 0)

    def check(self, username: str, address: str, now: float | None = None) -> Verdict:
        """May this account and address try a password now?"""
        now = time.time() if now is None else now
        lock = self.cfg["LOGIN_LOCKOUT_SECONDS"]
        n, last = self._state(self._key("addr", address))
        if n >= self.cfg["LOGIN_ADDRESS_LIMIT"] and now < last + lock:
            return Verdict(False, math.ceil(last + lock - now), "address")
        n, last = self._state(self._key("acct", username))
        if n >= self.cfg["LOGIN_LOCKOUT_AFTER"] and now < last + lock:
            return Verdict(False, math.ceil(last + lock - now), "locked")
        delay = self.delay(n)
        if delay and now < last + delay:
            return Verdict(False, math.ceil(last + delay - now), "delay")
        return Verdict(True)

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed attempts (0 while still free)."""
        extra = failures - self.cfg["LOGIN_FREE_ATTEMPTS"]
        if extra < 0:
            return 0.0
        return min(self.cfg["LOGIN_DELAY_SECONDS"] * 2**extra, self.cfg["LOGIN_MAX_DELAY_SECONDS"])

    def fail(self, username: str, address: str, now: float | None = None) -> bool:
        """Count a failure for both keys; True when it just locked the account."""
        now = time.time() if now is None else now
        ttl = int(self.cfg["LOGIN_LOCKOUT_SECONDS"]) + int(self.cfg["LOGIN_MAX_DELAY_SECONDS"])
        counts = []
        for key in (self._key("acct", username), self._key("addr", address)):
            with self.redis.pipeline() as pipe:
                pipe.hincrby(key, "n", 1).hset(key, "last", now).expire(key, ttl)
                counts.append(pipe.execute()[0])
        return counts[0] == self.cfg["LOGIN_LOCKOUT_AFTER"]

    def succeed(self, username: str) -> None:
        """A right password: the account starts afresh (the address keeps its count)."""
        self.redis.delete(self._key("acct", username))

    def unlock(self, username: str) -> bool:
        """Clear the account's failures; True when there were any."""
        return bool(self.redis.delete(self._key("acct", username)))


def log_event(
    engine: sa.Engine,
    action: str,
    *,
    user_id: int | None = None,
    subject: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one row to ``security_log``."""
    with engine.begin() as conn:
        audit.log(conn, action, by=user_id, subject=subject, ip=ip, detail=detail)


def throttle(app: Any) -> Throttle:
    """The Flask ``app``'s sign-in throttle (created on first use)."""
    if "tessera_signin" not in app.extensions:
        app.extensions["tessera_signin"] = Throttle.from_config(app.config)
    return app.extensions["tessera_signin"]


def unlock(app: Any, username: str, *, by: int | None = None) -> bool:
    """Lift an account's lockout and delays (admin pages and the CLI); logged as ``unlock``.

    True when the account had failed sign-ins counted against it.
    """
    had = throttle(app).unlock(username)
    engine = app.extensions["tessera"].engine
    log_event(engine, "unlock", user_id=by, subject=username, detail={"had_failures": had})
    return had
