"""Child tables through the REST API: rows read and written with the record in one request."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa


@pytest.fixture
def api(flask_app, tessera):
    """A client with a bearer token of an ordinary user."""
    from tessera import tokens, users

    uid = users.create_user(tessera.engine, "ann", "password123", display_name="Ann Lee")
    _id, plain = tokens.create_token(tessera.engine, uid, "tests")
    client = flask_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plain}"
    return client


def _count(tessera, table: str) -> int:
    with tessera.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_post_get_patch_round_trip(api, tessera, products):
    pen, book = products
    body = {"code": "B1", "items": [{"product": pen, "qty": 2, "price": "2.50"}]}
    resp = api.post("/api/v1/shop/order", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    created = resp.get_json()
    oid = created["id"]
    assert created["items"] == [{"product": pen, "qty": 2, "price": "2.50", "amount": "5.00"}]
    assert created["total"] == "5.00"
    rows = [{"product": book, "qty": 1, "price": "30"}, *created["items"]]  # send back + add
    resp = api.patch(f"/api/v1/shop/order/{oid}", json={"items": rows})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    got = api.get(f"/api/v1/shop/order/{oid}").get_json()
    assert [r["product"] for r in got["items"]] == [book, pen]
    assert (got["total"], got["line_count"]) == ("35.00", 2)


def test_bad_rows_get_422_per_cell_and_write_nothing(api, tessera, products):
    pen, _ = products
    before = _count(tessera, "rt_shop_order__items"), _count(tessera, "rt_shop_order")
    body = {"code": "B2", "items": [{"product": pen, "qty": 1}, {"qty": "many"}]}
    resp = api.post("/api/v1/shop/order", json=body)
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["fields"]
    assert set(fields) == {"items[1].product", "items[1].qty"}
    assert fields["items[1].product"] == ["required"]
    assert (_count(tessera, "rt_shop_order__items"), _count(tessera, "rt_shop_order")) == before
    resp = api.post("/api/v1/shop/order", json={"code": "B3", "items": {"product": pen}})
    assert resp.status_code == 422
    assert "list of rows" in resp.get_json()["error"]["fields"]["items"][0]


def test_filter_on_a_row_field_matches_records_with_any_such_row(api, products):
    pen, book = products
    for code, prods in (("C1", [pen]), ("C2", [book, pen]), ("C3", [book])):
        rows = [{"product": p, "qty": 1} for p in prods]
        assert api.post("/api/v1/shop/order", json={"code": code, "items": rows}).status_code == 201
    flt = json.dumps({"field": "items.product", "op": "eq", "value": pen})
    resp = api.get("/api/v1/shop/order", query_string={"filter": flt, "sort": "code"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert [r["code"] for r in resp.get_json()["data"]] == ["C1", "C2"]
    flt = '{"not": {"field": "items.product.name", "op": "eq", "value": "book"}}'
    resp = api.get("/api/v1/shop/order", query_string={"filter": flt})
    assert [r["code"] for r in resp.get_json()["data"]] == ["C1"]
    flt = '{"field": "items", "op": "is_not_empty"}'
    resp = api.get("/api/v1/shop/order", query_string={"filter": flt})
    assert len(resp.get_json()["data"]) == 3
    flt = '{"field": "items", "op": "eq", "value": 1}'
    resp = api.get("/api/v1/shop/order", query_string={"filter": flt})
    assert resp.status_code == 400
    assert "only is_empty, is_not_empty apply" in resp.get_data(as_text=True)


def test_openapi_describes_the_rows(api):
    doc = api.get("/api/v1/openapi.json").get_json()
    assert "/shop/order" in doc["paths"]
    assert not any("order__items" in path for path in doc["paths"])
    pytest.importorskip("openapi_spec_validator").validate(doc)
    schemas = json.dumps(doc["components"])
    assert '"qty"' in schemas and "writing replaces them all" in schemas
