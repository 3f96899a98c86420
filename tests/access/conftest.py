"""Fixtures: the CRM with a sales organisation (see access_world), and clients per person."""

from __future__ import annotations

import pytest
from access_world import build


@pytest.fixture
def t(flask_app):
    """The engine objects (records, queries, registry)."""
    return flask_app.extensions["tessera"]


@pytest.fixture
def world(t) -> dict:
    """Names of people and records -> ids, after building the organisation."""
    return build(t)
