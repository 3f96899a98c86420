"""Inline edit of table cells: saved through the records service with the version check."""

from __future__ import annotations

import re

from tableui_app import grant
from web_helpers import csrf, login


def _save(client, rid: int, field: str, value, version) -> tuple[int, dict]:
    token = csrf(client, "/a/events/v/registrations")
    r = client.post(
        f"/a/events/r/registration/{rid}/cell",
        json={"field": field, "value": value, "version": version},
        headers={"X-CSRF-Token": token},
    )
    return r.status_code, r.get_json()


def test_cell_saves_and_returns_the_cell_and_new_version(client, tessera):
    reg = tessera.records.create("events", "registration", {"guest": "Wang", "seats": 1})
    status, body = _save(client, reg["id"], "seats", "3", reg["version"])
    assert status == 200 and body["version"] == reg["version"] + 1 and "3" in body["html"]
    assert tessera.records.get("events", "registration", reg["id"])["seats"] == 3
    status, body = _save(client, reg["id"], "kind", "child", body["version"])
    assert status == 200 and "Child" in body["html"]


def test_stale_version_is_a_conflict_and_writes_nothing(client, tessera):
    reg = tessera.records.create("events", "registration", {"guest": "Wang", "seats": 1})
    tessera.records.update("events", "registration", reg["id"], {"seats": 2})
    status, body = _save(client, reg["id"], "seats", "9", reg["version"])
    assert status == 409 and body["error"]["code"] == "conflict"
    assert "Someone else changed this record while you were editing." in body["error"]["message"]
    assert tessera.records.get("events", "registration", reg["id"])["seats"] == 2


def test_bad_value_is_refused_with_the_field_message(client, tessera):
    reg = tessera.records.create("events", "registration", {"guest": "Wang"})
    status, body = _save(client, reg["id"], "seats", "many", reg["version"])
    assert status == 422 and body["error"]["message"]
    status, body = _save(client, reg["id"], "guest", "", reg["version"])
    assert status == 422


def test_only_permitted_plain_cells_are_offered_and_accepted(web_app, tessera, client):
    bob_id = grant(tessera, "bob")
    mine = tessera.records.create(
        "events", "registration", {"guest": "Mine", "seats": 1, "badge": "B1", "owner": bob_id}
    )
    bob = web_app.test_client()
    login(bob, "bob")
    page = bob.get("/a/events/v/registrations").get_data(as_text=True)
    offered = set(re.findall(r'data-edit="(\w+)"', page))
    assert offered == {"kind", "fee"}  # seats: read for the desk; badge: set_once; guest: link
    status, _ = _save(bob, mine["id"], "seats", "5", mine["version"])
    assert status == 400  # a read-only field for this role
    status, _ = _save(bob, mine["id"], "badge", "B2", mine["version"])
    assert status == 400  # set_once
    theirs = tessera.records.create("events", "registration", {"guest": "Theirs"})
    status, _ = _save(bob, theirs["id"], "fee", "5", theirs["version"])
    assert status in (403, 404)  # not his record: the service refuses
    admin_page = client.get("/a/events/v/registrations").get_data(as_text=True)
    assert {"kind", "seats", "fee"} <= set(re.findall(r'data-edit="(\w+)"', admin_page))
