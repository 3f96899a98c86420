"""The permission matrix through the REST API and the web pages, for every CRM role."""

from __future__ import annotations

import json
import re

import pytest
from access_world import (
    AMOUNTS,
    CREATES,
    EVERYTHING,
    HIDDEN,
    NOTE,
    PLAYS,
    READS,
    UPDATES,
    login,
    new_values,
)

from tessera import tokens

ROLES = sorted(READS)


def _api(flask_app, t, user_id: int):
    _id, token = tokens.create_token(t.engine, user_id, "matrix")
    client = flask_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, body=None, **params):
        return client.open(
            "/api/v1/crm/" + path, method=method, headers=headers, json=body, query_string=params
        )

    return call


@pytest.mark.parametrize("role", ROLES)
def test_api_reads_and_hidden_fields(flask_app, t, world, role):
    call = _api(flask_app, t, world[PLAYS[role]])
    for rt_key, everything in EVERYTHING.items():
        r = call("GET", rt_key, limit=100, total="true")
        assert r.status_code == 200
        body = r.get_json()
        got = {row.get("name") or row.get("subject") for row in body["data"]}
        assert got == READS[role][rt_key] and body["total"] == len(got)
        hidden = HIDDEN.get(role, {}).get(rt_key, set())
        for row in body["data"]:
            assert not hidden & set(row)
        for key in hidden:
            flt = json.dumps({"field": key, "op": "is_not_empty"})
            r = call("GET", rt_key, filter=flt)
            assert r.status_code == 400 and key in r.get_json()["error"]["message"]
            assert call("GET", rt_key, sort=key).status_code == 400
        for name in everything:
            r = call("GET", f"{rt_key}/{world[name]}")
            assert r.status_code == (200 if name in READS[role][rt_key] else 404)


@pytest.mark.parametrize("role", ROLES)
def test_api_writes(flask_app, t, world, role):
    call = _api(flask_app, t, world[PLAYS[role]])
    for rt_key, everything in EVERYTHING.items():
        r = call("POST", rt_key, new_values(rt_key, world))
        if rt_key in CREATES[role]:
            assert r.status_code == 201, r.get_json()
            assert not HIDDEN.get(role, {}).get(rt_key, set()) & set(r.get_json())
        else:
            assert r.status_code == 403, r.get_json()
            assert r.get_json()["error"]["code"] == "forbidden"
        for name in sorted(everything):
            r = call("PATCH", f"{rt_key}/{world[name]}", {NOTE[rt_key]: "api"})
            if name in UPDATES[role][rt_key]:
                assert r.status_code == 200, r.get_json()
            else:
                can_read = name in READS[role][rt_key]
                assert r.status_code == (403 if can_read else 404), (rt_key, name, r.get_json())
    if role == "sales_rep":
        r = call("PATCH", f"customer/{world['c1']}", {"tier": "high"})
        assert r.status_code == 403
        assert r.get_json()["error"]["fields"] == {"tier": ["read-only for your roles"]}
        # a link may only point at a record the writer can read
        r = call("POST", "follow_up", {"subject": "x", "customer": world["c2"]})
        assert r.status_code in (403, 422)
        r = call("PATCH", f"follow_up/{world['f1']}", {"customer": world["c3"]})
        assert r.status_code == 422 and "customer" in r.get_json()["error"]["fields"]
        assert call("GET", f"customer/{world['c2']}/history").status_code == 404


# -- web pages -------------------------------------------------------------------------------
def _page(client, path: str, **params) -> str:
    r = client.get(path, query_string=params)
    assert r.status_code == 200, (path, r.status_code)
    return r.get_data(as_text=True)


def _shown(html: str, everything: set[str]) -> set[str]:
    """Which world names appear as whole words in a page."""
    return {n for n in everything if re.search(rf">\s*{n}\s*<", html)}


@pytest.mark.parametrize("role", ROLES)
def test_web_pages(flask_app, t, world, role):
    client = login(flask_app.test_client(), PLAYS[role])
    reads = READS[role]
    for rt_key, everything in EVERYTHING.items():  # the plain table of each type
        r = client.get(f"/a/crm/r/{rt_key}")
        if not reads[rt_key]:  # in this world: the role reads no record of the type at all
            assert r.status_code == 403
            continue
        assert _shown(r.get_data(as_text=True), everything) == reads[rt_key], rt_key
    if reads["customer"]:
        kanban = _page(client, "/a/crm/v/lifecycle")  # customers by stage, with sums
        assert _shown(kanban, EVERYTHING["customer"]) == reads["customer"]
        search = _page(client, "/a/crm/r/customer", q="c")
        assert _shown(search, EVERYTHING["customer"]) == reads["customer"]
        picker = client.get("/a/crm/r/customer/lookup", query_string={"q": "c"}).get_json()
        assert {r["title"] for r in picker["results"]} == reads["customer"]
    else:
        assert client.get("/a/crm/v/lifecycle").status_code == 403
        assert client.get("/a/crm/r/customer/lookup").status_code == 403
    if reads["follow_up"]:
        calendar = _page(client, "/a/crm/v/follow_up_calendar")
        assert _shown(calendar, EVERYTHING["follow_up"]) == reads["follow_up"]
    if reads["opportunity"]:
        chart = _page(client, "/a/crm/v/forecast_by_stage")
        total = sum(AMOUNTS[o] for o in reads["opportunity"])  # the forecast summed by stage
        assert re.search(rf"{str(total)[0]},?{str(total)[1:]}", chart)
    hidden = HIDDEN.get(role, {}).get("customer", set())
    for name in EVERYTHING["customer"]:
        r = client.get(f"/a/crm/r/customer/{world[name]}")
        if name not in reads["customer"]:
            assert r.status_code in (403, 404)
            continue
        html = r.get_data(as_text=True)
        # the credit limit as shown (CNY 777,123.00): bare digits could sit in a random token
        assert ("777,123" in html) == ("credit_limit" not in hidden)
        related = _shown(html, EVERYTHING["follow_up"])  # the related follow-ups list
        assert related == {f"f{name[1]}"} & reads["follow_up"]
