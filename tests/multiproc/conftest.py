"""Fixtures of the multi-process suite (helpers: multiproc_helpers.py, mp_site.py)."""

from __future__ import annotations

import os

import pytest
from mp_site import empty_database, unavailable


@pytest.fixture(scope="module")
def pg_url(request) -> str:
    """The session's scratch PostgreSQL database, emptied for this module."""
    if not os.environ.get("TESSERA_TEST_DATABASE_URL"):
        unavailable("TESSERA_TEST_DATABASE_URL not set: the multi-process tests need PostgreSQL")
    url = request.getfixturevalue("pg_server_url")
    empty_database(url)
    return url
