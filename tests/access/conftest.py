"""Fixtures: the CRM with a sales organisation (see access_world), and clients per person."""

from __future__ import annotations

import pytest
from access_world import PASSWORD, build


@pytest.fixture
def t(flask_app):
    """The engine objects (records, queries, registry)."""
    return flask_app.extensions["tessera"]


@pytest.fixture
def world(t) -> dict:
    """Names of people and records -> ids, after building the organisation."""
    return build(t)


def login(client, username: str):
    """Sign a test client in through the form."""
    import re

    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "_csrf": token})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:500]
    return client
