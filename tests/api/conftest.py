"""Fixtures: the sales app installed, a user with an API token, clients with and without it.

The records service's clock is pinned so whole responses can be compared as dicts.
"""

from __future__ import annotations

import pytest
import yaml
from api_helpers import NOW, SALES, Api


@pytest.fixture
def tessera(flask_app):
    """The runtime with the sales app installed and the records clock pinned to NOW."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(yaml.safe_load(SALES)), SALES)
    t.registry.reload()
    t.records.clock = lambda: NOW
    return t


@pytest.fixture
def user_id(tessera):
    """An ordinary user who owns the API token."""
    from tessera import users

    return users.create_user(tessera.engine, "ann", "password123", display_name="Ann Lee")


@pytest.fixture
def token(tessera, user_id):
    """(token id, plain token) of ann's API token."""
    from tessera import tokens

    return tokens.create_token(tessera.engine, user_id, "tests")


@pytest.fixture
def api(flask_app, tessera, token):
    """An authenticated API client."""
    return Api(flask_app.test_client(), token[1])


@pytest.fixture
def anon(flask_app, tessera):
    """A client without credentials."""
    return Api(flask_app.test_client(), None)
