"""The multi-process suite's site: the ``mp`` template (v1, and v2 renaming a field), its
installation with a user and an API token, service checks that fail in CI, row readers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from multiproc_helpers import Cluster

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REDIS_URL = os.environ.get("TESSERA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

V1 = {
    "id": "mp",
    "version": "1.0.0",
    "label": "Multi-process",
    "record_types": [
        {
            "key": "item",
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "required": True},
                {"key": "hits", "type": "number"},
                {"key": "echo", "type": "text"},
            ],
        }
    ],
    "workflows": [
        {
            "key": "count",
            "record_type": "item",
            "trigger": {"on": "record.created"},
            "actions": [{"do": "increment", "field": "hits"}],
        }
    ],
}

# v2 renames ``name`` to ``title``; its workflow reads the new key as well.
V2 = {
    **V1,
    "version": "1.1.0",
    "record_types": [
        {
            "key": "item",
            "title": "title",
            "fields": [
                {"key": "title", "type": "text", "required": True, "renamed_from": "name"},
                {"key": "hits", "type": "number"},
                {"key": "echo", "type": "text"},
            ],
        }
    ],
    "workflows": [
        {
            "key": "count",
            "record_type": "item",
            "trigger": {"on": "record.created"},
            "actions": [
                {"do": "increment", "field": "hits"},
                {"do": "update_record", "values": {"echo": "{{ record.title }}"}},
            ],
        }
    ],
}


def items(t) -> list[dict]:
    """Every item row, by id (read through the registry, which follows upgrades)."""
    t.registry.refresh_if_changed()
    table = t.registry.table("mp", "item")
    with t.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def create_items(c: Cluster, token: str, field: str, names: list[str]) -> list[tuple]:
    """POST one item per name, several at once so both web processes take some."""
    auth = {"Authorization": f"Bearer {token}"}
    calls = [("POST", "/api/v1/mp/item", {field: n}, auth) for n in names]
    answers = c.parallel(calls)
    for (status, _, body), name in zip(answers, names, strict=True):
        assert status == 201, f"create {name}: {status} {body[:300]!r}"
    return answers


def all_counted(t, expected: int):
    """The items once all ``expected`` have a run and a finished ``hits`` count."""
    rows = items(t)
    return rows if len(rows) == expected and all(r["hits"] is not None for r in rows) else None


def run_count(t) -> int:
    from tessera.automation import tables

    with t.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar()


#: sign-in throttling tight enough to reach in a test (two free failures, then 30 s waits)
THROTTLE = {"LOGIN_FREE_ATTEMPTS": 2, "LOGIN_DELAY_SECONDS": 30}


def unavailable(message: str) -> None:
    """Skip, or fail in CI (a configured service that is missing must not pass silently)."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def empty_database(url: str) -> None:
    """Drop everything in the PostgreSQL database (as tests/conftest.py resets it)."""
    from tessera import db

    engine = db.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def redis_or_fail() -> str:
    """The test Redis URL after a ping and a flush of its database."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except RedisDown as exc:
        unavailable(f"Redis at {REDIS_URL} unreachable: {exc}")
    client.flushdb()
    client.close()
    return REDIS_URL


def flush(url: str) -> None:
    """Empty the Redis database again."""
    from redis import Redis

    with Redis.from_url(url) as client:
        client.flushdb()


def install_site(database_url: str, tmp: Path):
    """Install the v1 template and user ``ann`` (admin) with a read+write API token.

    Returns (tessera runtime of a quiet in-test app, token); the test reads rows through it.
    """
    from tessera import create_app
    from tessera.meta import app_from_data
    from tessera.storage import installer
    from tessera.tokens import create_token
    from tessera.users import create_user

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "TESSERA_INSTANCE": str(tmp / "setup"),
            "SECRET_KEY": "multiproc",
            "REDIS_URL": None,
            "TESTING": True,
            "AUTOMATION_EMBEDDED": False,
        }
    )
    t = app.extensions["tessera"]
    installer.install(t.engine, app_from_data(V1), yaml.safe_dump(V1))
    t.registry.reload()
    ann = create_user(t.engine, "ann", "password123", is_admin=True)
    _, token = create_token(t.engine, ann, "multiproc", scopes=["read", "write"])
    return t, token
