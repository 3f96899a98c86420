"""A small app (accounts, customers) built by hand as Meta and tables, for the condition tests."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tessera import db
from tessera import fields as field_types
from tessera.meta.model import App, Field, RecordType, freeze

PG_URL = os.environ.get("TESSERA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CST = timezone(timedelta(hours=8))
#: 01:30 in Shanghai is still the day before in UTC: "today" must follow now's zone
NOW = datetime(2026, 3, 15, 1, 30, tzinfo=CST)
TIERS = ("high", "mid", "low")
TAGS = ("vip", "new", "churn", "重要")
REGIONS = ("north", "south")


def _f(key: str, type_: str, **options) -> Field:
    return Field(key=key, type=type_, label=freeze({"en": key}), options=freeze(options))


def _options(values) -> list[dict]:
    return [{"value": v} for v in values]


ACCOUNT = RecordType(
    key="account",
    label=freeze({"en": "Account"}),
    fields=(
        _f("name", "text"),
        _f("region", "select", options=_options(REGIONS)),
        _f("rank", "number"),
    ),
)
CUSTOMER = RecordType(
    key="customer",
    label=freeze({"en": "Customer"}),
    fields=(
        _f("name", "text", max_length=200),
        _f("nickname", "text"),
        _f("tier", "select", options=_options(TIERS)),
        _f("score", "number"),
        _f("limit", "number"),
        _f("spent", "currency", currency="CNY"),
        _f("tags", "multi_select", options=_options(TAGS)),
        _f("since", "date"),
        _f("renewal", "date"),
        _f("seen_at", "datetime"),
        _f("active", "boolean"),
        _f("owner", "user"),
        _f("account", "link", to="account"),
        _f("parent", "link", to="customer"),
        _f("account_region", "lookup", link="account", field="region"),
        _f("contacts", "link_many", to="account"),
    ),
)
APP = App(
    id="qt", version="1.0.0", label=freeze({"en": "Query test"}), record_types=(ACCOUNT, CUSTOMER)
)


def build_tables(prefix: str) -> tuple[sa.MetaData, dict[str, sa.Table]]:
    """Tables like storage builds them: id PK, a column per stored field, links as FKs."""
    metadata = sa.MetaData()
    tables: dict[str, sa.Table] = {}
    for rt in APP.record_types:  # account first: customer links to it
        columns = [sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)]
        columns += [
            sa.Column("created_at", sa.DateTime(timezone=True)),
            sa.Column("created_by", sa.Integer),
        ]
        for f in rt.fields:
            ft = field_types.for_field(f)
            if not ft.stored:
                continue
            args = [sa.ForeignKey(f"{prefix}{f.opt('to')}.id")] if f.type == "link" else []
            columns.append(sa.Column(f.key, ft.column_type(f), *args))
        tables[rt.key] = sa.Table(f"{prefix}{rt.key}", metadata, *columns)
    return metadata, tables


def backends() -> list:
    """sqlite always; postgresql when reachable (skipped otherwise)."""
    return [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql")]


def open_engine(backend: str, tmp_dir) -> sa.Engine:
    """An engine for ``backend``; skips the test when PostgreSQL is not reachable."""
    if backend == "sqlite":
        return db.create_engine(f"sqlite:///{tmp_dir}/conditions.db")
    engine = db.create_engine(PG_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    return engine


def unique_prefix() -> str:
    """A table-name prefix no parallel test run shares."""
    return f"tq_{uuid.uuid4().hex[:8]}_"


def utc(*args) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)
