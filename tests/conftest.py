"""Shared fixtures: a database per test on SQLite and (when configured) PostgreSQL.

``TESSERA_TEST_DATABASE_URL`` names a PostgreSQL server database; the suite creates
its own scratch database there and resets it before each test. In CI (``CI=true``) a
configured server that cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tessera import db

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if PG_URL:
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A scratch PostgreSQL database for this test session (dropped at the end)."""
    if not PG_URL:
        pytest.skip("TESSERA_TEST_DATABASE_URL not set")
    admin = db.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"tessera_t_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        msg = f"PostgreSQL at {PG_URL} unreachable: {exc}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _reset_pg(url: str) -> None:
    engine = db.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(params=_backends())
def database_url(request, tmp_path) -> str:
    """A fresh, empty database URL: SQLite file in tmp_path, or the reset PostgreSQL db."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tessera.db'}"
    url = request.getfixturevalue("pg_server_url")
    _reset_pg(url)
    return url


@pytest.fixture
def engine(database_url) -> Iterator[sa.Engine]:
    """An engine on a fresh database with the system tables created."""
    from tessera.storage import events  # noqa: F401  (declares the log tables)
    from tessera.storage.system import init_db

    eng = db.create_engine(database_url)
    init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def flask_app(database_url, tmp_path):
    """A Tessera Flask app on a fresh database, embedded defaults otherwise."""
    from tessera import create_app

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "TESSERA_INSTANCE": str(tmp_path / "instance"),
            "SECRET_KEY": "test",
            "REDIS_URL": None,
            "TESTING": True,
            "API_TOKEN_CACHE_SECONDS": 0,
            "AUTOMATION_EMBEDDED": False,
        }
    )
    yield app
    app.extensions["tessera"].engine.dispose()


@pytest.fixture
def runner(flask_app):
    """Flask CLI runner bound to ``flask_app``."""
    return flask_app.test_cli_runner()


@pytest.fixture
def crm(flask_app):
    """The runtime objects of ``flask_app`` with the built-in CRM installed."""
    from tessera.meta import load_app
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    folder = REPO / "templates_builtin" / "crm"
    installer.install(t.engine, load_app(folder), (folder / "template.yaml").read_text())
    t.registry.reload()
    return t
