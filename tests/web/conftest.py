"""Web UI fixtures: the built-in CRM installed, a signed-in test client, CSRF helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from web_helpers import PASSWORD, login

from tessera import users
from tessera.meta import load_app
from tessera.storage import installer

REPO = Path(__file__).resolve().parents[2]
CRM = REPO / "templates_builtin" / "crm"


@pytest.fixture
def web_app(flask_app):
    """The Flask app with the CRM installed and two users (alice admin, bob)."""
    t = flask_app.extensions["tessera"]
    installer.install(t.engine, load_app(CRM), (CRM / "template.yaml").read_text())
    t.registry.reload()
    users.create_user(t.engine, "alice", PASSWORD, is_admin=True, display_name="Alice Admin")
    users.create_user(t.engine, "bob", PASSWORD, display_name="Bob Sales")
    flask_app.config["PUBLIC_FORM_LIMIT"] = 3
    return flask_app


@pytest.fixture
def tessera(web_app):
    """The engine objects (records, queries, registry)."""
    return web_app.extensions["tessera"]


@pytest.fixture
def anon(web_app):
    """A client nobody signed in with."""
    return web_app.test_client()


@pytest.fixture
def client(web_app):
    """A client signed in as alice."""
    c = web_app.test_client()
    login(c, "alice")
    return c
