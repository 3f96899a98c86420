"""The per-process principal cache: a change made through one app instance (process)
takes effect on the very next request of another one on the same database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from access_world import login, names

from tessera import create_app
from tessera.access import people, sharing
from tessera.access.principal import access_version, bump_access_version, principal_cache
from tessera.access.tables import teams, user_roles
from tessera.errors import Forbidden
from tessera.query.policy import principal


@pytest.fixture
def other(flask_app, database_url, tmp_path, world):
    """A second app instance on the same database: its own engine, so its own cache."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "TESSERA_INSTANCE": str(tmp_path / "other"),
            "SECRET_KEY": "test",
            "REDIS_URL": None,
            "TESTING": True,
            "API_TOKEN_CACHE_SECONDS": 0,
            "AUTOMATION_EMBEDDED": False,
        }
    )
    yield app
    app.extensions["tessera"].engine.dispose()


def _customers(app, user_id) -> set[str]:
    try:
        return names(
            app.extensions["tessera"].queries.list("crm", "customer", user_id=user_id).rows
        )
    except Forbidden:
        return set()


def _team(t, name: str) -> int:
    with t.engine.connect() as conn:
        return conn.scalar(sa.select(teams.c.id).where(teams.c.name == name))


def test_a_revoked_role_takes_effect_on_the_next_request_of_another_process(
    flask_app, t, world, other
):
    rep1 = world["rep1"]
    client = login(other.test_client(), "rep1")
    assert client.get("/a/crm/r/customer").status_code == 200  # warms other's cache
    assert _customers(other, rep1) == {"c1", "c4"}
    assert principal(other.extensions["tessera"].engine, rep1).roles_in("crm")

    people.set_roles(t.engine, rep1, [], by=world["admin"], only_apps=["crm"])

    assert client.get("/a/crm/r/customer").status_code == 403
    assert _customers(other, rep1) == set()
    r = client.get("/api/v1/crm/customer")
    assert r.status_code in (403, 404) or r.get_json()["data"] == []


def test_a_removed_share_takes_effect_on_the_next_request_of_another_process(
    flask_app, t, world, other
):
    rep1, c2 = world["rep1"], world["c2"]
    assert _customers(other, rep1) == {"c1", "c4"}
    sharing.share(t, "crm", "customer", c2, user_id=rep1, level="read", by=world["admin"])
    assert _customers(other, rep1) == {"c1", "c2", "c4"}
    assert sharing.unshare(t, "crm", "customer", c2, user_id=rep1, by=world["admin"])
    assert _customers(other, rep1) == {"c1", "c4"}


def test_team_membership_and_deactivation_reach_another_process(flask_app, t, world, other):
    mgr = world["mgr"]
    before = _customers(other, mgr)
    assert {"c1", "c2"} <= before
    people.set_members(t.engine, _team(t, "east_north"), [], by=world["admin"])
    assert _customers(other, mgr) == before - {"c2"}
    people.set_active(t.engine, mgr, False, by=world["admin"])
    assert _customers(other, mgr) == set()


def test_an_unchanged_principal_is_served_from_the_cache(t, world):
    first = principal(t.engine, world["rep1"])
    assert principal(t.engine, world["rep1"]) is first
    with t.engine.begin() as conn:
        bump_access_version(conn)
    again = principal(t.engine, world["rep1"])
    assert again is not first and again == first


def test_a_rolled_back_change_is_never_cached(t, world):
    rep3 = world["rep3"]
    assert _customers_t(t, rep3) == {"c3", "c4"}
    with t.engine.connect() as conn:
        tx = conn.begin()
        version = bump_access_version(conn)
        conn.execute(user_roles.delete().where(user_roles.c.user_id == rep3))
        assert not principal(conn, rep3).roles_in("crm")  # the transaction sees its change
        tx.rollback()
    with t.engine.begin() as conn:  # an unrelated change reaches the same version number
        assert bump_access_version(conn) == version
    assert principal(t.engine, rep3).roles_in("crm") == {"sales_rep"}
    assert _customers_t(t, rep3) == {"c3", "c4"}


def test_in_memory_sqlite_is_not_cached():
    assert principal_cache(sa.create_engine("sqlite://")) is None


def test_the_version_counts_changes(t, world):
    with t.engine.connect() as conn:
        before = access_version(conn)
    people.set_roles(t.engine, world["rep2"], [], by=world["admin"], only_apps=["crm"])
    with t.engine.connect() as conn:
        assert access_version(conn) == before + 1


def _customers_t(t, user_id) -> set[str]:
    return names(t.queries.list("crm", "customer", user_id=user_id).rows)
