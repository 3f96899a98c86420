"""Table-UI fixtures: the events app installed, alice (admin) and bob signed in."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))  # web_helpers

from tableui_app import install  # noqa: E402
from web_helpers import PASSWORD, login  # noqa: E402

from tessera import users  # noqa: E402


@pytest.fixture
def web_app(flask_app):
    """The Flask app with the events app installed and two users (alice admin, bob)."""
    t = flask_app.extensions["tessera"]
    install(t)
    users.create_user(t.engine, "alice", PASSWORD, is_admin=True, display_name="Alice Admin")
    users.create_user(t.engine, "bob", PASSWORD, display_name="Bob Sales")
    return flask_app


@pytest.fixture
def tessera(web_app):
    """The engine objects (records, queries, registry)."""
    return web_app.extensions["tessera"]


@pytest.fixture
def client(web_app):
    """A client signed in as alice."""
    c = web_app.test_client()
    login(c, "alice")
    return c


@pytest.fixture
def party(tessera):
    """An event with two hosts, two agenda rows, three registrations, a payment, a note."""
    r = tessera.records
    ann = r.create("events", "person", {"name": "Ann"})
    ben = r.create("events", "person", {"name": "Ben"})
    ev = r.create(
        "events",
        "event",
        {
            "name": "Gala",
            "hosts": [ann["id"], ben["id"]],
            "agenda": [{"topic": "Hi"}, {"topic": "Bye"}],
        },
    )
    regs = [
        r.create(
            "events",
            "registration",
            {"guest": g, "event": ev["id"], "kind": k, "seats": s, "fee": f},
        )
        for g, k, s, f in [
            ("Wang", "adult", 2, "100.50"),
            ("Li", "child", 1, "20"),
            ("Zhao", "adult", 3, "300"),
        ]
    ]
    r.create("events", "payment", {"registration": regs[0]["id"]})
    r.create("events", "note", {"body": "bring chairs", "event": ev["id"]})
    return {"event": ev, "regs": regs, "ann": ann, "ben": ben}
