"""Helpers and fixtures of the CRM template suite: the built-in CRM, automation by hand."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
CRM = REPO / "templates_builtin" / "crm"
T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # a Monday


class Clock:
    """A settable clock for the records service (and so the automation engine)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def crm_app(database_url, tmp_path):
    """The CRM installed, automation configured without threads, the clock at T0."""
    from tessera import create_app
    from tessera.meta import load_app
    from tessera.storage import installer

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "TESSERA_INSTANCE": str(tmp_path / "instance"),
            "SECRET_KEY": "test",
            "REDIS_URL": None,
            "TESTING": True,
            "AUTOMATION_EMBEDDED": False,
            "AUTOMATION_RETRIES": 0,
            "PUBLIC_BASE_URL": "https://crm.example.com",
        }
    )
    t = app.extensions["tessera"]
    t.records.clock = Clock(T0)
    installer.install(t.engine, load_app(CRM), (CRM / "template.yaml").read_text())
    t.registry.reload()
    yield app
    t.engine.dispose()


def grant(t, name: str, role: str) -> int:
    """A user holding the CRM role ``role``."""
    from tessera.access.principal import bump_access_version
    from tessera.access.tables import user_roles
    from tessera.users import create_user

    uid = create_user(t.engine, name, "password123", email=f"{name}@example.com")
    with t.engine.begin() as conn:
        conn.execute(user_roles.insert().values(user_id=uid, app_id="crm", role=role))
        bump_access_version(conn)
    return uid


def drain(t, rounds: int = 60) -> None:
    """Relay events and run jobs in this thread until nothing is left."""
    auto = t.automation
    for _ in range(rounds):
        relayed = auto.relay_once()
        auto._move_scheduled()
        worked = auto.make_worker().work(burst=True, logging_level="WARNING")
        if not relayed and not worked:
            return


def failed_runs(t) -> list[dict]:
    """Runs that did not finish, with their error (empty when automation is healthy)."""
    from tessera.automation import tables

    with t.engine.connect() as conn:
        rows = conn.execute(
            sa.select(tables.runs).where(tables.runs.c.status.notin_(("done", "skipped")))
        ).mappings()
        return [dict(r) for r in rows]


def csrf(client, path: str) -> str:
    """The CSRF token of the client's session (from a page's meta tag)."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
