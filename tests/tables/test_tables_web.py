"""The grid of a table field in the record form, and its rows on the record page (HTML)."""

from __future__ import annotations

import re

import pytest

PASSWORD = "correct-horse-1"


@pytest.fixture
def client(flask_app, tessera):
    """A client signed in as an admin, with the shop app installed."""
    from tessera import users

    users.create_user(tessera.engine, "alice", PASSWORD, is_admin=True, display_name="Alice")
    c = flask_app.test_client()
    c.post("/login", data={"username": "alice", "password": PASSWORD, "_csrf": _csrf(c)})
    return c


def _csrf(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _post(client, path, data):
    return client.post(path, data={**data, "_csrf": _csrf(client, "/")})


def test_new_form_shows_a_grid_with_link_choices_and_a_spare_row(client, products):
    html = client.get("/a/shop/r/order/new").get_data(as_text=True)
    assert 'data-rows="items"' in html and 'name="items-rows"' in html
    assert 'name="items-0-product"' in html and 'name="items-0-qty"' in html
    assert "pen</option>" in html and "book</option>" in html
    assert 'name="items-0-amount"' not in html  # formulas are shown, never posted
    assert "rows.js" in html


def test_posting_rows_in_index_order_saves_them_and_shows_them(client, records, products):
    pen, book = products
    form = {
        "code": "W1",
        "items-rows": "1",
        "items-3-product": str(pen), "items-3-qty": "2", "items-3-price": "2.5",
        "items-1-product": str(book), "items-1-qty": "1", "items-1-price": "30",
        "items-7-product": "", "items-7-qty": "", "items-7-price": "",  # blank: dropped
    }  # fmt: skip
    resp = _post(client, "/a/shop/r/order/new", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    oid = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    got = records.get("shop", "order", oid)
    assert [(r["product"], r["qty"]) for r in got["items"]] == [(book, 1), (pen, 2)]
    page = client.get(f"/a/shop/r/order/{oid}").get_data(as_text=True)
    table = page[page.index('class="rows-view"') :]
    table = table[: table.index("</table>")]
    assert table.index(">book<") < table.index(">pen<")
    assert "35.00" in page  # the total


def test_bad_cells_are_marked_in_their_row_and_nothing_is_saved(client, records, products):
    pen, _ = products
    form = {
        "code": "W2",
        "items-rows": "1",
        "items-0-product": str(pen), "items-0-qty": "1",
        "items-1-product": "", "items-1-qty": "0",
    }  # fmt: skip
    resp = _post(client, "/a/shop/r/order/new", form)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    row = html[html.index('name="items-1-product"') - 600 : html.index('name="items-2-product"')]
    assert "required" in row and "at least 1" in row
    assert 'name="items-1-qty"' in html and 'value="0"' in html  # the input is kept
    from tessera.errors import NotFound

    with pytest.raises(NotFound):
        records.get("shop", "order", 1)


@pytest.fixture
def public_shop(flask_app):
    """The shop with a public order form (code and lines)."""
    from tables_helpers import shop_data

    from tessera.meta import app_from_data
    from tessera.storage import installer

    data = shop_data()
    data["forms"] = [
        {"key": "web_order", "record_type": "order", "public": True,
         "sections": [{"fields": ["code", "items"]}]}
    ]  # fmt: skip
    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(data), "text")
    t.registry.reload()
    return t


def test_public_form_takes_lines_with_ids_typed_in(flask_app, public_shop):
    pen = public_shop.records.create("shop", "product", {"name": "pen", "price": 2})["id"]
    client = flask_app.test_client()
    html = client.get("/f/shop/web_order").get_data(as_text=True)
    assert '<input type="text" value="" name="items-0-product"' in html  # no record list
    assert "rows.js" in html
    form = {"code": "P1", "items-rows": "1", "items-0-product": str(pen), "items-0-qty": "3"}
    resp = client.post(
        "/f/shop/web_order", data={**form, "_csrf": _csrf(client, "/f/shop/web_order")}
    )
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:1500]
    page = public_shop.queries.list("shop", "order")
    assert [r["code"] for r in page.rows] == ["P1"]
    assert public_shop.records.get("shop", "order", page.rows[0]["id"])["items"][0]["qty"] == 3
