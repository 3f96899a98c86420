"""Happy paths of every record route, compared as whole JSON documents."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from api_helpers import NOW, NOW_JSON, counts

from tessera.storage.events import audit_log

BASE = "/api/v1/sales"


def _system(version: int = 1, user: int = 1) -> dict:
    return {
        "created_at": NOW_JSON,
        "updated_at": NOW_JSON,
        "created_by": user,
        "updated_by": user,
        "version": version,
    }


def _customer(id_: int, name: str, **values) -> dict:
    base = {
        "id": id_,
        "name": name,
        "email": None,
        "tier": "low",
        "spent": None,
        "visits": None,
        "vip": None,
        "since": None,
        "order_count": 0,
    }
    version = values.pop("version", 1)
    return {**base, **values, **_system(version)}


@pytest.fixture
def acme(api):
    body = {
        "name": "Acme",
        "email": "buy@acme.cn",
        "spent": 12.5,
        "visits": 3,
        "since": "2024-02-29",
    }
    resp = api.post(f"{BASE}/customer", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_create_returns_the_record_with_location_and_etag(api, acme):
    assert acme == _customer(
        1, "Acme", email="buy@acme.cn", spent="12.50", visits=3, since="2024-02-29"
    )
    again = api.get(f"{BASE}/customer/1")
    assert again.status_code == 200
    assert again.get_json() == acme
    assert again.headers["ETag"] == '"1"'


def test_create_location_header(api):
    resp = api.post(f"{BASE}/customer", json={"name": "Zed"})
    assert resp.headers["Location"] == f"{BASE}/customer/1"
    assert resp.headers["ETag"] == '"1"'


def test_create_with_link_and_lookup(api, acme):
    resp = api.post(
        f"{BASE}/order",
        json={"ref": "O-1", "customer": 1, "amount": "99", "placed_at": "2026-11-24T08:30:00Z"},
    )
    assert resp.status_code == 201
    assert resp.get_json() == {
        "id": 1,
        "ref": "O-1",
        "customer": 1,
        "amount": "99.00",
        "placed_at": "2026-11-24T08:30:00+00:00",
        "customer_tier": "low",
        **_system(),
    }


def test_patch_with_version_in_body_and_if_match(api, acme):
    resp = api.patch(f"{BASE}/customer/1", json={"visits": 4, "version": 1})
    assert resp.status_code == 200
    assert resp.get_json() == _customer(
        1, "Acme", email="buy@acme.cn", spent="12.50", visits=4, since="2024-02-29", version=2
    )
    assert resp.headers["ETag"] == '"2"'
    resp = api.patch(f"{BASE}/customer/1", json={"tier": "high"}, headers={"If-Match": '"2"'})
    assert resp.status_code == 200
    assert resp.get_json()["tier"] == "high" and resp.get_json()["version"] == 3
    unguarded = api.patch(f"{BASE}/customer/1", json={"vip": True})
    assert unguarded.get_json()["version"] == 4


def test_patch_without_changes_keeps_the_version(api, acme):
    resp = api.patch(f"{BASE}/customer/1", json={"visits": 3})
    assert resp.status_code == 200
    assert resp.get_json() == acme


def test_delete_then_gone(api, acme, tessera):
    resp = api.delete(f"{BASE}/customer/1", headers={"If-Match": '"1"'})
    assert resp.status_code == 204
    assert resp.get_data() == b""
    assert api.get(f"{BASE}/customer/1").status_code == 404
    assert counts(tessera.engine)["rt_sales_customer"] == 0


def test_delete_with_version_query(api, acme):
    assert api.delete(f"{BASE}/customer/1?version=1").status_code == 204


def test_bulk_create_all_rows(api, tessera):
    rows = [{"name": f"C{i}", "visits": i} for i in range(1, 6)]
    resp = api.post(f"{BASE}/customer/bulk", json=rows)
    assert resp.status_code == 201
    assert resp.get_json() == {"count": 5, "ids": [1, 2, 3, 4, 5]}
    wrapped = api.post(f"{BASE}/customer/bulk", json={"rows": [{"name": "C6"}]})
    assert wrapped.get_json() == {"count": 1, "ids": [6]}
    assert counts(tessera.engine) == {
        "rt_sales_customer": 6,
        "rt_sales_order": 0,
        "audit_log": 6,
        "outbox": 6,
    }


def test_bulk_rows_may_set_different_fields(api, tessera):
    rows = [{"name": "A", "visits": 1}, {"name": "B"}, {"name": "C", "tier": "high"}]
    resp = api.post(f"{BASE}/customer/bulk", json=rows)
    assert resp.status_code == 201, resp.get_json()
    listed = api.get(f"{BASE}/customer?fields=visits,tier").get_json()["data"]
    assert listed == [
        {"id": 1, "visits": 1, "tier": "low"},
        {"id": 2, "visits": None, "tier": "low"},
        {"id": 3, "visits": None, "tier": "high"},
    ]


def test_bulk_of_exactly_1000_rows(api, tessera):
    resp = api.post(f"{BASE}/customer/bulk", json=[{"name": f"C{i}"} for i in range(1000)])
    assert resp.status_code == 201
    assert resp.get_json()["count"] == 1000


def test_writes_are_audited_as_the_token(api, acme, token, tessera):
    with tessera.engine.connect() as conn:
        row = conn.execute(sa.select(audit_log)).mappings().one()
    assert (row["actor_kind"], row["actor_ref"], row["user_id"]) == ("api_token", str(token[0]), 1)


def test_history_lists_every_change(api, acme, tessera):
    tessera.records.clock = lambda: NOW + timedelta(hours=1)
    api.patch(f"{BASE}/customer/1", json={"visits": 4})
    resp = api.get(f"{BASE}/customer/1/history")
    assert resp.status_code == 200
    actor = {"kind": "api_token", "ref": "1", "user_id": 1}
    data = resp.get_json()["data"]
    assert data[1] == {
        "id": 2,
        "action": "update",
        "at": "2026-11-25T10:00:00+00:00",
        "actor": actor,
        "changes": {"visits": {"old": 3, "new": 4}},
    }
    assert data[0]["action"] == "create" and data[0]["at"] == NOW_JSON
    assert data[0]["changes"]["name"] == {"old": None, "new": "Acme"}


def test_history_as_of_a_moment(api, acme, tessera):
    tessera.records.clock = lambda: NOW + timedelta(hours=1)
    api.patch(f"{BASE}/customer/1", json={"visits": 4})
    moment = quote("2026-11-25T09:30:00+00:00")
    resp = api.get(f"{BASE}/customer/1/history?as_of={moment}")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["as_of"] == "2026-11-25T09:30:00+00:00" and body["exists"] is True
    assert body["values"]["visits"] == 3 and body["values"]["name"] == "Acme"
    later = api.get(f"{BASE}/customer/1/history?as_of=2026-11-25T11:00:00Z").get_json()
    assert later["values"]["visits"] == 4
    before = api.get(f"{BASE}/customer/1/history?as_of=2026-11-24").get_json()
    assert before == {
        "id": 1,
        "as_of": "2026-11-24T00:00:00+00:00",
        "exists": False,
        "values": None,
    }


def test_as_of_with_unencoded_plus_offset(api, acme):
    # "+08:00" sent unencoded arrives as " 08:00"; read it as the offset it was.
    resp = api.get(f"{BASE}/customer/1/history?as_of=2026-11-25T18:00:00+08:00")
    assert resp.status_code == 200
    assert resp.get_json()["as_of"] == "2026-11-25T10:00:00+00:00"


# -- lists --------------------------------------------------------------------------------
@pytest.fixture
def five(api):
    rows = [
        {"name": "Ann", "visits": 5, "tier": "high"},
        {"name": "Bob", "visits": 1},
        {"name": "Cid", "visits": 9, "tier": "high"},
        {"name": "Dee"},
        {"name": "Eve", "visits": 3},
    ]
    for row in rows:
        assert api.post(f"{BASE}/customer", json=row).status_code == 201


def _names(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [r["name"] for r in resp.get_json()["data"]]


def test_list_default_page(api, five):
    resp = api.get(f"{BASE}/customer")
    body = resp.get_json()
    assert body["next_cursor"] is None and body["next"] is None
    assert "total" not in body
    assert body["data"][1] == _customer(2, "Bob", visits=1)
    assert _names(resp) == ["Ann", "Bob", "Cid", "Dee", "Eve"]


def test_list_filter_sort_and_total(api, five):
    cond = json.dumps({"field": "tier", "op": "eq", "value": "high"})
    resp = api.get(f"{BASE}/customer?filter={quote(cond)}&sort=-visits&total=true")
    assert _names(resp) == ["Cid", "Ann"]
    body = resp.get_json()
    assert (body["total"], body["total_is_estimate"]) == (2, False)
    assert _names(api.get(f"{BASE}/customer?sort=visits,name")) == [
        "Bob",
        "Eve",
        "Ann",
        "Cid",
        "Dee",
    ]
    as_list = quote(json.dumps([{"field": "visits", "dir": "desc"}]))
    assert _names(api.get(f"{BASE}/customer?sort={as_list}")) == ["Cid", "Ann", "Eve", "Bob", "Dee"]


def test_list_cursor_pages_with_next_link(api, five):
    seen, url = [], f"{BASE}/customer?sort=-visits&limit=2"
    while url:
        resp = api.get(url)
        seen += _names(resp)
        url = resp.get_json()["next"]
        if url:
            assert "limit=2" in url and "sort=-visits" in url
    assert seen == ["Cid", "Ann", "Eve", "Bob", "Dee"]


def test_list_offset_search_fields(api, five):
    assert _names(api.get(f"{BASE}/customer?sort=name&offset=3")) == ["Dee", "Eve"]
    assert _names(api.get(f"{BASE}/customer?q=e")) == ["Dee", "Eve"]
    resp = api.get(f"{BASE}/customer?fields=name,visits&limit=1")
    assert resp.get_json()["data"] == [{"id": 1, "name": "Ann", "visits": 5}]
    both = api.get(f"{BASE}/customer?fields=name&fields=version&limit=1")
    assert both.get_json()["data"] == [{"id": 1, "name": "Ann", "version": 1}]


def test_list_expand_inlines_linked_records(api, acme):
    api.post(f"{BASE}/order", json={"ref": "O-1", "customer": 1})
    resp = api.get(f"{BASE}/order?expand=customer&fields=ref,customer")
    assert resp.status_code == 200
    [order] = resp.get_json()["data"]
    assert order == {
        "id": 1,
        "ref": "O-1",
        "customer": _customer(
            1,
            "Acme",
            email="buy@acme.cn",
            spent="12.50",
            visits=3,
            since="2024-02-29",
            order_count=1,
        ),
    }


# -- catalogue -----------------------------------------------------------------------------
def test_apps_lists_installed_apps_and_types(api):
    resp = api.get("/api/v1/apps")
    assert resp.status_code == 200
    [app] = resp.get_json()["data"]
    assert {k: app[k] for k in ("id", "version", "label")} == {
        "id": "sales",
        "version": "1.0.0",
        "label": {"en": "Sales", "zh-CN": "销售"},
    }
    customer = app["record_types"][0]
    assert customer["url"] == "/api/v1/sales/customer"
    assert customer["fields"][0] == {
        "key": "name",
        "type": "text",
        "label": {"en": "Name"},
        "required": True,
        "unique": False,
        "read_only": False,
    }
    assert [f["key"] for f in customer["fields"] if f["read_only"]] == ["order_count"]
    assert [rt["key"] for rt in app["record_types"]] == ["customer", "order"]
