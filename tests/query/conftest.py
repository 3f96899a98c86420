"""Fixtures for the condition tests: the hand-built app's tables on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from query_app import backends, build_tables, open_engine, unique_prefix


@pytest.fixture(scope="module", params=backends())
def qdb(request, tmp_path_factory) -> Iterator[tuple[sa.Engine, dict[str, sa.Table]]]:
    """(engine, tables) with this module's own uniquely named, empty tables; dropped after."""
    engine = open_engine(request.param, tmp_path_factory.mktemp("q"))
    metadata, tables = build_tables(unique_prefix())
    metadata.create_all(engine)
    try:
        yield engine, tables
    finally:
        metadata.drop_all(engine)
        engine.dispose()
