"""Storage fixtures: the shared per-test databases (SQLite, and PostgreSQL when
``TESSERA_TEST_DATABASE_URL`` is set; see tests/conftest.py) under storage's names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tessera import db
from tessera.storage.system import init_db


@pytest.fixture
def storage_url(database_url) -> str:
    """An empty database URL."""
    return database_url


@pytest.fixture
def eng(engine) -> sa.Engine:
    """An engine on an empty database with the system tables created."""
    return engine


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
