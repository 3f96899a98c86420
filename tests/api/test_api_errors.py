"""Every class of bad input: right status, the one error shape, and nothing written."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from api_helpers import assert_error, counts

BASE = "/api/v1/sales"


@pytest.fixture
def acme(api):
    resp = api.post(f"{BASE}/customer", json={"name": "Acme", "email": "buy@acme.cn"})
    assert resp.status_code == 201
    return resp.get_json()


@pytest.fixture
def before(tessera, acme):
    """Row counts after the fixture data; a refused request must leave them unchanged."""
    return counts(tessera.engine)


def _raw(api, method, url, data, content_type="application/json"):
    return getattr(api.client, method)(
        url, data=data, headers={**api._headers(None), "Content-Type": content_type}
    )


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", f"{BASE}/customer"),
        ("patch", f"{BASE}/customer/1"),
        ("post", f"{BASE}/customer/bulk"),
    ],
)
@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ('{"name": ', "malformed JSON"),
        ("{'name': 'x'}", "malformed JSON"),
        ('{"name": NaN}', "malformed JSON"),
        (b'{"name": "\xff"}', "malformed JSON"),
        ("", "empty"),
    ],
)
def test_malformed_json_is_400(api, tessera, before, method, url, data, fragment):
    resp = _raw(api, method, url, data)
    error = assert_error(resp, 400, "bad_request")
    assert fragment in error["message"] and list(error["fields"]) == ["body"]
    assert counts(tessera.engine) == before


def test_deeply_nested_json_is_400(api, tessera, before):
    resp = _raw(api, "post", f"{BASE}/customer", "[" * 100_000 + "]" * 100_000)
    assert_error(resp, 400, "bad_request")
    assert counts(tessera.engine) == before


@pytest.mark.parametrize("body", [[], ["x"], "Acme", 3, None, True])
def test_non_object_body_is_400(api, tessera, before, body):
    for method, url in (("post", f"{BASE}/customer"), ("patch", f"{BASE}/customer/1")):
        resp = _raw(api, method, url, json.dumps(body))
        error = assert_error(resp, 400, "bad_request")
        assert "JSON object" in error["message"] and list(error["fields"]) == ["body"]
    assert counts(tessera.engine) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_body_that_is_not_json_is_415(api, tessera, before, content_type):
    resp = _raw(api, "post", f"{BASE}/customer", "name=Acme", content_type)
    error = assert_error(
        resp, 415, "unsupported_media_type", {"Content-Type": ["must be application/json"]}
    )
    assert "application/json" in error["message"]
    assert counts(tessera.engine) == before


def test_body_over_the_limit_is_413(flask_app, api, tessera, before):
    flask_app.config["MAX_CONTENT_LENGTH"] = 1000
    resp = api.post(f"{BASE}/customer", json={"name": "x" * 2000})
    error = assert_error(resp, 413, "payload_too_large")
    assert "1000 bytes" in error["message"]
    bulk = api.post(f"{BASE}/customer/bulk", json=[{"name": "x"}] * 500)
    assert_error(bulk, 413, "payload_too_large")
    assert counts(tessera.engine) == before


def test_unknown_field_and_bad_values_are_422_per_field(api, tessera, before):
    resp = api.post(
        f"{BASE}/customer",
        json={"nmae": "x", "email": "not-an-email", "spent": -1, "tier": "gold", "visits": "lots"},
    )
    error = assert_error(resp, 422, "validation_failed")
    assert set(error["fields"]) == {"nmae", "name", "email", "spent", "tier", "visits"}
    assert error["fields"]["nmae"] == ["unknown field"]
    assert error["fields"]["name"] == ["required"]
    assert counts(tessera.engine) == before


def test_system_and_computed_fields_cannot_be_written(api, tessera, before):
    resp = api.patch(f"{BASE}/customer/1", json={"id": 9, "order_count": 3, "created_at": "x"})
    error = assert_error(resp, 422, "validation_failed")
    assert set(error["fields"]) == {"id", "order_count", "created_at"}
    assert counts(tessera.engine) == before


def test_patch_bad_value_changes_nothing(api, tessera, acme, before):
    resp = api.patch(f"{BASE}/customer/1", json={"name": "Better", "visits": -5})
    error = assert_error(resp, 422, "validation_failed")
    assert list(error["fields"]) == ["visits"]
    assert api.get(f"{BASE}/customer/1").get_json() == acme
    assert counts(tessera.engine) == before


def test_unique_clash_is_422(api, tessera, before):
    resp = api.post(f"{BASE}/customer", json={"name": "Other", "email": "buy@acme.cn"})
    error = assert_error(resp, 422, "validation_failed")
    assert "already used" in error["fields"]["email"][0]
    assert counts(tessera.engine) == before


def test_record_validation_rule_is_422(api, tessera, before):
    resp = api.post(f"{BASE}/order", json={"ref": "O-9", "customer": 1, "amount": 200000})
    assert_error(resp, 422, "validation_failed", {"amount": ["amount must stay under 100000"]})
    assert counts(tessera.engine) == before


def test_bad_link_is_422(api, tessera, before):
    resp = api.post(f"{BASE}/order", json={"ref": "O-9", "customer": 99})
    assert_error(resp, 422, "validation_failed", {"customer": ["no Customer with id 99"]})
    assert counts(tessera.engine) == before


def test_bulk_is_all_or_nothing_with_row_errors(api, tessera, before):
    rows = [{"name": "ok"}, {"name": ""}, {"name": "fine"}, {"visits": "x", "name": "y"}]
    resp = api.post(f"{BASE}/customer/bulk", json=rows)
    error = assert_error(resp, 422, "validation_failed")
    assert set(error["rows"]) == {"1", "3"}
    assert error["fields"] == {"rows[1].name": ["required"], "rows[3].visits": ["not a number"]}
    assert counts(tessera.engine) == before


@pytest.mark.parametrize("n", [0, 1001])
def test_bulk_size_limits_are_400(api, tessera, before, n):
    resp = api.post(f"{BASE}/customer/bulk", json=[{"name": "x"}] * n)
    error = assert_error(resp, 400, "bad_request")
    assert "1 to 1000 rows" in error["message"]
    assert counts(tessera.engine) == before


def test_bulk_body_not_array_is_400(api, tessera, before):
    resp = api.post(f"{BASE}/customer/bulk", json={"name": "x"})
    assert_error(resp, 400, "bad_request", {"body": ["expected an array, got an object"]})
    resp = api.post(f"{BASE}/customer/bulk", json=["x", 3])
    error = assert_error(resp, 422, "validation_failed")
    assert set(error["rows"]) == {"0", "1"}
    assert counts(tessera.engine) == before


# -- lists ------------------------------------------------------------------------------
def test_bad_filter_names_the_path(api):
    cond = {"all": [{"field": "tier", "op": "eq", "value": "high"}, {"field": "name", "op": "zz"}]}
    resp = api.get(f"{BASE}/customer?filter={quote(json.dumps(cond))}")
    error = assert_error(resp, 400, "bad_request")
    assert list(error["fields"]) == ["filter.all[1].op"]
    unknown = {"field": "nope", "op": "eq", "value": 1}
    resp = api.get(f"{BASE}/customer?filter={quote(json.dumps(unknown))}")
    error = assert_error(resp, 400, "bad_request")
    assert any(path.startswith("filter") for path in error["fields"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [("{nope", "malformed JSON"), ("[1, 2]", "expected a condition object"), ('"x"', "expected")],
)
def test_filter_that_is_not_a_condition_object(api, text, problem):
    resp = api.get(f"{BASE}/customer?filter={quote(text)}")
    error = assert_error(resp, 400, "bad_request")
    assert list(error["fields"]) == ["filter"] and problem in error["fields"]["filter"][0]


@pytest.mark.parametrize("sort", ["nope", "-name,bogus", "-", '[{"field": 3}]', "[1"])
def test_bad_sort_is_400(api, sort):
    resp = api.get(f"{BASE}/customer?sort={quote(sort)}")
    error = assert_error(resp, 400, "bad_request")
    assert any(path.startswith("sort") for path in error["fields"]), error


@pytest.mark.parametrize("cursor", ["garbage", "WzEsMl0=", "!!!", "eyJ4IjogMX0="])
def test_bad_cursor_is_400(api, cursor):
    error = assert_error(api.get(f"{BASE}/customer?cursor={cursor}"), 400, "bad_request")
    assert list(error["fields"]) == ["cursor"]


@pytest.mark.parametrize("limit", ["0", "501", "x", "-1", "1.5", "99999999999999999999"])
def test_bad_limit_is_400(api, limit):
    error = assert_error(api.get(f"{BASE}/customer?limit={limit}"), 400, "bad_request")
    assert list(error["fields"]) == ["limit"] and "1 to 500" in error["message"]


@pytest.mark.parametrize("offset", ["-1", "x", "1000000001"])
def test_bad_offset_is_400(api, offset):
    error = assert_error(api.get(f"{BASE}/customer?offset={offset}"), 400, "bad_request")
    assert list(error["fields"]) == ["offset"]


def test_cursor_and_offset_together_unknown_and_repeated_params(api):
    error = assert_error(api.get(f"{BASE}/customer?cursor=abc&offset=2"), 400, "bad_request")
    assert list(error["fields"]) == ["offset"]
    error = assert_error(api.get(f"{BASE}/customer?filtr=x"), 400, "bad_request")
    assert error["fields"] == {"filtr": ["unknown query parameter"]}
    error = assert_error(api.get(f"{BASE}/customer?limit=1&limit=2"), 400, "bad_request")
    assert list(error["fields"]) == ["limit"]
    error = assert_error(api.get(f"{BASE}/customer?total=maybe"), 400, "bad_request")
    assert list(error["fields"]) == ["total"]


def test_bad_fields_and_expand(api):
    error = assert_error(api.get(f"{BASE}/customer?fields=name,nope"), 400, "bad_request")
    assert list(error["fields"]) == ["fields"]
    error = assert_error(api.get(f"{BASE}/order?expand=ref"), 400, "bad_request")
    assert list(error["fields"]) == ["expand"]


# -- not found, method not allowed --------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/nope/customer",
        f"{BASE}/nope",
        f"{BASE}/customer/999",
        f"{BASE}/customer/abc",
        f"{BASE}/customer/0",
        f"{BASE}/customer/-1",
        f"{BASE}/customer/99999999999999999999999",
        f"{BASE}/customer/999/history",
        "/api/v1/a/b/c/d/e",
        "/api/v1",
    ],
)
def test_unknown_app_type_id_or_route_is_404(api, url):
    error = assert_error(api.get(url), 404, "not_found")
    assert error["fields"] == {}


def test_unknown_record_on_write_is_404(api, tessera, before):
    assert_error(api.patch(f"{BASE}/customer/999", json={"name": "x"}), 404, "not_found")
    assert_error(api.delete(f"{BASE}/customer/999"), 404, "not_found")
    assert_error(api.post("/api/v1/nope/customer", json={"name": "x"}), 404, "not_found")
    assert counts(tessera.engine) == before


def test_wrong_method_is_405_with_allow(api, tessera, before):
    resp = api.client.put(f"{BASE}/customer/1", headers=api._headers(None), json={})
    error = assert_error(resp, 405, "method_not_allowed")
    assert "PUT" in error["message"]
    assert {"GET", "PATCH", "DELETE"} <= set(resp.headers["Allow"].split(", "))
    resp = api.delete(f"{BASE}/customer")
    assert_error(resp, 405, "method_not_allowed")
    assert counts(tessera.engine) == before


# -- versions ------------------------------------------------------------------------------
def test_stale_version_is_409_with_who_and_when(api, tessera, acme):
    assert api.patch(f"{BASE}/customer/1", json={"visits": 1}).status_code == 200
    snapshot = counts(tessera.engine)
    resp = api.patch(f"{BASE}/customer/1", json={"visits": 2, "version": 1})
    error = assert_error(resp, 409, "conflict")
    assert "Ann Lee" in error["message"] and "version 2" in error["message"]
    assert error["details"]["version"] == 2 and error["details"]["updated_by"] == "Ann Lee"
    assert error["details"]["updated_at"].startswith("2026-11-25T09:00:00")
    resp = api.delete(f"{BASE}/customer/1", headers={"If-Match": '"1"'})
    assert_error(resp, 409, "conflict")
    assert counts(tessera.engine) == snapshot
    assert api.get(f"{BASE}/customer/1").get_json()["visits"] == 1


@pytest.mark.parametrize(
    ("body", "headers", "where"),
    [
        ({"version": "x"}, {}, "version"),
        ({"version": 0}, {}, "version"),
        ({"version": True}, {}, "version"),
        ({"version": 1.5}, {}, "version"),
        ({}, {"If-Match": "abc"}, "If-Match"),
        ({"version": 1}, {"If-Match": '"2"'}, "version"),
    ],
)
def test_bad_version_is_400(api, tessera, before, body, headers, where):
    resp = api.patch(f"{BASE}/customer/1", json={"name": "x", **body}, headers=headers)
    error = assert_error(resp, 400, "bad_request")
    assert where in error["fields"]
    assert counts(tessera.engine) == before


def test_delete_blocked_by_restrict_link_is_409(api, tessera, acme):
    api.post(f"{BASE}/order", json={"ref": "O-1", "customer": 1})
    snapshot = counts(tessera.engine)
    error = assert_error(api.delete(f"{BASE}/customer/1"), 409, "conflict")
    assert "Order records #1" in error["message"]
    assert counts(tessera.engine) == snapshot


def test_bad_as_of_is_400(api, acme):
    error = assert_error(api.get(f"{BASE}/customer/1/history?as_of=yesterday"), 400, "bad_request")
    assert list(error["fields"]) == ["as_of"]
    error = assert_error(api.get(f"{BASE}/customer/1/history?when=now"), 400, "bad_request")
    assert list(error["fields"]) == ["when"]


def test_filter_value_beyond_64_bits_is_not_a_500(api):
    cond = {"field": "visits", "op": "eq", "value": 10**30}
    resp = api.get(f"{BASE}/customer?filter={quote(json.dumps(cond))}")
    assert resp.status_code in (200, 400)
    if resp.status_code == 400:
        assert_error(resp, 400, "bad_request")


def test_huge_number_value_is_422_not_500(api, tessera, before):
    resp = api.post(f"{BASE}/customer", json={"name": "x", "visits": 10**30})
    assert_error(resp, 422, "validation_failed")
    assert counts(tessera.engine) == before
