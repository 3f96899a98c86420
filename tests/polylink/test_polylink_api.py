"""The REST API with polymorphic links and a naming series: write, read, filter, expand."""

from __future__ import annotations

import json

import pytest

from tessera import tokens, users


@pytest.fixture
def api(flask_app, sales):
    uid = users.create_user(sales.engine, "ann", "password123", display_name="Ann Lee")
    _tid, plain = tokens.create_token(sales.engine, uid, "tests")
    client = flask_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plain}"
    return client


def test_write_read_filter_and_expand(api, sales):
    acme = api.post("/api/v1/sales/customer", json={"name": "Acme", "email": "a@acme.cn"})
    lead = api.post("/api/v1/sales/lead", json={"name": "Lin"})
    assert acme.status_code == lead.status_code == 201
    assert lead.get_json()["number"].startswith("LEAD-20")
    cid, lid = acme.get_json()["id"], lead.get_json()["id"]
    one = api.post(
        "/api/v1/sales/follow_up",
        json={"subject": "call", "regarding": {"type": "customer", "id": cid}},
    )
    two = api.post(
        "/api/v1/sales/follow_up",
        json={"subject": "visit", "regarding": {"type": "lead", "by": "title", "value": "Lin"}},
    )
    assert one.status_code == two.status_code == 201, two.get_json()
    assert one.get_json()["regarding"] == {"type": "customer", "id": cid}
    assert two.get_json()["regarding"] == {"type": "lead", "id": lid}

    by_record = {"field": "regarding", "op": "eq", "value": {"type": "customer", "id": cid}}
    page = api.get("/api/v1/sales/follow_up", query_string={"filter": json.dumps(by_record)})
    assert [r["subject"] for r in page.get_json()["data"]] == ["call"]
    by_type = {"field": "regarding", "op": "eq", "value": {"type": "lead"}}
    page = api.get("/api/v1/sales/follow_up", query_string={"filter": json.dumps(by_type)})
    assert [r["subject"] for r in page.get_json()["data"]] == ["visit"]

    page = api.get("/api/v1/sales/follow_up", query_string={"expand": "regarding", "sort": "id"})
    expanded = [r["regarding"] for r in page.get_json()["data"]]
    assert expanded[0]["type"] == "customer" and expanded[0]["title"] == "Acme"
    assert expanded[0]["record"]["email"] == "a@acme.cn"
    assert expanded[1]["title"] == "Lin" and expanded[1]["record"]["number"].startswith("LEAD-")

    moved = api.patch(
        f"/api/v1/sales/follow_up/{one.get_json()['id']}",
        json={"regarding": {"type": "lead", "id": lid}},
    )
    assert moved.status_code == 200 and moved.get_json()["regarding"] == {"type": "lead", "id": lid}


def test_bad_links_are_422_with_the_field_named(api, sales):
    resp = api.post(
        "/api/v1/sales/follow_up", json={"subject": "x", "regarding": {"type": "stage", "id": 1}}
    )
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["fields"] == {
        "regarding": [
            '"stage" is not a record type this link points at (one of lead, customer, deal)'
        ]
    }
    resp = api.post(
        "/api/v1/sales/follow_up", json={"subject": "x", "regarding": {"type": "deal", "id": 5}}
    )
    assert resp.get_json()["error"]["fields"] == {"regarding": ["no Deal with id 5"]}
    bad = {"field": "regarding", "op": "eq", "value": {"type": "stage"}}
    resp = api.get("/api/v1/sales/follow_up", query_string={"filter": json.dumps(bad)})
    assert resp.status_code == 400
    assert "not a record type this link points at" in resp.get_json()["error"]["message"]
    assert api.get("/api/v1/sales/follow_up").get_json()["data"] == []


def test_openapi_describes_the_two_shapes_and_real_bodies_match(api):
    import jsonschema
    import openapi_spec_validator

    doc = api.get("/api/v1/openapi.json").get_json()
    openapi_spec_validator.validate(doc)
    text = json.dumps(doc)
    assert '"enum": ["lead", "customer", "deal"]' in text
    assert '"required": ["type", "by", "value"]' in text

    def schema(name):
        return {**doc["components"]["schemas"][name], "components": doc["components"]}

    api.post("/api/v1/sales/customer", json={"name": "Acme"})
    by_value = {"subject": "s", "regarding": {"type": "customer", "by": "title", "value": "Acme"}}
    jsonschema.validate(by_value, schema("sales.follow_up.create"))
    made = api.post("/api/v1/sales/follow_up", json=by_value).get_json()
    jsonschema.validate(made, schema("sales.follow_up"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"subject": "s", "regarding": {"type": "stage", "id": 1}},
                            schema("sales.follow_up.create"))  # fmt: skip
