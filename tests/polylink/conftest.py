"""Fixtures: the sales app (polymorphic links, naming series, link kanban) on each database."""

from __future__ import annotations

import pytest
from polylink_app import install


@pytest.fixture
def sales(flask_app):
    """The runtime objects with the sales app installed."""
    t = flask_app.extensions["tessera"]
    install(t)
    return t
