"""Charts, dashboards and the 360° page: a sales app with deals spread over quarters."""

from __future__ import annotations

import pytest
import yaml
from charts_helpers import NOW, PASSWORD, SALES, sign_in

from tessera import users


@pytest.fixture
def sales(flask_app):
    """The runtime with the sales app installed, users ann (admin) and ben, a fixed clock."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(yaml.safe_load(SALES)), SALES)
    t.registry.reload()
    t.queries.clock = lambda: NOW
    ann = users.create_user(t.engine, "ann", PASSWORD, is_admin=True, display_name="Ann")
    ben = users.create_user(t.engine, "ben", PASSWORD, display_name="Ben")
    t.users = {"ann": _id(ann), "ben": _id(ben)}
    return t


def _id(user):
    return user["id"] if isinstance(user, dict) else user


#: (name, stage, amount, owner, closed_on, closed_at) — March/April and quarter edges
DEALS = [
    ("Alpha", "won", "1000.00", "ann", "2026-03-31", "2026-03-31T23:30:00+00:00"),
    ("Beta", "won", "250.50", "ben", "2026-04-01", "2026-04-01T00:15:00+00:00"),
    ("Gamma", "won", "300.00", "ann", "2026-04-10", "2026-06-30T23:59:00+00:00"),
    ("Delta", "lost", "80.00", "ben", "2026-01-02", "2026-07-01T00:00:00+00:00"),
    ("Eps", "proposal", "500.00", "ann", None, None),
    ("Zeta", "lead", "120.00", "ann", None, None),
    ("Eta", "lead", None, None, None, None),
    ("Theta", "won", "400.00", "ben", "2026-03-15", "2025-12-31T23:59:59+00:00"),
]


@pytest.fixture
def deals(sales):
    """Deals of two customers; ann and ben own some."""
    r = sales.records
    acme = r.create("sales", "customer", {"name": "Acme", "owner": sales.users["ann"]})
    bolt = r.create("sales", "customer", {"name": "Bolt"})
    made = {}
    for i, (name, stage, amount, owner, on, at) in enumerate(DEALS):
        made[name] = r.create(
            "sales",
            "deal",
            {
                "name": name,
                "stage": stage,
                "amount": amount,
                "owner": sales.users[owner] if owner else None,
                "closed_on": on,
                "closed_at": at,
                "customer": (acme if i % 2 == 0 else bolt)["id"],
            },
        )
    made["acme"], made["bolt"] = acme, bolt
    return made


@pytest.fixture
def client(flask_app, sales):
    """A client signed in as ann."""
    c = flask_app.test_client()
    sign_in(c, "ann")
    return c


@pytest.fixture
def web_free_client(flask_app):
    """A signed-in client of an instance whose only app declares no home dashboard."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    plain = SALES.replace("home: my_day\n", "").replace("id: sales", "id: plain")
    installer.install(t.engine, app_from_data(yaml.safe_load(plain)), plain)
    t.registry.reload()
    users.create_user(t.engine, "ann", PASSWORD, is_admin=True, display_name="Ann")
    c = flask_app.test_client()
    sign_in(c, "ann")
    return c
