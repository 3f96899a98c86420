"""Field behaviour end to end on SQLite and PostgreSQL: the records service and the REST API.

read_only refused for people (422 naming the field), written by workflows and imports;
set_once refused on update; defaults ($me, now, an expression) on create; duration,
time and rich text stored in real columns; per-record currency in the API schema.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import yaml
from api_helpers import Api, assert_error

from tessera.errors import ValidationFailed
from tessera.records.actor import Actor

DESK = """
id: desk
version: 1.0.0
record_types:
  - key: ticket
    title: title
    fields:
      - {key: title, type: text, required: true}
      - {key: ref, type: text, set_once: true}
      - {key: owner, type: user, default: $me}
      - {key: opened_at, type: datetime, read_only: true, required: true, default: now}
      - {key: first_reply_at, type: datetime, read_only: true}
      - {key: due, type: date, default: {expr: "today() + 7"}}
      - {key: effort, type: duration, default: 30m}
      - {key: starts, type: time}
      - {key: body, type: rich_text}
      - {key: currency_code, type: select, options: [{value: CNY}, {value: USD}]}
      - {key: price, type: currency, currency: CNY, currency_field: currency_code}
      - {key: consent, type: boolean}
"""
NOW = dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC)
BASE = "/api/v1/desk/ticket"


@pytest.fixture
def desk(flask_app):
    from tessera import tokens, users
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(yaml.safe_load(DESK)), DESK)
    t.registry.reload()
    t.records.clock = lambda: NOW
    uid = users.create_user(t.engine, "ann", "password123", display_name="Ann Lee")
    t.api = Api(flask_app.test_client(), tokens.create_token(t.engine, uid, "tests")[1])
    t.uid = uid
    return t


def test_api_create_applies_defaults_and_refuses_read_only(desk):
    resp = desk.api.post(BASE, json={"title": "Printer", "first_reply_at": "2026-12-08T02:00"})
    error = assert_error(resp, 422, "validation_failed")
    assert error["fields"] == {
        "first_reply_at": ["is read-only: only workflows and imports set it"]
    }
    assert "First reply at" in error["message"]  # named by its label

    resp = desk.api.post(BASE, json={"title": "Printer", "body": "<p>Hi<script>x()</script></p>"})
    assert resp.status_code == 201, resp.get_json()
    row = resp.get_json()
    assert row["owner"] == desk.uid  # $me: the token's user
    assert row["opened_at"] == "2026-12-08T01:00:00+00:00"  # now, UTC
    assert row["due"] == "2026-12-15"  # today() + 7
    assert row["effort"] == 1800  # 30m, in seconds
    assert row["body"] == "<p>Hi</p>"


def test_api_update_refuses_changing_set_once_and_read_only(desk):
    row = desk.api.post(BASE, json={"title": "A", "ref": "R-1"}).get_json()
    url = f"{BASE}/{row['id']}"
    resp = desk.api.patch(url, json={"ref": "R-2"})
    assert_error(
        resp, 422, "validation_failed", {"ref": ["can only be set when the record is created"]}
    )
    resp = desk.api.patch(url, json={"opened_at": "2020-01-01T00:00"})
    assert_error(
        resp,
        422,
        "validation_failed",
        {"opened_at": ["is read-only: only workflows and imports set it"]},
    )
    # the values read back may be sent back unchanged
    resp = desk.api.patch(url, json={"ref": "R-1", "opened_at": row["opened_at"], "title": "B"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["title"] == "B"


def test_workflows_and_imports_write_read_only_and_set_once(desk):
    records = desk.records
    person = Actor(user_id=desk.uid, kind="user")
    row = records.create("desk", "ticket", {"title": "A", "ref": "R-1"}, person)
    with pytest.raises(ValidationFailed) as info:
        records.update("desk", "ticket", row["id"], {"first_reply_at": NOW}, person)
    assert info.value.fields == {
        "first_reply_at": ["is read-only: only workflows and imports set it"]
    }
    robot = Actor(user_id=desk.uid, kind="workflow", ref="run/1")
    out = records.update("desk", "ticket", row["id"], {"first_reply_at": NOW, "ref": "R-9"}, robot)
    assert (out["first_reply_at"], out["ref"]) == (NOW, "R-9")
    imported = Actor(user_id=desk.uid, kind="import")
    rows = records.bulk_update("desk", "ticket", [(row["id"], {"ref": "R-10"})], imported)
    assert rows[0]["ref"] == "R-10"
    with pytest.raises(ValidationFailed) as info:
        records.bulk_update("desk", "ticket", [(row["id"], {"ref": "R-11"})], person)
    assert info.value.fields == {"rows[0].ref": ["can only be set when the record is created"]}


def test_values_are_stored_in_real_columns_on_both_databases(desk):
    records = desk.records
    row = records.create(
        "desk",
        "ticket",
        {
            "title": "Typed",
            "effort": "1h 30m",
            "starts": "09:05",
            "body": '<p onclick="x">Hello <b>you</b> <a href="javascript:y">l</a></p>',
            "currency_code": "USD",
            "price": "12.50",
        },
    )
    table = desk.registry.table("desk", "ticket")
    assert isinstance(table.c.effort.type, sa.BigInteger)
    assert isinstance(table.c.starts.type, sa.Time)
    with desk.engine.connect() as conn:
        stored = conn.execute(
            sa.select(table.c.effort, table.c.starts, table.c.body).where(table.c.id == row["id"])
        ).one()
    assert stored.effort == 5400
    assert stored.starts == dt.time(9, 5)
    assert stored.body == '<p>Hello <b>you</b> <a rel="noopener noreferrer">l</a></p>'
    got = desk.api.get(f"{BASE}/{row['id']}").get_json()
    assert (got["effort"], got["starts"], got["price"]) == (5400, "09:05", "12.50")
    # filters on the new types compile on both databases
    page = desk.queries.list(
        "desk",
        "ticket",
        filter={
            "all": [
                {"field": "effort", "op": "gt", "value": 3600},
                {"field": "starts", "op": "lt", "value": "10:00"},
            ]
        },
    )
    assert [r["id"] for r in page.rows] == [row["id"]]


def test_openapi_describes_the_new_behaviour(desk):
    doc = desk.api.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    found = next(
        v
        for k, v in schemas.items()
        if k.lower().startswith("desk") and "effort" in v.get("properties", {})
    )
    assert found["properties"]["effort"]["type"] == ["integer", "null"]
    assert found["properties"]["body"]["contentMediaType"] == "text/html"
    assert found["properties"]["first_reply_at"]["readOnly"] is True
    assert found["properties"]["price"]["x-currency-field"] == "currency_code"


def test_rich_text_is_sanitised_on_import_and_workflow_writes_too(desk):
    records = desk.records
    evil = '<p>ok<script>steal()</script><img src=x onerror="steal()"></p>'
    imported = Actor(user_id=desk.uid, kind="import", ref="job/1")
    (row,) = records.bulk_create("desk", "ticket", [{"title": "I", "body": evil}], imported)
    assert row["body"] == "<p>ok</p>"
    robot = Actor(kind="workflow", ref="run/2")
    out = records.update("desk", "ticket", row["id"], {"body": evil + "<b>more</b>"}, robot)
    assert out["body"] == "<p>ok</p><b>more</b>"
    assert row["owner"] == desk.uid  # $me on an import: whoever started it
