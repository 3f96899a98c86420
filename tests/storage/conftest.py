"""Storage fixtures: a fresh database per test on SQLite and PostgreSQL, and a small app.

PostgreSQL is ``TESSERA_TEST_DATABASE_URL`` or the local server; the session creates
its own ``tessera_storage_<random>`` database there (dropped at the end) and resets its
schema before each test. Unreachable PostgreSQL skips, except in CI where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tessera import db
from tessera.storage.system import init_db

PG_URL = os.environ.get("TESSERA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def storage_pg_url() -> Iterator[str]:
    """A scratch PostgreSQL database for this session's storage tests."""
    admin = db.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"tessera_storage_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} unreachable: {exc}")
    yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _reset(url: str) -> None:
    engine = db.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path) -> str:
    """An empty database: a SQLite file in tmp_path, or the reset PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storage.db'}"
    url = request.getfixturevalue("storage_pg_url")
    _reset(url)
    return url


@pytest.fixture
def eng(storage_url) -> Iterator[sa.Engine]:
    """An engine on an empty database with the system tables created."""
    engine = db.create_engine(storage_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def other_eng(tmp_path, storage_url) -> Iterator[sa.Engine]:
    """A second empty database of the same kind (for export -> reinstall)."""
    if storage_url.startswith("sqlite"):
        engine = db.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    else:
        engine = db.create_engine(storage_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE SCHEMA other")
        engine.dispose()
        engine = db.create_engine(storage_url, connect_args={"options": "-c search_path=other"})
    init_db(engine)
    yield engine
    engine.dispose()
