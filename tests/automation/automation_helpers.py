"""Fixtures of the automation suite: a "desk" app (customers, tickets, tasks) with workflows.

``auto_app`` runs the embedded default (fakeredis + worker and relay threads). Tests that
need a real Redis use ``redis_url`` (TESSERA_TEST_REDIS_URL, default redis://127.0.0.1:6379/15);
in CI an unreachable Redis fails them instead of skipping.
"""

from __future__ import annotations

import os
import uuid

import pytest
import yaml

DESK = {
    "id": "desk",
    "version": "1.0.0",
    "label": "Desk",
    "record_types": [
        {
            "key": "customer",
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "required": True},
                {"key": "email", "type": "email"},
                {
                    "key": "status",
                    "type": "select",
                    "default": "active",
                    "options": [{"value": "active"}, {"value": "dormant"}, {"value": "vip"}],
                },
                {"key": "owner", "type": "user"},
                {"key": "score", "type": "number"},
                {"key": "next_at", "type": "datetime"},
            ],
        },
        {
            "key": "ticket",
            "title": "subject",
            "fields": [
                {"key": "subject", "type": "text", "required": True},
                {"key": "customer", "type": "link", "to": "customer", "on_delete": "cascade"},
                {
                    "key": "status",
                    "type": "select",
                    "default": "open",
                    "options": [{"value": "open"}, {"value": "resolved"}],
                },
                {"key": "owner", "type": "user"},
            ],
        },
        {
            "key": "task",
            "title": "title",
            "fields": [
                {"key": "title", "type": "text", "required": True},
                {"key": "ticket", "type": "link", "to": "ticket", "on_delete": "cascade"},
            ],
        },
    ],
}

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _redis_url_for_this_worker(url: str) -> str:
    """Under pytest-xdist each worker flushes its own Redis db (base db + worker number)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = int(worker[2:]) if worker[2:].isdigit() else 0
    base, _, db = url.rpartition("/")
    return f"{base}/{(int(db or 0) + offset) % 16}" if db.isdigit() else url


REDIS_URL = _redis_url_for_this_worker(
    os.environ.get("TESSERA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
)

FAST = {
    "AUTOMATION_RETRIES": 2,
    "AUTOMATION_RETRY_INTERVALS": [0, 0],
    "AUTOMATION_POLL_SECONDS": 0.05,
    "WEBHOOK_ALLOW_PRIVATE": True,
}


def desk(workflows: list[dict]) -> dict:
    """The desk template with these workflows."""
    return {**DESK, "workflows": workflows}


def install(tessera, data: dict) -> None:
    """Install (or upgrade to) template ``data`` and reload the registry."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    app = app_from_data(data)
    if data["id"] in tessera.registry.apps:
        installer.upgrade(tessera.engine, app, yaml.safe_dump(data))
    else:
        installer.install(tessera.engine, app, yaml.safe_dump(data))
    tessera.registry.reload()


def make_app(database_url: str, tmp_path, **config):
    """A Tessera Flask app with automation settings for tests."""
    from tessera import create_app

    return create_app(
        {
            "DATABASE_URL": database_url,
            "TESSERA_INSTANCE": str(tmp_path / "instance"),
            "SECRET_KEY": "test",
            "REDIS_URL": None,
            "TESTING": True,
            **FAST,
            **config,
        }
    )


@pytest.fixture
def auto_app(database_url, tmp_path):
    """Embedded automation (fakeredis, worker thread) on a fresh database."""
    app = make_app(database_url, tmp_path, AUTOMATION_EMBEDDED=True)
    yield app
    t = app.extensions["tessera"]
    t.automation.stop()
    t.engine.dispose()


@pytest.fixture
def quiet_app(database_url, tmp_path):
    """Automation configured but no threads: tests drive the engine by hand."""
    app = make_app(database_url, tmp_path, AUTOMATION_EMBEDDED=False)
    yield app
    app.extensions["tessera"].engine.dispose()


@pytest.fixture
def users(auto_app):
    """Three users: ann and bob (role sales), cid (role support)."""
    return _users(auto_app)


def _users(app):
    from tessera.users import create_user

    engine = app.extensions["tessera"].engine
    return {
        name: create_user(engine, name, "password123", role=role, email=f"{name}@example.com")
        for name, role in (("ann", "sales"), ("bob", "sales"), ("cid", "support"))
    }


@pytest.fixture
def quiet_users(quiet_app):
    """The same users in the quiet app."""
    return _users(quiet_app)


@pytest.fixture
def redis_url():
    """A real Redis for this test (its db flushed around the test)."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except RedisDown as exc:
        message = f"Redis at {REDIS_URL} unreachable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def queue_name() -> str:
    """A unique queue name so parallel runs never share jobs."""
    return f"t{uuid.uuid4().hex[:8]}"


def drain(tessera, rounds: int = 50) -> None:
    """Relay and work in the calling thread until nothing is left (no threads involved)."""
    auto = tessera.automation
    for _ in range(rounds):
        relayed = auto.relay_once()
        auto._move_scheduled()
        worked = auto.make_worker().work(burst=True, logging_level="WARNING")
        if not relayed and not worked:
            return


def run_rows(tessera) -> list[dict]:
    """Every run, oldest first."""
    import sqlalchemy as sa

    from tessera.automation import tables

    with tessera.engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(sa.select(tables.runs).order_by(tables.runs.c.id)).mappings()
        ]


def rows(tessera, table) -> list[dict]:
    """Every row of ``table`` in id order."""
    import sqlalchemy as sa

    with tessera.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
