"""Random JSON thrown at create, patch and list: never a 500, never a partial write."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from api_helpers import counts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = "/api/v1/sales"
FIELDS = ["name", "email", "tier", "spent", "visits", "vip", "since", "order_count", "nope", "id"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=60)
    | st.sampled_from(["high", "low", "a@b.cn", "2026-01-02", "12.50", "", "-1", "1e999"])
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), values, max_size=6)
anything = bodies | values
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check_write(resp, engine, before):
    assert resp.status_code < 500, resp.get_data(as_text=True)
    body = resp.get_json()
    if resp.status_code >= 400:
        assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
        assert counts(engine) == before
        return None
    return body


@FUZZ
@given(body=anything)
def test_create_never_500_nor_partial(api, tessera, body):
    before = counts(tessera.engine)
    made = _check_write(api.post(f"{BASE}/customer", json=body), tessera.engine, before)
    if made is not None:
        after = counts(tessera.engine)
        assert after["rt_sales_customer"] == before["rt_sales_customer"] + 1
        assert after["audit_log"] == before["audit_log"] + 1
        api.delete(f"{BASE}/customer/{made['id']}")


@FUZZ
@given(body=anything)
def test_patch_never_500_nor_partial(api, tessera, body):
    resp = api.post(f"{BASE}/customer", json={"name": "base"})
    rid = resp.get_json()["id"] if resp.status_code == 201 else 1
    before = counts(tessera.engine)
    record = api.get(f"{BASE}/customer/{rid}").get_json()
    changed = _check_write(api.patch(f"{BASE}/customer/{rid}", json=body), tessera.engine, before)
    if changed is None:
        assert api.get(f"{BASE}/customer/{rid}").get_json() == record


@FUZZ
@given(rows=st.lists(bodies, min_size=1, max_size=5))
def test_bulk_never_500_nor_partial(api, tessera, rows):
    before = counts(tessera.engine)
    made = _check_write(api.post(f"{BASE}/customer/bulk", json=rows), tessera.engine, before)
    if made is not None:
        assert counts(tessera.engine)["rt_sales_customer"] == before["rt_sales_customer"] + len(
            rows
        )


conditions = st.recursive(
    st.fixed_dictionaries(
        {
            "field": st.sampled_from(FIELDS[:8] + ["nope"]),
            "op": st.sampled_from(
                ["eq", "ne", "lt", "gte", "in", "contains", "between", "is_empty", "bogus"]
            ),
        },
        optional={"value": values},
    ),
    lambda inner: (
        st.dictionaries(
            st.sampled_from(["all", "any"]), st.lists(inner, max_size=3), min_size=1, max_size=1
        )
        | st.builds(lambda c: {"not": c}, inner)
    ),
    max_leaves=4,
)
params = st.fixed_dictionaries(
    {},
    optional={
        "filter": conditions.map(json.dumps) | st.text(max_size=20),
        "sort": st.sampled_from(["name", "-spent,name", "nope", "-", ",", '[{"field": "vip"}]'])
        | st.text(max_size=10),
        "limit": st.integers(-5, 600).map(str) | st.text(max_size=5),
        "offset": st.integers(-5, 10**12).map(str),
        "cursor": st.text(max_size=30),
        "q": st.text(max_size=20),
        "fields": st.sampled_from(["name", "name,nope", "", ",", "id,version"]),
        "expand": st.sampled_from(["", "name", "nope"]),
        "total": st.sampled_from(["true", "1", "no"]),
    },
)


@FUZZ
@given(query=params)
def test_list_never_500(api, query):
    resp = api.get(f"{BASE}/customer?{urlencode(query)}")
    assert resp.status_code in (200, 400), resp.get_data(as_text=True)
    body = resp.get_json()
    assert ("data" in body) if resp.status_code == 200 else set(body) == {"error"}
