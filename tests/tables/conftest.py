"""A small shop app (products, orders with a table of lines) installed per test."""

from __future__ import annotations

import pytest
from tables_helpers import SHOP, shop_data


@pytest.fixture
def tessera(flask_app):
    """The runtime object of an app with the shop template installed."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(shop_data()), SHOP)
    t.registry.reload()
    return t


@pytest.fixture
def records(tessera):
    """The records service of that app."""
    return tessera.records


@pytest.fixture
def products(records) -> list[int]:
    """Two products: pen (CNY 2.50) and book (CNY 30)."""
    return [
        records.create("shop", "product", {"name": "pen", "price": "2.50"})["id"],
        records.create("shop", "product", {"name": "book", "price": "30"})["id"],
    ]
